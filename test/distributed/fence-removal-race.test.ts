/**
 * gc's removal of a run's task fences against a concurrent `trainyard resume` of that run, on a real
 * PostgreSQL with two connections: a resume whose status update is not committed yet makes the removal
 * wait and then keep the fences; a removal under way makes the resume's status update wait, after which
 * the resume reads no fences and dispatches its tasks anew. (SQLite has one writer: no such interleaving.)
 */
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { earlierDispatch } from "../../src/distributed/queue-recovery.js";
import { encodeStepTask, STEP_TASK_VERSION, type StepTask } from "../../src/engine/step-task.js";
import type { RunStatus } from "../../src/store/metadata-records.js";
import { PostgresMetadataStore } from "../../src/store/postgres-metadata-store.js";
import type { TaskFenceStore } from "../../src/store/task-fence.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { waitFor } from "../engine/support.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";

const SCHEMA = "fence_race";
/** How long a blocked statement is watched to show it waits. */
const WATCH_MS = 300;

let server: TestPostgres | undefined;
let metadata: PostgresMetadataStore;
let fences: TaskFenceStore;
const clients: pg.Client[] = [];

/** A connection of its own on the metadata schema, outside the store's pool. */
async function connection(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: server!.url, options: `-c search_path=${SCHEMA}` });
  await client.connect();
  clients.push(client);
  return client;
}

function taskOf(runId: string, i: number): StepTask {
  return {
    ...{ version: STEP_TASK_VERSION, stepRunId: `${runId}:s${i}`, runId, attemptId: `a${i}`, pipeline: "p" },
    ...{ modulePath: "/srv/p.ts", stepId: `s${i}`, itemIndex: -1, params: {}, inputs: {}, inputDigests: {} },
    ...{ attemptsBefore: 0, queue: "default", priority: 1, cacheKey: `k${i}` },
  };
}

/** A run of `status` with three dispatched steps, one of them held by a worker. */
async function fencedRun(runId: string, status: RunStatus): Promise<StepTask[]> {
  await metadata.createRun({
    ...{ id: runId, pipeline: "p", modulePath: "/srv/p.ts", params: {}, trigger: "manual", status },
    ...{ codeVersion: "c", createdAt: 1, options: {} },
  });
  const tasks = [0, 1, 2].map((i) => taskOf(runId, i));
  const open = tasks.map((t) => ({ stepRunId: t.stepRunId, runId, attemptId: t.attemptId, queue: "default" }));
  await fences.openMany(
    open.map((f, i) => ({ ...f, jobId: `${runId}-j${i}`, task: encodeStepTask(tasks[i]) })),
    1,
  );
  expect(await fences.claim(tasks[0].stepRunId, tasks[0].attemptId, "pickup", "host/w1", 2)).toBe(true);
  return tasks;
}

/** Whether `work` settles within `ms`, without giving up on it. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  work.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  return settled;
}

requireTools("postgresql").describe("gc's fence removal and a concurrent resume (PostgreSQL)", () => {
  beforeAll(async () => {
    server = await startPostgres();
    metadata = await PostgresMetadataStore.open({ url: server.url, schema: SCHEMA });
    fences = await taskFenceFor(metadata);
    await fences.listQueues(); // the fence table exists before the test adds its trigger
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => undefined);
    await fences?.close();
    await metadata?.close();
    await server?.stop();
  });

  it("a resume that set the run running first makes the removal wait, then keep every fence", async () => {
    await fencedRun("resumed-first", "failed");
    const resume = await connection();
    await resume.query("BEGIN");
    await resume.query(`UPDATE runs SET status = 'running' WHERE id = $1`, ["resumed-first"]);
    const removal = fences.removeRunFences(["resumed-first"]);
    try {
      // Removal's snapshot still reads "failed"; it must wait for the resume rather than trust it.
      expect(await settlesWithin(removal, WATCH_MS)).toBe(false);
    } finally {
      await resume.query("COMMIT");
    }
    expect(await removal).toBe(0);
    expect((await fences.listRun("resumed-first")).map((f) => f.state)).toEqual(["running", "queued", "queued"]);
  });

  it("a removal under way makes the resume wait; the resume then reads no fences and dispatches anew", async () => {
    const tasks = await fencedRun("removed-first", "failed");
    // Each row's delete waits on a gate the test holds: the removal is caught mid-transaction.
    const gate = await connection();
    await gate.query(`CREATE OR REPLACE FUNCTION fence_gate() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_advisory_xact_lock_shared(7401); RETURN OLD; END $$`);
    await gate.query(
      `CREATE TRIGGER fence_gate BEFORE DELETE ON task_fences FOR EACH ROW EXECUTE FUNCTION fence_gate()`,
    );
    await gate.query(`SELECT pg_advisory_lock(7401)`);
    const removal = fences.removeRunFences(["removed-first"]);
    try {
      await waitFor(async () => {
        const { rows } = await gate.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'
          AND NOT granted`);
        return rows[0].n > 0;
      }, "the removal reaches its first delete");
      // The resume as trainyard.ts does it: the run's status first, then its fences.
      const resume = (async () => {
        await metadata.updateRun("removed-first", { status: "running", finishedAt: undefined });
        return Promise.all(tasks.map((t) => fences.get(t.stepRunId)));
      })();
      expect(await settlesWithin(resume, WATCH_MS)).toBe(false);
      await gate.query(`SELECT pg_advisory_unlock(7401)`);
      expect(await removal).toBe(3);
      const seen = await resume;
      expect(seen).toEqual([undefined, undefined, undefined]);
      // Nothing to reattach to and no result: each task is dispatched again.
      for (const [i, t] of tasks.entries()) expect(earlierDispatch(seen[i], t)).toEqual({ current: undefined });
      expect((await metadata.getRun("removed-first"))?.status).toBe("running");
    } finally {
      await gate.query(`SELECT pg_advisory_unlock_all()`);
      await gate.query(`DROP TRIGGER fence_gate ON task_fences`);
    }
  });
});
