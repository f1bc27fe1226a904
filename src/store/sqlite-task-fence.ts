/** The task fence in the SQLite metadata database (see task-fence.ts). */
import type Database from "better-sqlite3";
import type { SqliteMetadataStore } from "./sqlite-metadata-store.js";
import {
  type FenceClaim,
  type FenceCommit,
  FENCE_ROWS_PER_STATEMENT,
  FENCES_IN_USE_SQL,
  firstPerStepRun,
  IN_FLIGHT_FENCES_SQL,
  IN_FLIGHT_JOBS_SQL,
  rowsToJobs,
  type FencedJob,
  type FenceRow,
  type RemoveFencesOptions,
  rowToFence,
  taskFenceMigrations,
  type OpenFence,
  type TaskFence,
  type TaskFenceStore,
} from "./task-fence.js";

export class SqliteTaskFenceStore implements TaskFenceStore {
  private readonly db: Database.Database;

  constructor(metadata: SqliteMetadataStore) {
    this.db = metadata.database;
    this.db.exec(`CREATE TABLE IF NOT EXISTS task_fence_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)`);
    taskFenceMigrations("sqlite").forEach((sql, i) => {
      this.db
        .transaction(() => {
          if (this.db.prepare(`SELECT 1 FROM task_fence_migrations WHERE version = ?`).get(i + 1)) return;
          this.db.exec(sql);
          this.db.prepare(`INSERT INTO task_fence_migrations VALUES (?, ?)`).run(i + 1, Date.now());
        })
        .immediate();
    });
  }

  async open(f: OpenFence, now: number): Promise<void> {
    await this.openMany([f], now);
  }

  async openMany(fences: OpenFence[], now: number): Promise<void> {
    const insert = this.db.prepare(
      `INSERT INTO task_fences (step_run_id, run_id, attempt_id, job_id, queue, task, state, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)
        ON CONFLICT (step_run_id) DO UPDATE SET run_id = excluded.run_id, attempt_id = excluded.attempt_id,
          job_id = excluded.job_id, queue = excluded.queue, task = excluded.task, state = 'queued', claim = NULL,
          worker = NULL, result = NULL, heartbeat_at = NULL, updated_at = excluded.updated_at`,
    );
    this.db.transaction(() => {
      for (const f of fences) insert.run(f.stepRunId, f.runId, f.attemptId, f.jobId, f.queue, f.task, now);
    })();
  }

  async get(stepRunId: string): Promise<TaskFence | undefined> {
    const row = this.db.prepare(`SELECT * FROM task_fences WHERE step_run_id = ?`).get(stepRunId);
    return row ? rowToFence(row as Record<string, unknown>) : undefined;
  }

  async committedAmong(stepRunIds: string[]): Promise<TaskFence[]> {
    const one = this.db.prepare(`SELECT * FROM task_fences WHERE step_run_id = ? AND state = 'committed'`);
    return stepRunIds.flatMap((id) => {
      const row = one.get(id);
      return row ? [rowToFence(row as Record<string, unknown>)] : [];
    });
  }

  async listRun(runId: string): Promise<TaskFence[]> {
    const rows = this.db.prepare(`SELECT * FROM task_fences WHERE run_id = ? ORDER BY rowid`).all(runId);
    return rows.map((r) => rowToFence(r as Record<string, unknown>));
  }

  async listQueues(): Promise<string[]> {
    const rows = this.db.prepare(`SELECT DISTINCT f.queue FROM ${IN_FLIGHT_FENCES_SQL} ORDER BY f.queue`).all();
    return rows.map((r) => String((r as { queue: string }).queue));
  }

  async listRunning(queues: string[]): Promise<TaskFence[]> {
    const rows = this.db
      .prepare(`SELECT f.* FROM ${IN_FLIGHT_FENCES_SQL} AND f.queue IN (SELECT value FROM json_each(?))
        AND f.state = 'running' ORDER BY f.updated_at`)
      .all(JSON.stringify(queues));
    return rows.map((r) => rowToFence(r as Record<string, unknown>));
  }

  async fencedQueues(): Promise<string[]> {
    const rows = this.db.prepare(`SELECT DISTINCT queue FROM task_fences ORDER BY queue`).all();
    return rows.map((r) => String((r as { queue: string }).queue));
  }

  async inFlightJobs(): Promise<FencedJob[]> {
    return rowsToJobs(this.db.prepare(IN_FLIGHT_JOBS_SQL).all() as FenceRow[]);
  }

  async claim(stepRunId: string, attemptId: string, claim: string, worker: string, now: number): Promise<boolean> {
    const sql = `UPDATE task_fences SET state = 'running', claim = ?, worker = ?, heartbeat_at = ?, updated_at = ?
      WHERE step_run_id = ? AND attempt_id = ? AND state <> 'committed'`;
    return this.db.prepare(sql).run(claim, worker, now, now, stepRunId, attemptId).changes === 1;
  }

  async claimMany(all: FenceClaim[], now: number): Promise<boolean[]> {
    const claims = new Set(firstPerStepRun(all));
    const update = this.db.prepare(`UPDATE task_fences SET state = 'running', claim = ?, worker = ?, heartbeat_at = ?,
      updated_at = ? WHERE step_run_id = ? AND attempt_id = ? AND state <> 'committed'`);
    return this.db.transaction(() =>
      all.map((c) => claims.has(c) && update.run(c.claim, c.worker, now, now, c.stepRunId, c.attemptId).changes === 1),
    )();
  }

  async heartbeat(stepRunId: string, claim: string, now: number): Promise<boolean> {
    const sql = `UPDATE task_fences SET heartbeat_at = ? WHERE step_run_id = ? AND claim = ? AND state = 'running'`;
    return this.db.prepare(sql).run(now, stepRunId, claim).changes === 1;
  }

  async commit(stepRunId: string, attemptId: string, claim: string, result: string, now: number): Promise<boolean> {
    return (await this.commitMany([{ stepRunId, attemptId, claim, result }], now))[0];
  }

  async commitMany(commits: FenceCommit[], now: number): Promise<boolean[]> {
    const update = this.db.prepare(`UPDATE task_fences SET state = 'committed', result = ?, updated_at = ?
      WHERE step_run_id = ? AND attempt_id = ? AND claim = ? AND state = 'running'`);
    return this.db.transaction(() =>
      commits.map((c) => update.run(c.result, now, c.stepRunId, c.attemptId, c.claim).changes === 1),
    )();
  }

  async settle(stepRunId: string, attemptId: string, result: string, now: number): Promise<boolean> {
    const sql = `UPDATE task_fences SET state = 'committed', result = ?, updated_at = ?
      WHERE step_run_id = ? AND attempt_id = ? AND state <> 'committed'`;
    return this.db.prepare(sql).run(result, now, stepRunId, attemptId).changes === 1;
  }

  async fencedRuns(): Promise<string[]> {
    const rows = this.db.prepare(`SELECT DISTINCT run_id FROM task_fences`).all() as { run_id: string }[];
    return rows.map((r) => r.run_id);
  }

  async removeRunFences(runIds: string[], opts: RemoveFencesOptions = {}): Promise<number> {
    if (!runIds.length) return 0;
    // The runs table shares this database: a run resumed since the caller read it keeps its fences. The status
    // check is inside each DELETE, one write transaction, and SQLite has one writer: a resume's status update
    // commits before the statement (which then sees it) or waits until after (its listing then sees no fences).
    const matching = `FROM task_fences f WHERE f.run_id IN (SELECT value FROM json_each(?))
      AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = f.run_id AND r.status IN ${FENCES_IN_USE_SQL})`;
    const ids = JSON.stringify(runIds);
    if (opts.dryRun) return (this.db.prepare(`SELECT count(*) AS n ${matching}`).get(ids) as { n: number }).n;
    const limit = opts.rowsPerStatement ?? FENCE_ROWS_PER_STATEMENT;
    const chunk = this.db.prepare(`DELETE FROM task_fences WHERE rowid IN (SELECT f.rowid ${matching} LIMIT ?)`);
    let removed = 0;
    for (;;) {
      const { changes } = chunk.run(ids, limit);
      removed += changes;
      if (changes < limit) return removed;
      // Between statements other writers (workers, orchestrators) take the database's lock.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {}
}
