/**
 * A worker's own log files (worker-log-retention.ts), against a real home's records: a run gc
 * removed loses them once they are an hour old, any run once they are older than the keep time,
 * and a recorded run's recent files stay. Before, they stayed for ever in the worker's home.
 */
import fs from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import { WorkerLogRetention } from "../../src/distributed/worker-log-retention.js";
import { useHomes } from "../engine/support.js";

const homes = useHomes();
const HOUR = 3_600_000;

/** A run's log directory with one file, both last changed `ageMs` ago. */
function logsOf(home: string, runId: string, ageMs: number): string {
  const dir = path.join(home, "logs", runId);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "step.1.log.gz");
  fs.writeFileSync(file, "o1 a line\n");
  const at = new Date(Date.now() - ageMs);
  fs.utimesSync(file, at, at);
  fs.utimesSync(dir, at, at);
  return dir;
}

it("removes the files of runs gone from the records, and of any run past the keep time", async () => {
  const { ty } = await homes.open();
  const worker = homes.tempDir("ty-worker-home-");
  const p = pipeline("logged");
  p.step("a", { run: () => 1 });
  const kept = await ty.run(p);
  const old = await ty.run(p, { force: true });
  const dirs = {
    recorded: logsOf(worker, kept.runId, 2 * HOUR),
    recordedButOld: logsOf(worker, old.runId, 31 * 24 * HOUR),
    gone: logsOf(worker, "20260101-000000-abcdef", 2 * HOUR),
    goneJustNow: logsOf(worker, "20260101-000000-fedcba", 10 * 60_000),
  };
  fs.writeFileSync(path.join(worker, "logs", "not-a-run-dir.txt"), "");
  const told: string[] = [];
  const retention = new WorkerLogRetention({
    home: worker,
    recorded: async (runId) => (await ty.metadata.getRun(runId)) !== undefined,
    onRemoved: (runId, why) => told.push(`${runId}: ${why}`),
  });
  const removed = await retention.sweep();
  expect(removed.sort()).toEqual([old.runId, "20260101-000000-abcdef"].sort());
  expect(Object.fromEntries(Object.entries(dirs).map(([k, d]) => [k, fs.existsSync(d)]))).toEqual({
    recorded: true,
    recordedButOld: false,
    gone: false,
    goneJustNow: true,
  });
  expect(told).toContain("20260101-000000-abcdef: its run is gone from the records");
  expect(told).toContain(`${old.runId}: its newest log file is older than 30 days`);
  expect(fs.existsSync(path.join(worker, "logs", "not-a-run-dir.txt"))).toBe(true);
  // A store that cannot answer removes nothing by the run rule.
  const unsure = new WorkerLogRetention({
    home: worker,
    recorded: () => Promise.reject(new Error("database away")),
  });
  logsOf(worker, "20260101-000000-aaaaaa", 2 * HOUR);
  expect(await unsure.sweep()).toEqual([]);
  // A shorter keep time (trainyard worker --keep-logs 1h) takes the recorded run's files too.
  const short = new WorkerLogRetention({ home: worker, recorded: async () => true, keepMs: HOUR });
  expect((await short.sweep()).sort()).toEqual([kept.runId, "20260101-000000-aaaaaa"].sort());
});
