/**
 * A step's whole process tree ends with it (timeout, cancel, success), and a killed
 * orchestrator leaves nothing running: asserted by pid, with real processes and signals.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { cli, startCli } from "../cli/support.js";
import { processAlive, stepOf, useHomes, waitFor } from "./support.js";

const homes = useHomes();

/** Writes a pipeline module into a fixture directory (so it resolves "trainyard"). */
function module(dir: string, body: string): string {
  const file = path.join(dir, "pipeline.ts");
  fs.writeFileSync(
    file,
    `import { pipeline } from "trainyard";\nimport { z } from "zod";\n${body}\nexport default p;\n`,
  );
  return file;
}

const pidsIn = (file: string) => fs.readFileSync(file, "utf8").split(/\s+/).filter(Boolean).map(Number);

async function allDead(pids: number[], what: string): Promise<void> {
  expect(pids.length).toBeGreaterThan(0);
  await waitFor(() => pids.every((pid) => !processAlive(pid)), `${what} (pids ${pids.join(", ")}) to be gone`, 10_000);
}

describe("a step's processes", () => {
  it(
    "are SIGKILLed after the grace period when they ignore SIGTERM, " +
      "in shell and argv form, even once the CLI has exited",
    async () => {
      const { home } = await homes.open();
      const dir = homes.fixtureDir();
      // Each writes the pid of a shell that ignores SIGTERM (and of its child, which inherits that).
      const stubborn =
        `sh -c 'trap "" TERM; ` + `sleep 300 & echo $$ $! >> "$0"; wait' ${JSON.stringify(path.join(dir, "pids"))}`;
      const file = module(
        dir,
        `const p = pipeline("stubborn");
p.command("shell", { timeout: "1s", run: ${JSON.stringify(stubborn)} });
p.command("argv", { timeout: "1s", run: ["/bin/sh", "-c", ${JSON.stringify(stubborn)}] });`,
      );
      const r = await cli(["run", file, "--json"], home);
      expect(r.code).not.toBe(0);
      const pids = pidsIn(path.join(dir, "pids"));
      expect(pids).toHaveLength(4);
      await allDead(pids, "the stubborn commands");
    },
  );

  it(
    "end with a successful step: background children, " + "a child holding an argv step's stdout, setsid escapees",
    async () => {
      const { ty } = await homes.open();
      const dir = homes.tempDir();
      const pids = path.join(dir, "pids");
      const { pipeline } = await import("../../src/index.js");
      const p = pipeline("leftovers");
      p.modulePath = path.join(dir, "pipeline.ts");
      const leave =
        `sleep 300 & echo $! >> ${JSON.stringify(pids)}; setsid sleep ` +
        `301 & echo $! >> ${JSON.stringify(pids)}; echo ok > "$TRAINYARD_OUT/out"`;
      p.command("shell", { run: leave, outputs: { out: "file" } });
      // The argv step's `sleep` holds its stdout: the step must not wait 300 s for it.
      p.command("argv", { run: ["/bin/sh", "-c", leave], outputs: { out: "file" } });
      const r = await ty.run(p);
      expect(r.status).toBe("succeeded");
      expect(pidsIn(pids)).toHaveLength(4);
      await allDead(pidsIn(pids), "the processes the steps left behind");
    },
  );

  it("end on cancel, with the children of the command", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const pids = path.join(dir, "pids");
    const { pipeline } = await import("../../src/index.js");
    const p = pipeline("cancel-tree");
    p.modulePath = path.join(dir, "pipeline.ts");
    p.command("shell", { run: `sh -c 'trap "" TERM; sleep 300 & echo $$ $! >> "$0"; wait' ${JSON.stringify(pids)}` });
    const controller = new AbortController();
    const running = ty.run(p, { signal: controller.signal });
    await waitFor(() => fs.existsSync(pids) && pidsIn(pids).length === 2, "the command to start");
    controller.abort();
    await running;
    await allDead(pidsIn(pids), "the cancelled command's processes");
  });

  it("of an isolated step, its children included, end on its timeout", async () => {
    const { ty } = await homes.open();
    const dir = homes.fixtureDir();
    const pids = path.join(dir, "pids");
    const file = module(
      dir,
      `import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
const p = pipeline("iso-tree");
p.step("hang", {
  isolate: true,
  timeout: "1500ms",
  run: async () => {
    const child = spawn("sleep", ["300"], { stdio: "ignore" });
    appendFileSync(${JSON.stringify(pids)}, \`\${process.pid} \${child.pid} \`);
    await new Promise((r) => setTimeout(r, 300_000));
  },
});`,
    );
    const r = await ty.run(file);
    expect(stepOf(r, "hang").error?.code).toBe("STEP_TIMEOUT");
    await allDead(pidsIn(pids), "the isolated step and its child");
  });
});

describe("a killed orchestrator", () => {
  it("leaves no command running, and resume never shares a work directory with the killed attempt", async () => {
    const { home } = await homes.open();
    const dir = homes.fixtureDir();
    const log = path.join(dir, "log");
    const pids = path.join(dir, "pids");
    // begin, a slow part run by a program (its pid recorded), then end: all in one work directory.
    const run = `echo "begin $TRAINYARD_WORKDIR" >> ${JSON.stringify(log)}
sh -c 'echo $$ >> "$0"; exec sleep 4' ${JSON.stringify(pids)}
echo "end $TRAINYARD_WORKDIR" >> ${JSON.stringify(log)}
echo done > "$TRAINYARD_OUT/out"`;
    const argv =
      `echo "begin $TRAINYARD_WORKDIR" >> "$0"; echo $$ >> "$1"; sleep 4; ` +
      `echo "end $TRAINYARD_WORKDIR" >> "$0"; echo done > "$TRAINYARD_OUT/out"`;
    const argvRun = JSON.stringify(["/bin/sh", "-c", argv, path.join(dir, "log2"), pids]);
    const file = module(
      dir,
      `const p = pipeline("killed");
p.command("shell", { run: ${JSON.stringify(run)}, outputs: { out: "file" } });
p.command("argv", { run: ${argvRun}, outputs: { out: "file" } });`,
    );
    // No type check first: its first run on a new module would eat into the wait below.
    const { child, done } = startCli(["run", file, "--json", "--concurrency", "2", "--no-typecheck"], home);
    await waitFor(() => fs.existsSync(pids) && pidsIn(pids).length === 2, "both commands to start");
    const first = pidsIn(pids);
    child.kill("SIGKILL");
    await done;
    await allDead(first, "the commands of the killed run");

    const ty = await Trainyard.open({ home });
    try {
      const [killed] = await ty.metadata.listRuns({ pipeline: "killed" });
      const oldDirs = [log, path.join(dir, "log2")].map((f) => fs.readFileSync(f, "utf8").trim().split(" ")[1]);
      const resumed = await cli(["resume", killed.id, "--json"], home);
      expect(resumed.code, resumed.stderr).toBe(0);
      for (const logFile of [log, path.join(dir, "log2")]) {
        const lines = fs.readFileSync(logFile, "utf8").trim().split("\n");
        // The killed attempt began and never ended; the new one began and ended in another directory.
        expect(lines).toHaveLength(3);
        const [begin1, begin2, end2] = lines.map((l) => l.split(" "));
        expect([begin1[0], begin2[0], end2[0]]).toEqual(["begin", "begin", "end"]);
        expect(begin2[1]).toBe(end2[1]);
        expect(begin1[1]).not.toBe(begin2[1]);
      }
      // The killed attempts' work directories were removed by the resume.
      for (const old of oldDirs) expect(fs.existsSync(old)).toBe(false);
      expect(fs.readdirSync(ty.workRoot).filter((n) => n.startsWith("work-"))).toEqual([]);
    } finally {
      await ty.close();
    }
  });
});

describe("a fork bomb in a step", () => {
  it("is held to its pool, and every process it forked ends with its timeout, through the whole tree", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const pids = path.join(dir, "pids");
    const { pipeline } = await import("../../src/index.js");
    const p = pipeline("forks", { pools: { heavy: 1 } });
    p.modulePath = path.join(dir, "pipeline.ts");
    // Three levels of background shells, 5 x 5 x 4 = 100 sleepers, each noting its pid; then wait.
    const bomb =
      `for a in 1 2 3 4 5; do ( for b in 1 2 3 4 5; ` +
      `do ( for c in 1 2 3 4; ` +
      `do sleep 300 & echo $! >> ${JSON.stringify(pids)}; done; wait ) & done; wait ) & done; wait`;
    const running = path.join(dir, "running");
    for (const id of ["bomb1", "bomb2"]) {
      p.command(id, { pool: "heavy", timeout: "2s", run: `echo ${id} >> ${JSON.stringify(running)}; ${bomb}` });
    }
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    expect([stepOf(r, "bomb1").status, stepOf(r, "bomb2").status]).toEqual(["failed", "failed"]);
    expect(fs.readFileSync(running, "utf8").trim().split("\n").sort()).toEqual(["bomb1", "bomb2"]);
    // The pool of one let one bomb run at a time.
    const [a, b] = (await ty.metadata.listStepRuns(r.runId)).sort((x, y) => x.startedAt! - y.startedAt!);
    expect(b.startedAt!).toBeGreaterThanOrEqual(a.finishedAt!);
    const forked = pidsIn(pids);
    expect(forked.length).toBe(200);
    await allDead(forked, "the fork bomb's sleepers");
  });
});
