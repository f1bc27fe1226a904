import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTickStore } from "../../src/daemon/open-tick-store.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { tempDir, waitFor } from "../engine/support.js";
import { cli, startCli, summaryOf } from "./support.js";

/** `trainyard logs` over a step whose output passed its log cap (TRAINYARD_LOG_STEP_MAX). */
describe("trainyard logs", () => {
  const home = tempDir("ty-cli-logs-");
  const dir = tempDir("ty-cli-logs-mod-");
  const module = path.join(dir, "pipeline.ts");
  let runId = "";

  beforeAll(async () => {
    fs.writeFileSync(
      module,
      `import { pipeline } from "trainyard";\nconst p = pipeline("cli-logs");\np.command("loud", { run: ` +
        `"seq 1 300000" });\nexport default p;\n`,
    );
    process.env.TRAINYARD_LOG_STEP_MAX = "1MiB";
    const run = await cli(["run", module, "--json"], home);
    delete process.env.TRAINYARD_LOG_STEP_MAX;
    expect(summaryOf(run).status).toBe("succeeded");
    runId = summaryOf(run).runId;
  });
  afterAll(() => {
    for (const d of [home, dir]) fs.rmSync(d, { recursive: true, force: true });
  });

  it("prints the log file: the head, a note where output was cut, and the last part", async () => {
    const r = await cli(["logs", runId, "loud"], home);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("#1 out 1");
    expect(lines.at(-1)).toBe("#1 out 300000");
    const cut = lines.findIndex((l) => l.startsWith("#1 log [trainyard] output cut here:"));
    expect(cut).toBeGreaterThan(1000);
    expect(lines[cut]).toContain("the step's log cap is 1.0 MiB");
    expect(lines.length).toBeLessThan(300000);
    // The head, then a note where it ends (written as it ended), then the note on what was cut.
    expect(lines[cut - 1]).toMatch(/^#1 log \[trainyard\] the first .* of output end here: past them/);
    expect(lines.slice(0, cut - 1)).toEqual(lines.slice(0, cut - 1).map((_, i) => `#1 out ${i + 1}`));

    const json = JSON.parse((await cli(["logs", runId, "loud", "--json"], home)).stdout) as Array<{
      line: string;
      attempt: number;
      stream: string;
    }>;
    expect(json).toHaveLength(lines.length);
    expect(json[0]).toMatchObject({ attempt: 1, stream: "stdout", line: "1" });
    expect(json.at(-1)).toMatchObject({ line: "300000" });

    const none = await cli(["logs", runId, "loud", "--attempt", "2"], home);
    expect(none.stdout).toBe("");
    expect(none.stderr).toContain("no log lines");
  });

  it("prints the database's head and tail when the log file is gone", async () => {
    fs.rmSync(path.join(home, "logs"), { recursive: true, force: true });
    const r = await cli(["logs", runId, "loud"], home);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(401);
    expect(lines.slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => `#1 out ${i + 1}`));
    const note =
      /^#1 log \[trainyard\] 299,600 lines are not kept in the database; the log file .*loud\.1\.log\.gz on /;
    expect(lines[200]).toMatch(note);
    // The file lives where the step ran: the note names that machine.
    expect(lines[200]).toContain(` on ${os.hostname()} has them`);
    expect(lines.slice(201)).toEqual(Array.from({ length: 200 }, (_, i) => `#1 out ${299801 + i}`));
  });
});

/**
 * `trainyard logs --follow` on a run in another process: the lines so far, then each new one once,
 * until the step ends; exit 0 when it succeeded, 1 when it failed; a map step needs --item.
 */
describe("trainyard logs --follow", () => {
  const home = tempDir("ty-cli-follow-");
  const dir = tempDir("ty-cli-follow-mod-");
  const children: Array<ReturnType<typeof startCli>["child"]> = [];
  afterAll(() => {
    // A test that failed half-way leaves no run waiting for its file.
    for (const c of children) c.kill("SIGKILL");
    for (const d of [home, dir]) fs.rmSync(d, { recursive: true, force: true });
  });

  /** Starts `trainyard run` of a pipeline whose step `talk` logs, waits for the file `open`, logs again. */
  async function startRun(name: string, end: string) {
    const { module, open } = writeModule(name, end);
    const run = startCli(["run", module], home);
    children.push(run.child);
    const runs = async () => JSON.parse((await cli(["runs", "--pipeline", name, "--json"], home)).stdout || "[]");
    const runId: string = (await waitFor(async () => (await runs())[0], "the run to start", 30_000)).id;
    return { run, runId, open };
  }

  function writeModule(name: string, end: string) {
    const open = path.join(dir, `${name}.open`);
    const module = path.join(dir, `${name}.ts`);
    fs.writeFileSync(
      module,
      `import { existsSync } from "node:fs";
import { pipeline } from "trainyard";
const p = pipeline(${JSON.stringify(name)});
p.step("talk", {
  run: async (ctx) => {
    for (let i = 0; i < 300; i++) ctx.log("before " + i);
    while (!existsSync(${JSON.stringify(open)})) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 300; i++) ctx.log("after " + i);
    ${end}
  },
});
const items = p.step("items", { run: () => [1, 2] });
p.map("each", { over: items, run: (ctx, x: number) => { ctx.log("item " + x); return x; } });
export default p;
`,
    );
    return { module, open: () => fs.writeFileSync(open, "") };
  }

  it("prints the lines so far, then each new line once, and exits 0 when the step succeeded", async () => {
    const { run, runId, open } = await startRun("follow-ok", "return 1;");
    const follow = startCli(["logs", "--follow", runId, "talk"], home);
    children.push(follow.child);
    let out = "";
    follow.child.stdout!.on("data", (d) => (out += d));
    // Whole lines only: a read from the pipe may end mid-line.
    const lines = () =>
      out
        .slice(0, out.lastIndexOf("\n") + 1)
        .split("\n")
        .filter(Boolean);
    await waitFor(() => lines().length >= 300, "the first 300 lines", 30_000);
    // The step still waits: what was printed came while it ran.
    expect(lines()).toEqual(Array.from({ length: 300 }, (_, i) => `#1 log before ${i}`));
    expect(follow.child.exitCode).toBeNull();
    open();
    const done = await follow.done;
    expect(done.code, done.stderr).toBe(0);
    expect(lines()).toEqual([
      ...Array.from({ length: 300 }, (_, i) => `#1 log before ${i}`),
      ...Array.from({ length: 300 }, (_, i) => `#1 log after ${i}`),
    ]);
    expect(done.stderr).toContain("talk succeeded");
    expect((await run.done).code).toBe(0);
    // A map step is followed one item at a time.
    const map = await cli(["logs", "-f", runId, "each"], home);
    expect(map.code).not.toBe(0);
    expect(map.stderr).toContain("each is a map step: follow one of its items with --item I");
    const item = await cli(["logs", "-f", runId, "each", "--item", "1", "--json"], home);
    expect(item.code).toBe(0);
    expect(JSON.parse(item.stdout.trim())).toMatchObject({ attempt: 1, stream: "log", line: "item 2" });
  });

  it("waits for a run still in the daemon's queue; one cancelled there ends it with 1", async () => {
    const { module, open } = writeModule("follow-queued", "return 1;");
    const [queued, dropped] = ["20261207-120000-aaaaaa", "20261207-120000-bbbbbb"];
    const ty = await Trainyard.open({ home });
    const ticks = await openTickStore(ty);
    const row = (runId: string) => ({
      ...{ runId, trigger: "manual", tickKey: runId, pipeline: "follow-queued", modulePath: module, params: {} },
      ...{ priority: 0, createdAt: Date.now(), status: "queued" as const },
    });
    await ticks.enqueueRuns([row(queued), row(dropped)]);
    await ticks.close();
    await ty.close();
    const follow = startCli(["logs", "-f", queued, "talk"], home);
    const cancelled = startCli(["logs", "-f", dropped, "talk"], home);
    children.push(follow.child, cancelled.child);
    expect((await cli(["cancel", dropped], home)).code).toBe(0);
    const gone = await cancelled.done;
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`run ${dropped} was cancelled before it started`);
    // The daemon starts the other under its id: the follower, waiting, prints its log.
    open();
    const run = startCli(["run", module, "--run-id", queued], home);
    children.push(run.child);
    const done = await follow.done;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout.trimEnd().split("\n")).toHaveLength(600);
    expect((await run.done).code).toBe(0);
  });

  it("exits 1 when the followed step failed", async () => {
    const { run, runId, open } = await startRun("follow-fails", 'throw new Error("diverged");');
    const follow = startCli(["logs", "-f", runId, "talk"], home);
    // A step its pipeline does not have is told at once, while the run goes on, not once it ends.
    const misspelled = await cli(["logs", "-f", runId, "tallk"], home);
    expect(misspelled.code).not.toBe(0);
    const told = `run ${runId} (pipeline follow-fails) has no step "tallk" (did you mean "talk"?)`;
    expect(misspelled.stderr).toContain(told);
    expect(misspelled.stderr).toContain("its steps: talk, items, each");
    expect(follow.child.exitCode).toBeNull();
    open();
    const done = await follow.done;
    expect(done.code).toBe(1);
    expect(done.stdout).toContain("#1 log after 299");
    expect(done.stderr).toContain("talk failed");
    await run.done;
  });
});
