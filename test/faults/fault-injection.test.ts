/**
 * The fault-injection suite: real `trainyard` processes killed at named crash points, run
 * concurrently with each other and with gc, given damaged objects and databases. After each
 * fault the run is resumed or re-run, and then: `trainyard fsck` is clean, the history checker
 * finds nothing, no step ran in two processes at once, and the outputs equal an uninterrupted run.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHistory, journalOverlaps, openHome, outputsOf } from "./history-checker.js";
import { campaignRoot, FAULT_MODULE } from "./kill-campaign.js";
import { BIN, startCli } from "../cli/support.js";

const root = campaignRoot();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let reference: Record<string, string | undefined>;
let n = 0;

function cli(args: string[], home: string, env: Record<string, string> = {}) {
  return startCli(args, home, { env });
}

/**
 * A new home and journal folder. Each step pauses `pause` seconds so that a kill finds steps in
 * flight; a run nothing kills needs no pause (the outputs do not depend on it).
 */
function fresh(pause: 0.1 | 0 = 0.1): { home: string; dir: string; runArgs: string[] } {
  const home = path.join(root, `home-${n}`);
  const dir = fs.mkdtempSync(path.join(root, `dir-${n++}-`));
  return {
    home,
    dir,
    runArgs: [
      "run",
      FAULT_MODULE,
      "--param",
      `dir=${dir}`,
      "--param",
      `pause=${pause}`,
      "--json",
      "--concurrency",
      "2",
    ],
  };
}

async function lastRunId(home: string): Promise<string> {
  const r = await cli(["runs", "--json", "--limit", "1"], home).done;
  return JSON.parse(r.stdout)[0].id as string;
}

/** fsck clean, history clean, no overlap, outputs equal to the uninterrupted run. */
async function expectIntact(home: string, dir: string, runId: string): Promise<void> {
  const fsck = spawnSync(process.execPath, [BIN, "fsck"], {
    env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1" },
    encoding: "utf8",
  });
  expect(fsck.status, `fsck: ${fsck.stdout}${fsck.stderr}`).toBe(0);
  expect(await checkHistory(home)).toEqual([]);
  expect(journalOverlaps(dir)).toEqual([]);
  expect(await outputsOf(home, runId)).toEqual(reference);
}

beforeAll(async () => {
  const { home, dir, runArgs } = fresh(0);
  const r = await cli(runArgs, home).done;
  expect(r.code, r.stderr).toBe(0);
  reference = await outputsOf(home, JSON.parse(r.stdout).runId);
  void dir;
}, 120_000);

describe("fault injection", () => {
  for (const point of ["after-object-rename:3", "before-record-commit:2", "after-record-commit:2"]) {
    it(`kill -9 at ${point}, then resume`, async () => {
      const { home, dir, runArgs } = fresh();
      const killed = await cli(runArgs, home, { TRAINYARD_CRASH_AT: point }).done;
      expect(killed.signal).toBe("SIGKILL");
      const runId = await lastRunId(home);
      const resumed = await cli(["resume", runId, "--json"], home).done;
      expect(resumed.code, resumed.stderr).toBe(0);
      await expectIntact(home, dir, runId);
    });
  }

  it("kill -9 in the middle of a resume, then resume again", async () => {
    const { home, dir, runArgs } = fresh();
    const first = cli(runArgs, home);
    await waitForJournal(dir, 4);
    first.child.kill("SIGKILL");
    await first.done;
    const runId = await lastRunId(home);
    const killed = await cli(["resume", runId, "--json"], home, { TRAINYARD_CRASH_AT: "mid-resume" }).done;
    expect(killed.signal).toBe("SIGKILL");
    const resumed = await cli(["resume", runId, "--json"], home).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    await expectIntact(home, dir, runId);
  });

  it("two resumes of one run at once: one runs it, the other refuses naming the owner", async () => {
    const { home, dir, runArgs } = fresh();
    const first = cli(runArgs, home);
    await waitForJournal(dir, 4);
    first.child.kill("SIGKILL");
    await first.done;
    const runId = await lastRunId(home);
    const [a, b] = await Promise.all([
      cli(["resume", runId, "--json"], home).done,
      cli(["resume", runId, "--json"], home).done,
    ]);
    const codes = [a.code, b.code].sort();
    expect(codes[0]).toBe(0);
    if (codes[1] !== 0) expect(`${a.stderr}${b.stderr}`).toMatch(/pid \d+/);
    await expectIntact(home, dir, runId);
  });

  it("gc in a loop during a run deletes nothing the run needs", async () => {
    const { home, dir, runArgs } = fresh();
    const run = cli(runArgs, home);
    let stop = false;
    const loop = (async () => {
      while (!stop) await cli(["gc"], home).done;
    })();
    const r = await run.done;
    stop = true;
    await loop;
    expect(r.code, r.stderr).toBe(0);
    await expectIntact(home, dir, JSON.parse(r.stdout).runId);
  });

  for (const damage of ["flip", "truncate", "delete"] as const) {
    it(`a damaged object (${damage}) is found, and the next run recomputes it`, async () => {
      const { home, dir, runArgs } = fresh(0);
      const r1 = await cli(runArgs, home).done;
      expect(r1.code, r1.stderr).toBe(0);
      const runId = JSON.parse(r1.stdout).runId as string;
      const target = await producedFileOf(home, runId, "c1s2");
      damageFile(target, damage);
      const fsck = spawnSync(process.execPath, [BIN, "fsck"], {
        env: { ...process.env, TRAINYARD_HOME: home },
        encoding: "utf8",
      });
      expect(fsck.status).not.toBe(0);
      const r2 = await cli(runArgs, home).done;
      expect(r2.code, r2.stderr).toBe(0);
      const rerun = JSON.parse(r2.stdout) as { runId: string };
      expect(await outputsOf(home, rerun.runId)).toEqual(reference);
      await cli(["fsck", "--repair"], home).done;
      await expectIntact(home, dir, runId);
    });
  }

  it("gc refuses a zero-byte metadata database and deletes nothing", async () => {
    const { home, runArgs } = fresh(0);
    const r = await cli(runArgs, home).done;
    expect(r.code, r.stderr).toBe(0);
    const objects = countFiles(path.join(home, "artifacts"));
    for (const f of ["metadata.db", "metadata.db-wal", "metadata.db-shm"])
      fs.rmSync(path.join(home, f), { force: true });
    fs.writeFileSync(path.join(home, "metadata.db"), "");
    const gc = await cli(["gc"], home).done;
    expect(gc.code).not.toBe(0);
    expect(gc.stderr).toMatch(/metadata/);
    expect(countFiles(path.join(home, "artifacts"))).toBe(objects);
  });

  it("a truncated metadata database gives an error naming the file", async () => {
    const { home, runArgs } = fresh(0);
    const r = await cli(runArgs, home).done;
    expect(r.code, r.stderr).toBe(0);
    await cli(["runs"], home).done; // checkpoints nothing; the WAL may hold the newest pages
    const db = path.join(home, "metadata.db");
    for (const f of ["metadata.db-wal", "metadata.db-shm"]) fs.rmSync(path.join(home, f), { force: true });
    fs.truncateSync(db, Math.floor(fs.statSync(db).size / 2) || 100);
    fs.writeFileSync(db, Buffer.alloc(100, 7), { flag: "r+" });
    const runs = await cli(["runs"], home).done;
    expect(runs.code).not.toBe(0);
    expect(runs.stderr).toContain(db);
  });
});

async function waitForJournal(dir: string, lines: number): Promise<void> {
  const file = path.join(dir, "journal");
  const t0 = Date.now();
  while (Date.now() - t0 < 30_000) {
    if (fs.existsSync(file) && fs.readFileSync(file, "utf8").split("\n").filter(Boolean).length >= lines) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the journal in ${dir} never reached ${lines} lines`);
}

/** The stored file a step of a run produced (its `out` file, not the output value). */
async function producedFileOf(home: string, runId: string, stepId: string): Promise<string> {
  const view = openHome(home);
  try {
    const edges = await view.meta.lineageOfStepRun(`${runId}:${stepId}`);
    const file = edges.find((e) => e.direction === "out" && e.name !== "output");
    if (!file) throw new Error(`step ${stepId} of run ${runId} produced no file: ${JSON.stringify(edges)}`);
    return await view.store.localPath(file.digest);
  } finally {
    await view.close();
  }
}

function damageFile(file: string, how: "flip" | "truncate" | "delete"): void {
  fs.chmodSync(file, 0o644);
  if (how === "delete") return fs.rmSync(file);
  const bytes = fs.readFileSync(file);
  if (how === "truncate") return fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
  bytes[0] ^= 1;
  fs.writeFileSync(file, bytes);
}

function countFiles(dir: string): number {
  let count = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) count++;
  return count;
}
