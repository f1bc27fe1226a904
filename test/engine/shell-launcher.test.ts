import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ShellLauncher, type CommandHandlers } from "../../src/engine/runners/shell-launcher.js";
import { requireTools } from "../support/require-tool.js";
import { overlapOf } from "./support.js";

interface Outcome {
  out: string;
  err: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  started: boolean;
}

const launchers: ShellLauncher[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const l of launchers.splice(0)) l.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(helpers: number): { launcher: ShellLauncher; dir: string } {
  // Every command counts as short, so that a loaded machine cannot change what gets staged.
  const launcher = new ShellLauncher({ helpers, shortMs: 60_000 });
  launchers.push(launcher);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-launcher-"));
  dirs.push(dir);
  return { launcher, dir };
}

/** Starts `command` and returns its handle and a promise of how it ended. */
function run(launcher: ShellLauncher, command: string, cwd: string, stage = false) {
  const o: Outcome = { out: "", err: "", code: null, signal: null, started: false };
  let handle: ReturnType<ShellLauncher["start"]>;
  const done = new Promise<Outcome>((resolve, reject) => {
    const handlers: CommandHandlers = {
      stdout: (c) => (o.out += c.toString()),
      stderr: (c) => (o.err += c.toString()),
      close: (code, signal) => resolve(Object.assign(o, { code, signal })),
      error: reject,
      started: () => (o.started = true),
    };
    handle = launcher.start(command, {}, cwd, handlers, stage);
  });
  if (!handle!) throw new Error("the launcher did not take the command");
  return { handle: handle!, done };
}

/** A few quick commands, so that the launcher sees short commands and stages behind them. */
async function warm(launcher: ShellLauncher, dir: string): Promise<void> {
  for (let i = 0; i < 4; i++) expect((await run(launcher, "true", dir).done).code).toBe(0);
}

describe("ShellLauncher: staging commands beyond its helpers", () => {
  it("runs at most `helpers` commands at once, and a staged command starts as one ends", async () => {
    const { launcher, dir } = setup(2);
    const log = path.join(dir, "log");
    const jobs = Array.from({ length: 12 }, (_, i) =>
      // Each command appends its start and end; staged ones (beyond 2) wait for a helper.
      run(
        launcher,
        `echo "start ${i}" >> ${log}; sleep 0.02; echo "end ${i}" >> ${log}; echo out-${i}; echo err-${i} >&2`,
        dir,
        i >= 2,
      ),
    );
    const outcomes = await Promise.all(jobs.map((j) => j.done));
    outcomes.forEach((o, i) => {
      expect(o).toMatchObject({ code: 0, signal: null, out: `out-${i}\n`, err: `err-${i}\n` });
      expect(o.started).toBe(i >= 2);
    });
    expect(overlapOf(log).most).toBe(2);
  });

  it(
    "sends a command straight to a helper whose short command has just started, " + "and attributes each one's output",
    async () => {
      const { launcher, dir } = setup(1);
      await warm(launcher, dir);
      const a = run(launcher, "printf 'a1\\na2'; echo a-err >&2; exit 3", dir);
      const b = run(launcher, "echo b1; echo b-err >&2", dir, true);
      const [ra, rb] = await Promise.all([a.done, b.done]);
      expect(ra).toMatchObject({ code: 3, out: "a1\na2", err: "a-err\n", started: false });
      expect(rb).toMatchObject({ code: 0, out: "b1\n", err: "b-err\n", started: true });
      expect(launcher.staged).toEqual({ behind: 1, waited: 0 });
    },
  );

  it("keeps a command given within the limit waiting while every helper is taken, staged ones included", async () => {
    const { launcher, dir } = setup(1);
    await warm(launcher, dir);
    const log = path.join(dir, "log");
    const job = (name: string, secs: number) =>
      `echo "start ${name}" >> ${log}; sleep ${secs}; echo "end ${name}" >> ${log}`;
    const a = run(launcher, job("a", 0.2), dir);
    const b = run(launcher, job("b", 0.05), dir, true);
    // A retry, say, of a step that holds a slot: the one helper is busy, so it waits its turn.
    const c = run(launcher, job("c", 0.05), dir);
    await Promise.all([a.done, b.done, c.done]);
    expect(fs.readFileSync(log, "utf8").trim().split("\n")).toEqual([
      "start a",
      "end a",
      "start b",
      "end b",
      "start c",
      "end c",
    ]);
    expect(await c.done).toMatchObject({ code: 0, started: true });
  });

  it("never runs a staged command that is cancelled before it starts", async () => {
    const { launcher, dir } = setup(1);
    await warm(launcher, dir);
    const marker = path.join(dir, "ran");
    const a = run(launcher, "sleep 0.2", dir);
    const b = run(launcher, `touch ${marker}`, dir, true);
    expect(launcher.staged.behind).toBe(1);
    b.handle.kill("SIGTERM");
    expect(await b.done).toMatchObject({ code: null, signal: "SIGTERM" });
    expect(await a.done).toMatchObject({ code: 0, signal: null });
    expect(fs.existsSync(marker)).toBe(false);
    // The helper goes on with the next command.
    expect((await run(launcher, "echo next", dir).done).out).toBe("next\n");
  });

  it("never runs a waiting command that is cancelled, and tells a waiting command when it starts", async () => {
    const { launcher, dir } = setup(1);
    const marker = path.join(dir, "ran");
    // A fresh launcher has seen no command end, so it keeps staged commands waiting itself.
    const a = run(launcher, "sleep 0.1", dir);
    const b = run(launcher, `touch ${marker}`, dir, true);
    const c = run(launcher, "echo c", dir, true);
    expect(launcher.staged).toEqual({ behind: 0, waited: 2 });
    b.handle.kill("SIGTERM");
    expect(await b.done).toMatchObject({ signal: "SIGTERM", started: false });
    expect(await a.done).toMatchObject({ code: 0 });
    expect(await c.done).toMatchObject({ code: 0, out: "c\n", started: true });
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("runs a staged command on a new helper when the command ahead of it is killed", async () => {
    const { launcher, dir } = setup(1);
    await warm(launcher, dir);
    const a = run(launcher, "sleep 5", dir);
    const b = run(launcher, "echo b", dir, true);
    expect(launcher.staged.behind).toBe(1);
    a.handle.kill("SIGKILL");
    expect(await a.done).toMatchObject({ code: null, signal: "SIGKILL" });
    expect(await b.done).toMatchObject({ code: 0, out: "b\n", started: true });
  });
});

describe("ShellLauncher: scheduling", () => {
  requireTools("chrt").it("runs commands under SCHED_BATCH, so that they do not preempt the engine", async () => {
    const { launcher, dir } = setup(1);
    // Field 41 of /proc/<pid>/stat is the scheduling policy: 0 SCHED_OTHER, 3 SCHED_BATCH.
    const r = await run(launcher, "cut -d' ' -f41 /proc/self/stat", dir).done;
    expect(r).toMatchObject({ code: 0, out: "3\n" });
  });
});
