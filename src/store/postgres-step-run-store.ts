/**
 * Step runs, attempts, logs and metrics on PostgreSQL. Every write is one statement (see
 * postgres-record-batch.ts): no transaction is held open across a round trip.
 */
import type pg from "pg";
import type {
  ArtifactRecord,
  AttemptRecord,
  LogLine,
  RecordBatch,
  StepRunCompletion,
  StepRunRecord,
  StepState,
} from "./metadata-records.js";
import type { StepRunStore } from "./metadata-store.js";
import type { MetricPoint, RunTag } from "./metric-records.js";
import { rowToMetric, rowToTag } from "./metric-rows.js";
import { writeBatchQuery } from "./postgres-record-batch.js";
import { type Row, rowToAttempt, rowToStepRun } from "./postgres-rows.js";
import { medianDurations } from "./step-durations.js";

const EMPTY: RecordBatch = { stepRuns: [], attempts: [], logs: [], completions: [] };

export class PostgresStepRunStore implements StepRunStore {
  constructor(private readonly pool: pg.Pool) {}

  private async rows(sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, args)).rows;
  }

  async writeBatch(batch: RecordBatch): Promise<void> {
    const query = writeBatchQuery(batch);
    if (query) await this.pool.query(query);
  }

  /** Artifact records alone, through the same statement (they are part of a completion's batch). */
  async writeArtifactRows(artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>): Promise<void> {
    const query = writeBatchQuery(EMPTY, artifacts);
    if (query) await this.pool.query(query);
  }

  async saveStepRuns(records: StepRunRecord[]): Promise<void> {
    if (records.length) await this.writeBatch({ ...EMPTY, stepRuns: records });
  }

  async completeStepRuns(completions: StepRunCompletion[]): Promise<void> {
    if (completions.length) await this.writeBatch({ ...EMPTY, completions });
  }

  async saveAttempt(a: AttemptRecord): Promise<void> {
    await this.writeBatch({ ...EMPTY, attempts: [a] });
  }

  async appendLogs(stepRunId: string, attempt: number, lines: LogLine[]): Promise<void> {
    if (lines.length) await this.writeBatch({ ...EMPTY, logs: [{ stepRunId, attempt, lines }] });
  }

  async appendMetrics(points: MetricPoint[], tags: RunTag[] = []): Promise<void> {
    if (points.length || tags.length) await this.writeBatch({ ...EMPTY, metrics: points, tags });
  }

  async listMetrics(stepRunIds: string[]): Promise<MetricPoint[]> {
    if (!stepRunIds.length) return [];
    const sql = `SELECT m.* FROM metrics m JOIN unnest($1::text[]) WITH ORDINALITY AS u(id, n) ON m.step_run_id = u.id
      ORDER BY u.n, m.seq`;
    return (await this.rows(sql, [stepRunIds])).map(rowToMetric);
  }

  async listTags(stepRunIds: string[]): Promise<RunTag[]> {
    if (!stepRunIds.length) return [];
    const sql = `SELECT t.* FROM run_tags t JOIN unnest($1::text[]) WITH ORDINALITY AS u(id, n) ON t.step_run_id = u.id
      ORDER BY u.n, t.seq`;
    return (await this.rows(sql, [stepRunIds])).map(rowToTag);
  }

  async listStepRuns(runId: string): Promise<StepRunRecord[]> {
    return (await this.rows(`SELECT * FROM step_runs WHERE run_id = $1 ORDER BY seq`, [runId])).map(rowToStepRun);
  }

  async listStepStates(runIds: string[]): Promise<StepState[]> {
    if (!runIds.length) return [];
    const sql = `SELECT run_id, step_id, status, cached, attempts, started_at, duration_ms FROM step_runs
      WHERE item_index = -1 AND run_id = ANY($1) ORDER BY seq`;
    return (await this.rows(sql, [runIds])).map((r) => ({
      runId: r.run_id,
      stepId: r.step_id,
      status: r.status,
      cached: r.cached === true,
      attempts: r.attempts,
      startedAt: r.started_at ?? undefined,
      durationMs: r.duration_ms ?? undefined,
    }));
  }

  async getStepRun(id: string): Promise<StepRunRecord | undefined> {
    const [row] = await this.rows(`SELECT * FROM step_runs WHERE id = $1`, [id]);
    return row ? rowToStepRun(row) : undefined;
  }

  async hasStepRun(id: string): Promise<boolean> {
    return (await this.rows(`SELECT 1 FROM step_runs WHERE id = $1`, [id])).length > 0;
  }

  async hasStepResults(): Promise<boolean> {
    return (await this.rows(`SELECT 1 FROM step_runs WHERE status = 'succeeded' LIMIT 1`)).length > 0;
  }

  async findByCacheKey(cacheKey: string): Promise<StepRunRecord | undefined> {
    // NULLS LAST: PostgreSQL sorts NULL first in DESC order, SQLite last.
    const [row] = await this.rows(
      `SELECT s.* FROM step_runs s WHERE s.cache_key = $1 AND s.status = 'succeeded'
      AND (s.output_digest IS NULL OR EXISTS (SELECT 1 FROM artifacts a WHERE a.digest = s.output_digest))
      ORDER BY s.finished_at DESC NULLS LAST LIMIT 1`,
      [cacheKey],
    );
    return row ? rowToStepRun(row) : undefined;
  }

  async previousStepRun(
    pipeline: string,
    stepId: string,
    itemIndex: number,
    before: number,
    excludeRunId: string,
  ): Promise<StepRunRecord | undefined> {
    const [row] = await this.rows(
      `SELECT s.* FROM step_runs s JOIN runs r ON r.id = s.run_id
      WHERE r.pipeline = $1 AND s.step_id = $2 AND s.item_index = $3 AND r.created_at <= $4 AND s.run_id <> $5
        AND s.status IN ('succeeded', 'failed') AND s.components IS NOT NULL
      ORDER BY r.created_at DESC, s.seq DESC LIMIT 1`,
      [pipeline, stepId, itemIndex, before, excludeRunId],
    );
    return row ? rowToStepRun(row) : undefined;
  }

  async stepDurations(pipeline: string): Promise<Map<string, number>> {
    const rows = await this.rows(
      `SELECT s.step_id, s.duration_ms AS d FROM step_runs s JOIN runs r ON r.id = s.run_id
      WHERE r.pipeline = $1 AND s.status = 'succeeded' AND NOT s.cached AND s.item_index = -1
      ORDER BY s.finished_at DESC NULLS LAST LIMIT 5000`,
      [pipeline],
    );
    return medianDurations(rows as Array<{ step_id: string; d: number }>);
  }

  async listAttempts(stepRunId: string): Promise<AttemptRecord[]> {
    const rows = await this.rows(`SELECT * FROM attempts WHERE step_run_id = $1 ORDER BY attempt`, [stepRunId]);
    return rows.map(rowToAttempt);
  }

  async getLogs(stepRunId: string, attempt?: number): Promise<Array<LogLine & { attempt: number }>> {
    const columns = `SELECT attempt, ts, stream, line FROM logs WHERE step_run_id = $1`;
    const rows =
      attempt === undefined
        ? await this.rows(`${columns} ORDER BY seq`, [stepRunId])
        : await this.rows(`${columns} AND attempt = $2 ORDER BY seq`, [stepRunId, attempt]);
    return rows.map((r) => ({ attempt: r.attempt, ts: r.ts, stream: r.stream, line: r.line }));
  }
}
