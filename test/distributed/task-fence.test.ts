/**
 * The task fence on SQLite and PostgreSQL: a result is committed once, by the current dispatch's
 * current pickup only; a late worker (stalled, superseded) is refused at heartbeat and commit.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunRecord, RunStatus } from "../../src/store/metadata-records.js";
import type { MetadataStore } from "../../src/store/metadata-store.js";
import { PostgresMetadataStore } from "../../src/store/postgres-metadata-store.js";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import type { TaskFenceStore } from "../../src/store/task-fence.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { RecordWriter } from "../../src/engine/record-writer.js";
import { type CommitRider, RecordsWithCommits } from "../../src/distributed/records-with-commits.js";

function describeFence(name: string, open: () => Promise<{ metadata: MetadataStore; fences: TaskFenceStore }>) {
  describe(`task fence (${name})`, () => {
    let metadata: MetadataStore;
    let fences: TaskFenceStore;
    beforeAll(async () => ({ metadata, fences } = await open()));
    afterAll(async () => metadata?.close());
    const dispatch = (stepRunId: string, attemptId: string) =>
      fences.open({ stepRunId, runId: "r1", attemptId, jobId: `j-${attemptId}`, queue: "default", task: "{}" }, 1);

    it("commits the current pickup's result once and refuses a stalled worker's late one", async () => {
      await dispatch("r1:a", "d1");
      expect(await fences.claim("r1:a", "d1", "pickup-A", "host/w1", 2)).toBe(true);
      // Worker A's lock is lost; the queue hands the task to worker B.
      expect(await fences.claim("r1:a", "d1", "pickup-B", "host/w2", 3)).toBe(true);
      expect(await fences.heartbeat("r1:a", "pickup-A", 4)).toBe(false);
      expect(await fences.heartbeat("r1:a", "pickup-B", 4)).toBe(true);
      expect(await fences.commit("r1:a", "d1", "pickup-A", '{"from":"A"}', 5)).toBe(false);
      expect(await fences.commit("r1:a", "d1", "pickup-B", '{"from":"B"}', 6)).toBe(true);
      expect(await fences.commit("r1:a", "d1", "pickup-B", '{"again":true}', 7)).toBe(false);
      // A third pickup of a committed task gets nothing to do.
      expect(await fences.claim("r1:a", "d1", "pickup-C", "host/w3", 8)).toBe(false);
      const f = (await fences.get("r1:a"))!;
      expect(f).toMatchObject({ state: "committed", result: '{"from":"B"}', worker: "host/w2", attemptId: "d1" });
    });

    it("a newer dispatch supersedes an older one, whose worker can no longer commit", async () => {
      await dispatch("r1:b", "d1");
      expect(await fences.claim("r1:b", "d1", "p1", "host/w1", 1)).toBe(true);
      await dispatch("r1:b", "d2");
      expect(await fences.commit("r1:b", "d1", "p1", '{"old":true}', 2)).toBe(false);
      expect(await fences.claim("r1:b", "d1", "p1b", "host/w1", 3)).toBe(false);
      expect(await fences.claim("r1:b", "d2", "p2", "host/w2", 3)).toBe(true);
      expect(await fences.commit("r1:b", "d2", "p2", '{"new":true}', 4)).toBe(true);
      expect((await fences.get("r1:b"))!.result).toBe('{"new":true}');
    });

    it("settles a task the queue gave up on, unless a worker committed first", async () => {
      await dispatch("r1:c", "d1");
      expect(await fences.settle("r1:c", "d1", '{"status":"failed"}', 1)).toBe(true);
      expect(await fences.claim("r1:c", "d1", "p", "host/w", 2)).toBe(false);
      await dispatch("r1:d", "d1");
      expect(await fences.claim("r1:d", "d1", "p", "host/w", 2)).toBe(true);
      expect(await fences.commit("r1:d", "d1", "p", '{"status":"succeeded"}', 3)).toBe(true);
      expect(await fences.settle("r1:d", "d1", '{"status":"failed"}', 4)).toBe(false);
      const run = await fences.listRun("r1");
      expect(run.map((f) => f.stepRunId).sort()).toEqual(["r1:a", "r1:b", "r1:c", "r1:d"]);
    });

    it("of many workers racing to claim and commit one task, exactly one result lands", async () => {
      await dispatch("r1:e", "d1");
      const workers = Array.from({ length: 8 }, (_, i) => `p${i}`);
      const outcomes = await Promise.all(
        workers.map(async (p) => {
          await fences.claim("r1:e", "d1", p, `host/${p}`, 1);
          return fences.commit("r1:e", "d1", p, JSON.stringify({ by: p }), 2);
        }),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      const winner = workers[outcomes.indexOf(true)];
      expect(JSON.parse((await fences.get("r1:e"))!.result!)).toEqual({ by: winner });
    });

    it("opens and commits many in one statement, each row under its own pickup's conditions", async () => {
      const open = (stepRunId: string, attemptId: string) =>
        ({ stepRunId, runId: "r2", attemptId, jobId: `j-${attemptId}`, queue: "default", task: "{}" }) as const;
      // The same step run twice in one group: its last dispatch is the current one, as when opened in turn.
      await fences.openMany([open("r2:a", "a0"), open("r2:a", "a1"), open("r2:b", "b1"), open("r2:c", "c1")], 1);
      expect((await fences.get("r2:a"))!.attemptId).toBe("a1");
      expect(await fences.claim("r2:a", "a1", "pa", "host/w1", 2)).toBe(true);
      expect(await fences.claim("r2:b", "b1", "pb-old", "host/w1", 2)).toBe(true);
      expect(await fences.claim("r2:b", "b1", "pb", "host/w2", 3)).toBe(true); // took over
      expect(await fences.claim("r2:c", "c1", "pc", "host/w1", 3)).toBe(true);
      expect(await fences.settle("r2:c", "c1", '{"cancelled":true}', 4)).toBe(true);
      const landed = await fences.commitMany(
        [
          { stepRunId: "r2:a", attemptId: "a1", claim: "pa", result: '{"a":1}' },
          { stepRunId: "r2:b", attemptId: "b1", claim: "pb-old", result: '{"late":true}' },
          { stepRunId: "r2:c", attemptId: "c1", claim: "pc", result: '{"c":1}' },
          { stepRunId: "r2:b", attemptId: "b1", claim: "pb", result: '{"b":1}' },
          { stepRunId: "r2:a", attemptId: "a0", claim: "pa", result: '{"superseded":true}' },
        ],
        5,
      );
      expect(landed).toEqual([true, false, false, true, false]);
      const results = Object.fromEntries((await fences.listRun("r2")).map((f) => [f.stepRunId, f.result]));
      expect(results).toEqual({ "r2:a": '{"a":1}', "r2:b": '{"b":1}', "r2:c": '{"cancelled":true}' });
      expect(await fences.commitMany([{ stepRunId: "r2:a", attemptId: "a1", claim: "pa", result: "{}" }], 6)).toEqual([
        false,
      ]);
    });

    it("claims a batch in one statement, each task on its own conditions; reads back committed fences", async () => {
      const open = (stepRunId: string, attemptId: string) =>
        ({ stepRunId, runId: "r3", attemptId, jobId: "batch~j", queue: "default", task: "{}" }) as const;
      await fences.openMany([open("r3:a", "a1"), open("r3:b", "b1"), open("r3:c", "c1"), open("r3:d", "d1")], 1);
      expect(await fences.settle("r3:c", "c1", '{"c":1}', 2)).toBe(true);
      const claim = (stepRunId: string, attemptId: string, pickup: string) =>
        ({ stepRunId, attemptId, claim: pickup, worker: "host/w1" }) as const;
      const claimed = await fences.claimMany(
        [
          claim("r3:a", "a1", "pa"),
          claim("r3:b", "b0", "pb"), // an earlier dispatch: superseded
          claim("r3:c", "c1", "pc"), // committed already: a redelivered batch does not run it again
          claim("r3:d", "d1", "pd"),
          claim("r3:d", "d1", "pd2"), // the same step run twice in one group: the first counts
        ],
        3,
      );
      expect(claimed).toEqual([true, false, false, true, false]);
      expect((await fences.get("r3:d"))!.claim).toBe("pd");
      expect(await fences.commit("r3:a", "a1", "pa", '{"a":1}', 4)).toBe(true);
      const committed = await fences.committedAmong(["r3:a", "r3:b", "r3:c", "r3:d", "r3:absent"]);
      expect(committed.map((f) => [f.stepRunId, f.result]).sort()).toEqual([
        ["r3:a", '{"a":1}'],
        ["r3:c", '{"c":1}'],
      ]);
      expect(await fences.committedAmong([])).toEqual([]);
    });

    it("a worker's commit rides with its run's records: both land, a refused one keeps the records", async () => {
      const records = new RecordWriter(new RecordsWithCommits(metadata, () => fences));
      const open = (stepRunId: string) =>
        ({ stepRunId, runId: "r4", attemptId: "d1", jobId: "batch~j", queue: "default", task: "{}" }) as const;
      await fences.openMany([open("r4:a"), open("r4:b")], 1);
      expect(await fences.claimMany([claimOf("r4:a", "pa"), claimOf("r4:b", "pb")], 2)).toEqual([true, true]);
      await fences.claim("r4:b", "d1", "pb-new", "host/w2", 3); // r4:b was taken over meanwhile
      const bytes = new TextEncoder().encode('{"value":41}');
      const digest = "sha256:4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a";
      for (const stepRunId of ["r4:a", "r4:b"])
        records.saveAttempt({ stepRunId, attempt: 1, status: "succeeded", startedAt: 4, finishedAt: 5 });
      const record = { digest, kind: "json", size: bytes.byteLength, meta: {}, createdAt: 5, inline: true } as const;
      records.putArtifacts([{ record, bytes }]);
      const riders: CommitRider[] = [
        { commit: { stepRunId: "r4:a", attemptId: "d1", claim: "pa", result: '{"a":41}' } },
        { commit: { stepRunId: "r4:b", attemptId: "d1", claim: "pb", result: '{"late":true}' } },
      ];
      await Promise.all(riders.map((r) => records.ride(r)));
      expect(riders.map((r) => r.landed)).toEqual([true, false]);
      expect((await fences.get("r4:a"))!).toMatchObject({ state: "committed", result: '{"a":41}' });
      expect((await fences.get("r4:b"))!).toMatchObject({ state: "running", claim: "pb-new" });
      expect((await metadata.listAttempts("r4:a")).map((a) => a.status)).toEqual(["succeeded"]);
      expect((await metadata.listAttempts("r4:b")).map((a) => a.status)).toEqual(["succeeded"]);
      expect(Buffer.from((await metadata.getInlineBytes(digest))!).toString()).toBe('{"value":41}');
    });

    it("removes a finished run's fences in chunks; a queued or running run's never, a dry run none", async () => {
      for (const [id, status] of [
        ["g-done", "succeeded"],
        ["g-live", "running"],
        ["g-queued", "queued"],
      ] as const)
        await metadata.createRun(runOf(id, status));
      const fencesOf = (runId: string, n: number) =>
        Array.from({ length: n }, (_, i) => ({
          stepRunId: `${runId}:s${i}`,
          runId,
          attemptId: "d1",
          jobId: `j-${runId}-${i}`,
          queue: "default",
          task: "{}",
        }));
      // "g-gone" is a run no longer recorded (removed by an earlier gc).
      await fences.openMany([...fencesOf("g-done", 7), ...fencesOf("g-live", 2), ...fencesOf("g-queued", 1)], 1);
      await fences.openMany(fencesOf("g-gone", 3), 1);
      expect((await fences.fencedRuns()).filter((r) => r.startsWith("g-")).sort()).toEqual([
        "g-done",
        "g-gone",
        "g-live",
        "g-queued",
      ]);
      const all = ["g-done", "g-gone", "g-live", "g-queued"];
      expect(await fences.removeRunFences(all, { dryRun: true })).toBe(10);
      expect((await fences.listRun("g-done")).length).toBe(7);
      // Three rows per statement: four statements, the last one short.
      expect(await fences.removeRunFences(all, { rowsPerStatement: 3 })).toBe(10);
      expect(await fences.listRun("g-done")).toEqual([]);
      expect(await fences.listRun("g-gone")).toEqual([]);
      expect((await fences.listRun("g-live")).length).toBe(2);
      expect((await fences.listRun("g-queued")).length).toBe(1);
      expect(await fences.removeRunFences(all)).toBe(0);
      expect(await fences.removeRunFences([])).toBe(0);
    });

    it("a late worker whose fence was removed can neither claim, heartbeat nor commit the task", async () => {
      await metadata.createRun(runOf("g-late", "succeeded"));
      const task = { runId: "g-late", attemptId: "d1", jobId: "j", queue: "default", task: "{}" };
      await fences.openMany(
        [
          { stepRunId: "g-late:held", ...task },
          { stepRunId: "g-late:queued", ...task },
        ],
        1,
      );
      expect(await fences.claim("g-late:held", "d1", "p-held", "host/w1", 2)).toBe(true);
      expect(await fences.removeRunFences(["g-late"])).toBe(2);
      // A job still in the queue is picked up late: refused before it runs.
      expect(await fences.claim("g-late:queued", "d1", "p-late", "host/w2", 3)).toBe(false);
      expect(await fences.claimMany([claimOf("g-late:queued", "p-late2")], 3)).toEqual([false]);
      // A pickup that was running when its fence went: its heartbeat stops it, its result is refused.
      expect(await fences.heartbeat("g-late:held", "p-held", 4)).toBe(false);
      expect(await fences.commit("g-late:held", "d1", "p-held", '{"late":true}', 5)).toBe(false);
      const records = new RecordWriter(new RecordsWithCommits(metadata, () => fences));
      const rider: CommitRider = {
        commit: { stepRunId: "g-late:held", attemptId: "d1", claim: "p-held", result: '{"late":true}' },
      };
      await records.ride(rider);
      await records.flush();
      expect(rider.landed).toBe(false);
      expect(await fences.settle("g-late:held", "d1", '{"cancelled":true}', 6)).toBe(false);
      expect(await fences.get("g-late:held")).toBeUndefined();
      expect(await fences.get("g-late:queued")).toBeUndefined();
    });

    it("lists in-flight runs' queues and the fences held on some queues, oldest claim first", async () => {
      await metadata.createRun(runOf("r5", "running"));
      await metadata.createRun(runOf("r6", "interrupted"));
      const open = (stepRunId: string, queue: string) =>
        fences.open(
          { stepRunId, runId: stepRunId.split(":")[0], attemptId: "d1", jobId: `j-${stepRunId}`, queue, task: "{}" },
          1,
        );
      await open("r5:a", "ov-cpu");
      await open("r5:b", "ov-cpu");
      await open("r5:c", "ov-gpu");
      await open("r5:d", "ov-idle");
      // A fence left held by a run that is no longer in flight: neither its queue nor its task is shown.
      await open("r6:a", "ov-old");
      await open("r6:b", "ov-cpu");
      expect(await fences.claim("r6:a", "d1", "p6a", "host/w9", 5)).toBe(true);
      expect(await fences.claim("r6:b", "d1", "p6b", "host/w9", 5)).toBe(true);
      expect(await fences.claim("r5:b", "d1", "pb", "host/w2", 10)).toBe(true);
      expect(await fences.claim("r5:a", "d1", "pa", "host/w1", 20)).toBe(true);
      expect(await fences.claim("r5:c", "d1", "pc", "host/w3", 30)).toBe(true);
      expect(await fences.commit("r5:c", "d1", "pc", "{}", 40)).toBe(true);
      const queues = await fences.listQueues();
      expect(queues).toEqual(expect.arrayContaining(["ov-cpu", "ov-gpu", "ov-idle"]));
      expect(queues).not.toContain("ov-old");
      expect(await fences.fencedQueues()).toEqual(expect.arrayContaining(["ov-cpu", "ov-gpu", "ov-idle", "ov-old"]));
      const running = await fences.listRunning(["ov-cpu", "ov-gpu", "ov-idle", "ov-old"]);
      expect(running.map((f) => [f.stepRunId, f.worker, f.updatedAt])).toEqual([
        ["r5:b", "host/w2", 10],
        ["r5:a", "host/w1", 20],
      ]);
      expect(await fences.listRunning(["ov-gpu"])).toEqual([]);
      // The jobs whose state a live orchestrator may still read: uncommitted tasks of in-flight runs.
      const jobs = (await fences.inFlightJobs()).filter((j) => j.queue.startsWith("ov-"));
      expect(jobs.map((j) => `${j.queue}/${j.jobId}`).sort()).toEqual([
        "ov-cpu/j-r5:a",
        "ov-cpu/j-r5:b",
        "ov-idle/j-r5:d",
      ]);
    });
  });
}

/** A run record for the fences' run (gc's guard reads its status). */
function runOf(id: string, status: RunStatus): RunRecord {
  return {
    id,
    pipeline: "p",
    modulePath: "p.ts",
    params: {},
    trigger: "manual",
    status,
    codeVersion: "c",
    createdAt: 1,
    options: {},
  };
}

const claimOf = (stepRunId: string, claim: string) => ({ stepRunId, attemptId: "d1", claim, worker: "host/w1" });

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describeFence("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ty-fence-"));
  dirs.push(dir);
  const metadata = new SqliteMetadataStore(join(dir, "metadata.db"));
  return { metadata, fences: await taskFenceFor(metadata) };
});

let server: TestPostgres | undefined;
requireTools("postgresql").describe("on PostgreSQL", () => {
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => server?.stop());
  describeFence("postgres", async () => {
    const metadata = await PostgresMetadataStore.open({ url: server!.url, schema: "fences" });
    return { metadata, fences: await taskFenceFor(metadata) };
  });

  it("a record batch the database refuses takes its riding commit with it: no result without its records", async () => {
    const metadata = await PostgresMetadataStore.open({ url: server!.url, schema: "fences_atomic" });
    const fences = await taskFenceFor(metadata);
    try {
      const records = new RecordWriter(new RecordsWithCommits(metadata, () => fences));
      await fences.open({ stepRunId: "r5:a", runId: "r5", attemptId: "d1", jobId: "j", queue: "q", task: "{}" }, 1);
      expect(await fences.claim("r5:a", "d1", "pa", "host/w1", 2)).toBe(true);
      // An attempt number that is no integer: PostgreSQL refuses the whole statement.
      records.saveAttempt({ stepRunId: "r5:a", attempt: 1.5, status: "succeeded", startedAt: 3, finishedAt: 4 });
      const rider: CommitRider = { commit: { stepRunId: "r5:a", attemptId: "d1", claim: "pa", result: "{}" } };
      await records.ride(rider);
      expect(rider.landed).toBeUndefined();
      await expect(records.flush()).rejects.toThrow(/integer/);
      expect((await fences.get("r5:a"))!).toMatchObject({ state: "running", result: undefined });
    } finally {
      await metadata.close();
    }
  });
});
