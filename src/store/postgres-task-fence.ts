/** The task fence in the PostgreSQL metadata database, on the metadata store's pool (see task-fence.ts). */
import type pg from "pg";
import type { PostgresMetadataStore } from "./postgres-metadata-store.js";
import { inTransaction, type Row } from "./postgres-rows.js";
import { rowToFence, taskFenceMigrations, type OpenFence, type TaskFence, type TaskFenceStore } from "./task-fence.js";

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
      await c.query(
        `CREATE TABLE IF NOT EXISTS task_fence_migrations (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION)`,
      );
      const done = new Set(
        (await c.query(`SELECT version FROM task_fence_migrations`)).rows.map((r: Row) => r.version),
      );
      for (const [i, sql] of taskFenceMigrations("DOUBLE PRECISION").entries()) {
        if (done.has(i + 1)) continue;
        await c.query(sql);
        await c.query(`INSERT INTO task_fence_migrations VALUES ($1, $2)`, [i + 1, Date.now()]);
      }
    });
  }

  private async changed(sql: string, args: unknown[]): Promise<boolean> {
    await this.ready;
    return (await this.pool.query(sql, args)).rowCount === 1;
  }

  async open(f: OpenFence, now: number): Promise<void> {
    await this.changed(
      `INSERT INTO task_fences (step_run_id, run_id, attempt_id, job_id, queue, task, state, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7)
      ON CONFLICT (step_run_id) DO UPDATE SET run_id = EXCLUDED.run_id, attempt_id = EXCLUDED.attempt_id,
        job_id = EXCLUDED.job_id, queue = EXCLUDED.queue, task = EXCLUDED.task, state = 'queued', claim = NULL,
        worker = NULL, result = NULL, heartbeat_at = NULL, updated_at = EXCLUDED.updated_at`,
      [f.stepRunId, f.runId, f.attemptId, f.jobId, f.queue, f.task, now],
    );
  }

  async get(stepRunId: string): Promise<TaskFence | undefined> {
    await this.ready;
    const { rows } = await this.pool.query(`SELECT * FROM task_fences WHERE step_run_id = $1`, [stepRunId]);
    return rows[0] ? rowToFence(rows[0]) : undefined;
  }

  async listRun(runId: string): Promise<TaskFence[]> {
    await this.ready;
    const { rows } = await this.pool.query(`SELECT * FROM task_fences WHERE run_id = $1 ORDER BY step_run_id`, [runId]);
    return rows.map(rowToFence);
  }

  // Each conditional UPDATE takes the row lock: of two racing workers, the second sees the first's change.
  claim(stepRunId: string, attemptId: string, claim: string, worker: string, now: number): Promise<boolean> {
    return this.changed(
      `UPDATE task_fences SET state = 'running', claim = $1, worker = $2, heartbeat_at = $3, updated_at = $3
      WHERE step_run_id = $4 AND attempt_id = $5 AND state <> 'committed'`,
      [claim, worker, now, stepRunId, attemptId],
    );
  }

  heartbeat(stepRunId: string, claim: string, now: number): Promise<boolean> {
    return this.changed(
      `UPDATE task_fences SET heartbeat_at = $1 WHERE step_run_id = $2 AND claim = $3 AND state = 'running'`,
      [now, stepRunId, claim],
    );
  }

  commit(stepRunId: string, attemptId: string, claim: string, result: string, now: number): Promise<boolean> {
    return this.changed(
      `UPDATE task_fences SET state = 'committed', result = $1, updated_at = $2
      WHERE step_run_id = $3 AND attempt_id = $4 AND claim = $5 AND state = 'running'`,
      [result, now, stepRunId, attemptId, claim],
    );
  }

  settle(stepRunId: string, attemptId: string, result: string, now: number): Promise<boolean> {
    return this.changed(
      `UPDATE task_fences SET state = 'committed', result = $1, updated_at = $2
      WHERE step_run_id = $3 AND attempt_id = $4 AND state <> 'committed'`,
      [result, now, stepRunId, attemptId],
    );
  }

  async close(): Promise<void> {}
}
