/**
 * Step runs, attempts, logs and metrics on SQLite. Every write is one synchronous transaction:
 * nothing is awaited while it holds the write lock, so a killed process leaves either the whole
 * record or none of it, and no other writer waits on this one's I/O.
 */
import type Database from "better-sqlite3";
import type {
  AttemptRecord,
  LogLine,
  RecordBatch,
  StepRunCompletion,
  StepRunRecord,
  StepState,
} from "./metadata-records.js";
import type { StepRunStore } from "./metadata-store.js";
import { METRIC_COLUMNS, metricValues, rowToMetric, rowToTag, TAG_COLUMNS, tagValues } from "./metric-rows.js";
import type { MetricPoint, RunTag } from "./metric-records.js";
import type { SqliteArtifactRecordStore } from "./sqlite-artifact-record-store.js";
import { medianDurations } from "./step-durations.js";
import { attemptParams, marks, opt, parse, type Row, rowToStepRun, stepRunParams } from "./sqlite-metadata-rows.js";

const STEP_RUN_COLUMNS = `id, run_id, step_id, item_index, status, cache_key, components, cached, cached_from, attempts,
  started_at, finished_at, duration_ms, output_digest, error, reason`;

export class SqliteStepRunStore implements StepRunStore {
  private readonly stmts: Record<string, Database.Statement>;

  constructor(
    private readonly db: Database.Database,
    private readonly artifactRecords: SqliteArtifactRecordStore,
  ) {
    const p = (sql: string) => db.prepare(sql);
    const updates = STEP_RUN_COLUMNS.split(",")
      .slice(1)
      .map((c) => `${c.trim()} = excluded.${c.trim()}`);
    this.stmts = {
      // An upsert (not INSERT OR REPLACE) keeps the row's rowid, so a run's steps list in the
      // order they were first recorded rather than the order they last changed.
      saveStepRun: p(`INSERT INTO step_runs (${STEP_RUN_COLUMNS}) VALUES (${marks(16)})
        ON CONFLICT(id) DO UPDATE SET ${updates.join(", ")}`),
      listStepRuns: p(`SELECT * FROM step_runs WHERE run_id = ? ORDER BY rowid`),
      getStepRun: p(`SELECT * FROM step_runs WHERE id = ?`),
      hasStepRun: p(`SELECT 1 FROM step_runs WHERE id = ?`),
      anySucceeded: p(`SELECT 1 FROM step_runs INDEXED BY step_runs_key WHERE status = 'succeeded' LIMIT 1`),
      findByKey: p(`SELECT s.* FROM step_runs s WHERE s.cache_key = ? AND s.status = 'succeeded'
        AND (s.output_digest IS NULL OR EXISTS (SELECT 1 FROM artifacts a WHERE a.digest = s.output_digest))
        ORDER BY s.finished_at DESC LIMIT 1`),
      previous: p(`SELECT s.* FROM step_runs s JOIN runs r ON r.id = s.run_id
        WHERE r.pipeline = ? AND s.step_id = ? AND s.item_index = ? AND r.created_at <= ? AND s.run_id <> ?
          AND s.status IN ('succeeded', 'failed') AND s.components IS NOT NULL
        ORDER BY r.created_at DESC LIMIT 1`),
      durations: p(`SELECT s.step_id AS step_id, s.duration_ms AS d
        FROM step_runs s INDEXED BY step_runs_durations JOIN runs r ON r.id = s.run_id
        WHERE r.pipeline = ? AND s.status = 'succeeded' AND s.cached = 0 AND s.item_index = -1
        ORDER BY s.finished_at DESC LIMIT 5000`),
      // Positional parameters: binding by name cost a microsecond more per row.
      saveAttempt: p(`INSERT OR REPLACE INTO attempts (step_run_id, attempt, status, started_at, finished_at, error)
        VALUES (?, ?, ?, ?, ?, ?)`),
      listAttempts: p(`SELECT * FROM attempts WHERE step_run_id = ? ORDER BY attempt`),
      appendLog: p(`INSERT INTO logs (step_run_id, attempt, ts, stream, line) VALUES (?, ?, ?, ?, ?)`),
      getLogs: p(`SELECT * FROM logs WHERE step_run_id = ? ORDER BY rowid`),
      getLogsAttempt: p(`SELECT * FROM logs WHERE step_run_id = ? AND attempt = ? ORDER BY rowid`),
      insertMetric: p(`INSERT INTO metrics (${METRIC_COLUMNS.join(", ")}) VALUES (${marks(METRIC_COLUMNS.length)})`),
      insertTag: p(`INSERT INTO run_tags (${TAG_COLUMNS.join(", ")}) VALUES (${marks(TAG_COLUMNS.length)})`),
      listMetrics: p(`SELECT * FROM metrics WHERE step_run_id = ? ORDER BY rowid`),
      listTags: p(`SELECT * FROM run_tags WHERE step_run_id = ? ORDER BY rowid`),
    };
  }

  async saveStepRuns(records: StepRunRecord[]): Promise<void> {
    this.db.transaction(() => {
      for (const r of records) this.stmts.saveStepRun.run(stepRunParams(r));
    })();
  }

  async completeStepRuns(completions: StepRunCompletion[]): Promise<void> {
    this.db.transaction(() => this.writeCompletions(completions))();
  }

  async writeBatch(batch: RecordBatch): Promise<void> {
    this.db.transaction(() => {
      for (const r of batch.stepRuns) this.stmts.saveStepRun.run(stepRunParams(r));
      for (const a of batch.attempts) this.stmts.saveAttempt.run(attemptParams(a));
      for (const l of batch.logs) this.writeLogs(l.stepRunId, l.attempt, l.lines);
      this.artifactRecords.writeArtifactRows(batch.artifacts ?? []);
      this.writeCompletions(batch.completions);
      this.writeMetrics(batch.metrics ?? [], batch.tags ?? []);
    })();
  }

  private writeCompletions(completions: StepRunCompletion[]): void {
    for (const c of completions) {
      this.artifactRecords.writeArtifactRows(c.artifacts);
      this.stmts.saveStepRun.run(stepRunParams(c.stepRun));
      this.artifactRecords.writeLineageRows(c.lineage);
    }
  }

  private writeLogs(stepRunId: string, attempt: number, lines: LogLine[]): void {
    for (const line of lines) this.stmts.appendLog.run(stepRunId, attempt, line.ts, line.stream, line.line);
  }

  private writeMetrics(points: MetricPoint[], tags: RunTag[]): void {
    for (const m of points) this.stmts.insertMetric.run(...metricValues(m));
    for (const t of tags) this.stmts.insertTag.run(...tagValues(t));
  }

  async appendMetrics(points: MetricPoint[], tags: RunTag[] = []): Promise<void> {
    if (points.length || tags.length) this.db.transaction(() => this.writeMetrics(points, tags))();
  }

  async listMetrics(stepRunIds: string[]): Promise<MetricPoint[]> {
    return stepRunIds.flatMap((id) => (this.stmts.listMetrics.all(id) as Row[]).map(rowToMetric));
  }

  async listTags(stepRunIds: string[]): Promise<RunTag[]> {
    return stepRunIds.flatMap((id) => (this.stmts.listTags.all(id) as Row[]).map(rowToTag));
  }

  async listStepRuns(runId: string): Promise<StepRunRecord[]> {
    return (this.stmts.listStepRuns.all(runId) as Row[]).map(rowToStepRun);
  }

  async listStepStates(runIds: string[]): Promise<StepState[]> {
    if (!runIds.length) return [];
    const sql = `SELECT run_id, step_id, status, cached, attempts, started_at, duration_ms FROM step_runs
      WHERE item_index = -1 AND run_id IN (${marks(runIds.length)}) ORDER BY rowid`;
    return (this.db.prepare(sql).all(...runIds) as Row[]).map((r) => ({
      runId: r.run_id,
      stepId: r.step_id,
      status: r.status,
      cached: r.cached === 1,
      attempts: r.attempts,
      startedAt: opt(r.started_at),
      durationMs: opt(r.duration_ms),
    }));
  }

  async hasStepRun(id: string): Promise<boolean> {
    return this.stmts.hasStepRun.get(id) !== undefined;
  }

  async getStepRun(id: string): Promise<StepRunRecord | undefined> {
    const row = this.stmts.getStepRun.get(id) as Row | undefined;
    return row ? rowToStepRun(row) : undefined;
  }

  async hasStepResults(): Promise<boolean> {
    return this.stmts.anySucceeded.get() !== undefined;
  }

  async findByCacheKey(cacheKey: string): Promise<StepRunRecord | undefined> {
    const row = this.stmts.findByKey.get(cacheKey) as Row | undefined;
    return row ? rowToStepRun(row) : undefined;
  }

  async previousStepRun(
    pipeline: string,
    stepId: string,
    itemIndex: number,
    before: number,
    excludeRunId: string,
  ): Promise<StepRunRecord | undefined> {
    const row = this.stmts.previous.get(pipeline, stepId, itemIndex, before, excludeRunId) as Row | undefined;
    return row ? rowToStepRun(row) : undefined;
  }

  async stepDurations(pipeline: string): Promise<Map<string, number>> {
    return medianDurations(this.stmts.durations.all(pipeline) as Array<{ step_id: string; d: number }>);
  }

  async saveAttempt(a: AttemptRecord): Promise<void> {
    this.stmts.saveAttempt.run(attemptParams(a));
  }

  async listAttempts(stepRunId: string): Promise<AttemptRecord[]> {
    return (this.stmts.listAttempts.all(stepRunId) as Row[]).map((r) => ({
      stepRunId: r.step_run_id,
      attempt: r.attempt,
      status: r.status,
      startedAt: r.started_at,
      finishedAt: opt(r.finished_at),
      error: parse(r.error),
    }));
  }

  async appendLogs(stepRunId: string, attempt: number, lines: LogLine[]): Promise<void> {
    if (lines.length) this.db.transaction(() => this.writeLogs(stepRunId, attempt, lines))();
  }

  async getLogs(stepRunId: string, attempt?: number): Promise<Array<LogLine & { attempt: number }>> {
    const rows = (
      attempt === undefined ? this.stmts.getLogs.all(stepRunId) : this.stmts.getLogsAttempt.all(stepRunId, attempt)
    ) as Row[];
    return rows.map((r) => ({ attempt: r.attempt, ts: r.ts, stream: r.stream, line: r.line }));
  }
}
