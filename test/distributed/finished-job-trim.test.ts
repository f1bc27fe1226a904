/**
 * gc's bound on finished queue jobs (finished-job-trim.ts), on a real Redis and a real PostgreSQL queue
 * store with 1,501 jobs each run by a BullMQ worker: beyond the newest N of each state, the jobs that
 * finished before the grace period go, in chunks; a dry run counts them; a job an in-flight run's fence
 * still names is kept, with every job finished after it; and `trainyard gc` reports the count.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { trimFinishedJobs } from "../../src/distributed/finished-job-trim.js";
import {
  addStepJobs,
  completedJobRetention,
  openQueue,
  openWorker,
  type StepQueue,
} from "../../src/distributed/queue-backend.js";
import type { QueueOptions } from "../../src/distributed/queue-options.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import type { RunStatus } from "../../src/store/metadata-records.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { cli } from "../cli/support.js";
import { tempDir, waitFor } from "../engine/support.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { requireTools } from "../support/require-tool.js";

vi.setConfig({ testTimeout: 120_000 });

/** Jobs per phase: completed and failed. Phases are apart by more than the trim's margin around a kept job. */
const COMPLETED = 700;
const FAILED = 150;
/** Finished jobs of each state kept: more than a phase's failed jobs, fewer than both phases'. */
const KEEP = 200;
const PHASE_GAP_MS = 1200;
/**
 * How far apart in time two jobs at the kept boundary may be taken for one another (see keptNewest): 32 jobs
 * run at once, and a loaded machine finishes them out of order by more than a few ms. Under the phases' gap.
 */
const BOUNDARY_MS = 500;

const gate = requireTools("redis-server", "postgresql");
gate.describe("gc's bound on finished queue jobs (Redis and PostgreSQL)", () => {
  let redis: TestRedis;
  let postgres: TestPostgres;
  const dirs: string[] = [];
  const opened: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  }, 120_000);
  afterAll(async () => {
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
    await Promise.all([redis?.stop(), postgres?.stop()]);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const optionsFor = (store: { redis: string; postgres?: string }, prefix: string): QueueOptions => ({
    ...{ ...store, prefix, capacity: 256 },
    ...{ lockMs: 4000, stalledCheckMs: 1500, heartbeatMs: 1000 },
  });

  /** Adds jobs named `<tag>-c<i>` (completing) and `<tag>-f<i>` (failing) and waits until all finished. */
  async function finishPhase(queue: StepQueue, opts: QueueOptions, tag: string, completed: number, failed: number) {
    const before = await queue.getJobCounts("completed", "failed");
    const jobs = [
      ...Array.from({ length: completed }, (_, i) => ({ id: `${tag}-c${i}`, fail: false })),
      ...Array.from({ length: failed }, (_, i) => ({ id: `${tag}-f${i}`, fail: true })),
    ].map(({ id, fail }) => ({
      name: id,
      data: { fail },
      opts: { jobId: id, attempts: 1, removeOnComplete: completedJobRetention(opts), removeOnFail: { age: 86_400 } },
    }));
    for (let i = 0; i < jobs.length; i += 500) await addStepJobs(queue, jobs.slice(i, i + 500));
    await waitFor(async () => {
      const c = await queue.getJobCounts("completed", "failed");
      return c.completed === before.completed + completed && c.failed === before.failed + failed;
    }, `${tag}: ${completed} completed and ${failed} failed`);
  }

  const finishedIds = async (queue: StepQueue, state: "completed" | "failed") =>
    (await queue.getRanges([state], 0, -1, false)).sort();
  /** When the newest `count` jobs of a state finished (all of them by default), newest first. */
  const finishTimes = async (queue: StepQueue, state: "completed" | "failed", count = 0) => {
    const ids = await queue.getRanges([state], 0, count - 1, false);
    return (await Promise.all(ids.map((id) => queue.getJob(id)))).map((j) => j?.finishedOn ?? 0);
  };
  /**
   * The state's jobs are its newest `count` as `expected` listed them: `clean` reads the clock again, so
   * jobs that finished within a few ms of the boundary may stand in for one another.
   */
  const keptNewest = async (queue: StepQueue, state: "completed" | "failed", expected: number[], label: string) => {
    const left = await finishTimes(queue, state);
    expect(left.length, label).toBe(expected.length);
    expect(Math.min(...left), label).toBeGreaterThanOrEqual(Math.min(...expected) - BOUNDARY_MS);
  };

  it("removes finished jobs beyond the newest N, older than the grace, sparing an in-flight run's", async () => {
    for (const [label, store, queueAt] of [
      ["Redis", { redis: redis.url }, { redis: redis.url }],
      ["PostgreSQL", { redis: redis.url, postgres: postgres.url }, { postgres: postgres.url }],
    ] as const) {
      const opts = optionsFor(store, `trim-${label.toLowerCase()}`);
      const home = tempDir("ty-job-trim-");
      dirs.push(home);
      const ty = await Trainyard.open({ home });
      opened.push(ty);
      const fences = await taskFenceFor(ty.metadata);
      opened.push(fences);
      const queue = openQueue("steps.default", opts);
      opened.push(queue);
      const worker = openWorker<{ fail: boolean }, string>(
        "steps.default",
        async (job) => {
          if (job.data.fail) throw new Error(`step failed: ${job.id}`);
          return "ok";
        },
        { concurrency: 32, lockDuration: 4000 },
        opts,
      );
      opened.push(worker);

      // Old jobs, then the one job a running run's fence names (its task not committed), then new jobs.
      await finishPhase(queue, opts, "old", COMPLETED, FAILED);
      await new Promise((r) => setTimeout(r, PHASE_GAP_MS));
      await finishPhase(queue, opts, "held", 1, 0);
      await new Promise((r) => setTimeout(r, PHASE_GAP_MS));
      await finishPhase(queue, opts, "new", COMPLETED, FAILED);
      const run = async (id: string, status: RunStatus, jobId: string) => {
        await ty.metadata.createRun({
          ...{ id, pipeline: "p", modulePath: "/srv/p.ts", params: {}, trigger: "manual", status },
          ...{ codeVersion: "c", createdAt: Date.now(), options: {} },
        });
        await fences.open({ stepRunId: `${id}:s`, runId: id, attemptId: "d1", jobId, queue: "default", task: "{}" }, 1);
      };
      await run("live", "running", "held-c0");
      await run("done", "succeeded", "old-c0"); // a finished run's fence protects nothing
      const newestFailed = await finishTimes(queue, "failed", KEEP);

      const trim = (keep: number, graceMs: number, dryRun = false) =>
        trimFinishedJobs(ty.metadata, opts, { keep, graceMs, dryRun, jobsPerClean: 96 });
      // Everything finished within the last hour: nothing is old enough.
      expect(await trim(KEEP, 3_600_000), label).toBe(0);
      // Completed: only the old phase finished before the kept job. Failed: those beyond the newest KEEP.
      expect(await trim(KEEP, 0, true), label).toBe(COMPLETED + 2 * FAILED - KEEP);
      expect((await queue.getJobCounts("completed")).completed, label).toBe(2 * COMPLETED + 1);
      expect(await trim(KEEP, 0), label).toBe(COMPLETED + 2 * FAILED - KEEP);
      const completed = await finishedIds(queue, "completed");
      expect(completed.length, label).toBe(COMPLETED + 1);
      expect(
        completed.filter((id) => id.startsWith("old-")),
        label,
      ).toEqual([]);
      expect(await queue.getJobState("held-c0"), label).toBe("completed");
      await keptNewest(queue, "failed", newestFailed, label);
      expect((await finishedIds(queue, "failed")).filter((id) => id.startsWith("new-")).length, label).toBe(FAILED);

      // Once its task is committed, the kept job no longer holds anything back: the newest KEEP stay.
      expect(await fences.settle("live:s", "d1", "{}", 2)).toBe(true);
      const newestCompleted = await finishTimes(queue, "completed", KEEP);
      expect(await trim(KEEP, 0), label).toBe(COMPLETED + 1 - KEEP);
      await keptNewest(queue, "completed", newestCompleted, label);
      expect(await trim(KEEP, 0), label).toBe(0);
      await worker.close();

      // The CLI's gc with the queue executor configured: removed and reported in JSON, counted in a dry run's text.
      const config = path.join(home, "trainyard.config.ts");
      fs.writeFileSync(
        config,
        `export default ${JSON.stringify({ executor: { kind: "queue", ...queueAt, prefix: opts.prefix } })};\n`,
      );
      await ty.close();
      const gc = (...args: string[]) =>
        cli(["gc", "--config", config, "--grace", "0", "--keep-jobs", "100", ...args], home);
      if (label === "Redis") {
        const json = await gc("--json");
        expect(json.code, json.stderr).toBe(0);
        expect(JSON.parse(json.stdout)).toMatchObject({ finishedJobsRemoved: 2 * (KEEP - 100), fencesRemoved: 1 });
        expect(await queue.getJobCounts("completed", "failed")).toEqual({ completed: 100, failed: 100 });
      } else {
        const dry = await gc("--dry-run");
        expect(dry.code, dry.stderr).toBe(0);
        expect(dry.stdout).toMatch(/^would remove 0 runs and .*, 1 task fences, 200 finished queue jobs, /m);
        expect(await queue.getJobCounts("completed", "failed")).toEqual({ completed: KEEP, failed: KEEP });
      }
    }
  });
});

it("reports what gc removed, then fails naming the queue store, when the queue store is out of reach", async () => {
  const home = tempDir();
  try {
    // A port nothing listens on: the queue store never answers.
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((r) => server.close(r));
    const config = path.join(home, "trainyard.config.ts");
    const executor = { kind: "queue", redis: `redis://127.0.0.1:${port}` };
    fs.writeFileSync(config, `export default ${JSON.stringify({ executor })};\n`);
    const r = await cli(["gc", "--config", config], home);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stdout).toMatch(/^removed 0 runs and 0 artifacts .*, 0 task fences, \d+ temp files$/m);
    expect(r.stderr).toContain("QUEUE_UNAVAILABLE");
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
