/** The task fence in the PostgreSQL metadata database, on the metadata store's pool (see task-fence.ts). */
import type pg from "pg";
import type { PostgresMetadataStore } from "./postgres-metadata-store.js";
import type { RecordBatch } from "./metadata-records.js";
import { batchStatement } from "./postgres-record-batch.js";
import type { Queryable, Row } from "./postgres-rows.js";
import { applyMigrations } from "./postgres-schema-versions.js";
import { inTransaction } from "./postgres-transaction.js";
import {
  type FenceClaim,
  type FenceCommit,
  FENCE_ROWS_PER_STATEMENT,
  FENCE_RUN_STATUSES_IN_USE,
  FENCES_IN_USE_SQL,
  firstPerStepRun,
  IN_FLIGHT_FENCES_SQL,
  IN_FLIGHT_JOBS_SQL,
  rowsToJobs,
  type FencedJob,
  type RemoveFencesOptions,
  rowToFence,
  taskFenceMigrations,
  type OpenFence,
  type TaskFence,
  type TaskFenceStore,
} from "./task-fence.js";

/** The workers overview's reads (exported so that a test can show their plans). */
export const IN_FLIGHT_QUEUES_SQL = `SELECT DISTINCT f.queue FROM ${IN_FLIGHT_FENCES_SQL} ORDER BY f.queue`;
export const HELD_FENCES_SQL = `SELECT f.* FROM ${IN_FLIGHT_FENCES_SQL} AND f.queue = ANY($1::text[])
  AND f.state = 'running' ORDER BY f.updated_at`;

export class PostgresTaskFenceStore implements TaskFenceStore {
  private readonly pool: pg.Pool;
  private readonly ready: Promise<void>;

  constructor(metadata: PostgresMetadataStore) {
    this.pool = metadata.connectionPool;
    this.ready = this.migrate();
    this.ready.catch(() => undefined); // reported by the first call that needs the table
  }

  private async migrate(): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('trainyard.fences.migrate.' || current_schema()))`);
      await applyMigrations(c, "task_fence_migrations", taskFenceMigrations("postgres"));
    });
  }

  /** Per-task statements are prepared once per connection under `name`. */
  private async changed(name: string, sql: string, args: unknown[]): Promise<boolean> {
    await this.ready;
    return (await this.pool.query({ name: `trainyard.fence-${name}`, text: sql, values: args })).rowCount === 1;
  }

  async open(f: OpenFence, now: number): Promise<void> {
    await this.openMany([f], now);
  }

  async openMany(all: OpenFence[], now: number): Promise<void> {
    // One statement may not change a row twice: the last dispatch of a step run wins, as alone.
    const fences = [...new Map(all.map((f) => [f.stepRunId, f])).values()];
    if (!fences.length) return;
    await this.ready;
    const column = (pick: (f: OpenFence) => string) => fences.map(pick);
    await this.pool.query({
      name: "trainyard.fence-open",
      text: `INSERT INTO task_fences (step_run_id, run_id, attempt_id, job_id, queue, task, state, updated_at)
      SELECT s, r, a, j, q, t, 'queued', $7
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS f(s, r, a, j, q, t)
      ON CONFLICT (step_run_id) DO UPDATE SET run_id = EXCLUDED.run_id, attempt_id = EXCLUDED.attempt_id,
        job_id = EXCLUDED.job_id, queue = EXCLUDED.queue, task = EXCLUDED.task, state = 'queued', claim = NULL,
        worker = NULL, result = NULL, heartbeat_at = NULL, updated_at = EXCLUDED.updated_at`,
      values: [
        column((f) => f.stepRunId),
        column((f) => f.runId),
        column((f) => f.attemptId),
        column((f) => f.jobId),
        column((f) => f.queue),
        column((f) => f.task),
        now,
      ],
    });
  }

  async get(stepRunId: string): Promise<TaskFence | undefined> {
    await this.ready;
    const { rows } = await this.pool.query(`SELECT * FROM task_fences WHERE step_run_id = $1`, [stepRunId]);
    return rows[0] ? rowToFence(rows[0]) : undefined;
  }

  async committedAmong(stepRunIds: string[]): Promise<TaskFence[]> {
    if (!stepRunIds.length) return [];
    await this.ready;
    const { rows } = await this.pool.query({
      name: "trainyard.fence-committed-among",
      text: `SELECT * FROM task_fences WHERE step_run_id = ANY($1::text[]) AND state = 'committed'`,
      values: [stepRunIds],
    });
    return rows.map(rowToFence);
  }

  async listRun(runId: string): Promise<TaskFence[]> {
    await this.ready;
    const { rows } = await this.pool.query(`SELECT * FROM task_fences WHERE run_id = $1 ORDER BY step_run_id`, [runId]);
    return rows.map(rowToFence);
  }

  async listQueues(): Promise<string[]> {
    await this.ready;
    const { rows } = await this.pool.query(IN_FLIGHT_QUEUES_SQL);
    return rows.map((r: Row) => String(r.queue));
  }

  async listRunning(queues: string[]): Promise<TaskFence[]> {
    await this.ready;
    const { rows } = await this.pool.query(HELD_FENCES_SQL, [queues]);
    return rows.map(rowToFence);
  }

  async fencedQueues(): Promise<string[]> {
    await this.ready;
    const { rows } = await this.pool.query(`SELECT DISTINCT queue FROM task_fences ORDER BY queue`);
    return rows.map((r: Row) => String(r.queue));
  }

  async inFlightJobs(): Promise<FencedJob[]> {
    await this.ready;
    return rowsToJobs((await this.pool.query(IN_FLIGHT_JOBS_SQL)).rows);
  }

  // Each conditional UPDATE takes the row lock: of two racing workers, the second sees the first's change.
  claim(stepRunId: string, attemptId: string, claim: string, worker: string, now: number): Promise<boolean> {
    return this.changed(
      "claim",
      `UPDATE task_fences SET state = 'running', claim = $1, worker = $2, heartbeat_at = $3, updated_at = $3
      WHERE step_run_id = $4 AND attempt_id = $5 AND state <> 'committed'`,
      [claim, worker, now, stepRunId, attemptId],
    );
  }

  async claimMany(all: FenceClaim[], now: number): Promise<boolean[]> {
    const claims = firstPerStepRun(all);
    if (!claims.length) return all.map(() => false);
    await this.ready;
    const { rows } = await this.pool.query({
      name: "trainyard.fence-claim-many",
      text: `UPDATE task_fences f SET state = 'running', claim = c.claim, worker = c.worker, heartbeat_at = $5,
        updated_at = $5
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS c(step_run_id, attempt_id, claim, worker)
      WHERE f.step_run_id = c.step_run_id AND f.attempt_id = c.attempt_id AND f.state <> 'committed'
      RETURNING f.claim`,
      values: [
        claims.map((c) => c.stepRunId),
        claims.map((c) => c.attemptId),
        claims.map((c) => c.claim),
        claims.map((c) => c.worker),
        now,
      ],
    });
    const landed = new Set(rows.map((r: Row) => r.claim));
    return all.map((c) => claims.includes(c) && landed.has(c.claim));
  }

  heartbeat(stepRunId: string, claim: string, now: number): Promise<boolean> {
    return this.changed(
      "heartbeat",
      `UPDATE task_fences SET heartbeat_at = $1 WHERE step_run_id = $2 AND claim = $3 AND state = 'running'`,
      [now, stepRunId, claim],
    );
  }

  async commit(stepRunId: string, attemptId: string, claim: string, result: string, now: number): Promise<boolean> {
    return (await this.commitMany([{ stepRunId, attemptId, claim, result }], now))[0];
  }

  async commitMany(commits: FenceCommit[], now: number): Promise<boolean[]> {
    if (!commits.length) return [];
    await this.ready;
    const { rows } = await this.pool.query({
      name: "trainyard.fence-commit",
      text: commitSql(1),
      values: commitParams(commits, now),
    });
    return landedAmong(commits, rows);
  }

  // The batch's CTEs and the commit are one statement, hence one transaction and one round trip.
  async commitManyWithRecords(commits: FenceCommit[], records: RecordBatch, now: number): Promise<boolean[]> {
    await this.ready;
    const batch = batchStatement(records);
    const { rows } = await this.pool.query({
      name: `trainyard.fence-commit-with-records.${batch.shape}`,
      text: `WITH ${batch.ctes ? `${batch.ctes},\n` : ""}committed AS (${commitSql(batch.params.length + 1)})
SELECT * FROM committed`,
      values: [...batch.params, ...commitParams(commits, now)],
    });
    return landedAmong(commits, rows);
  }

  settle(stepRunId: string, attemptId: string, result: string, now: number): Promise<boolean> {
    return this.changed(
      "settle",
      `UPDATE task_fences SET state = 'committed', result = $1, updated_at = $2
      WHERE step_run_id = $3 AND attempt_id = $4 AND state <> 'committed'`,
      [result, now, stepRunId, attemptId],
    );
  }

  async fencedRuns(): Promise<string[]> {
    await this.ready;
    const { rows } = await this.pool.query(`SELECT DISTINCT run_id FROM task_fences`);
    return rows.map((r: Row) => String(r.run_id));
  }

  async removeRunFences(runIds: string[], opts: RemoveFencesOptions = {}): Promise<number> {
    if (!runIds.length) return 0;
    await this.ready;
    if (opts.dryRun) {
      const { rows } = await this.pool.query(
        `SELECT count(*) AS n FROM task_fences f WHERE f.run_id = ANY($1::text[])
        AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = f.run_id AND r.status IN ${FENCES_IN_USE_SQL})`,
        [runIds],
      );
      return Number(rows[0].n);
    }
    const limit = opts.rowsPerStatement ?? FENCE_ROWS_PER_STATEMENT;
    let removed = 0;
    for (let from = 0; from < runIds.length; from += RUNS_PER_TRANSACTION) {
      const group = runIds.slice(from, from + RUNS_PER_TRANSACTION);
      for (;;) {
        const chunk = await inTransaction(this.pool, (c) => removeChunk(c, group, limit));
        removed += chunk;
        if (chunk < limit) break;
      }
    }
    return removed;
  }

  async close(): Promise<void> {}
}

/** Runs whose rows one removal transaction locks (see removeChunk). */
const RUNS_PER_TRANSACTION = 1000;

/**
 * Removes at most `limit` fences of `runIds`, in the caller's transaction. The runs' rows are locked first
 * (FOR SHARE, which a status update's row lock conflicts with): a resume that set a run running and has not
 * committed is waited for and its new status read, and a resume that comes later waits until these fences
 * are gone, so it reads none rather than reattaching to rows about to vanish. A run no longer recorded has
 * no row to lock and loses its fences.
 */
async function removeChunk(c: Queryable, runIds: string[], limit: number): Promise<number> {
  const { rows } = await c.query(
    `SELECT id, status FROM runs WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`, // no filter: see above
    [runIds],
  );
  const inUse = new Set(
    rows.filter((r: Row) => FENCE_RUN_STATUSES_IN_USE.includes(String(r.status))).map((r: Row) => String(r.id)),
  );
  const removable = runIds.filter((id) => !inUse.has(id));
  if (!removable.length) return 0;
  // A row a worker is updating right now is left for the next gc.
  const { rowCount } = await c.query(
    `DELETE FROM task_fences WHERE step_run_id IN (SELECT step_run_id FROM task_fences
      WHERE run_id = ANY($1::text[]) LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [removable, limit],
  );
  return rowCount ?? 0;
}

// Each row is matched on its own pickup's conditions; a claim is unique, so a row matches once at most.
function commitSql(first: number): string {
  const [s, a, c, r, now] = [0, 1, 2, 3, 4].map((i) => `$${first + i}`);
  return `UPDATE task_fences f SET state = 'committed', result = c.result, updated_at = ${now}
      FROM unnest(${s}::text[], ${a}::text[], ${c}::text[], ${r}::text[]) AS c(step_run_id, attempt_id, claim, result)
      WHERE f.step_run_id = c.step_run_id AND f.attempt_id = c.attempt_id AND f.claim = c.claim
        AND f.state = 'running'
      RETURNING f.step_run_id, f.attempt_id, f.claim`;
}

function commitParams(commits: FenceCommit[], now: number): unknown[] {
  return [
    commits.map((c) => c.stepRunId),
    commits.map((c) => c.attemptId),
    commits.map((c) => c.claim),
    commits.map((c) => c.result),
    now,
  ];
}

/** Which of `commits`, in order, the statement's returned rows say landed. */
function landedAmong(commits: FenceCommit[], rows: Row[]): boolean[] {
  const key = (stepRunId: unknown, attemptId: unknown, claim: unknown) =>
    `${stepRunId}\u0000${attemptId}\u0000${claim}`;
  const landed = new Set(rows.map((r: Row) => key(r.step_run_id, r.attempt_id, r.claim)));
  return commits.map((c) => landed.has(key(c.stepRunId, c.attemptId, c.claim)));
}
