/**
 * SQLite implementation of the metadata store (better-sqlite3, WAL). Each public method is one
 * transaction, so a killed process leaves either the whole record or none of it.
 */
import type Database from "better-sqlite3";
import { createRequire } from "node:module";
import type {
  ArtifactRecord,
  AttemptRecord,
  LineageEdge,
  LogLine,
  MetadataStore,
  MetricPoint,
  RecordBatch,
  RunLease,
  RunFilter,
  RunRecord,
  RunTag,
  StatEntry,
  StepRunCompletion,
  StepRunRecord,
  StepState,
} from "./metadata-store.js";
import { METRIC_COLUMNS, metricValues, rowToMetric, rowToTag, TAG_COLUMNS, tagValues } from "./metric-rows.js";
import { noteCleanClose } from "./sqlite-wal-check.js";
import { SQLITE_MIGRATIONS } from "./sqlite-migrations.js";
import { guardCorruption, openSqliteDatabase, type SqliteOpenOptions } from "./sqlite-open.js";

type Row = Record<string, any>;

let addonPath: string | null | undefined;

/**
 * The path of better-sqlite3's compiled addon, resolved once. Without it better-sqlite3 searches
 * about a dozen candidate paths through the `bindings` package on first use, which cost every
 * CLI command a few milliseconds.
 */
export function sqliteNativeBinding(): string | undefined {
  if (addonPath === undefined) {
    try {
      addonPath = createRequire(import.meta.url).resolve("better-sqlite3/build/Release/better_sqlite3.node");
    } catch {
      addonPath = null;
    }
  }
  return addonPath ?? undefined;
}
const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
const parse = <T>(v: unknown): T | undefined =>
  v === null || v === undefined ? undefined : (JSON.parse(String(v)) as T);
const marks = (n: number) => Array.from({ length: n }, () => "?").join(", ");
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export class SqliteMetadataStore implements MetadataStore {
  readonly backend = "sqlite";
  private readonly db: Database.Database;
  private readonly stmts: Record<string, Database.Statement>;

  /** Opens or creates `file`; raises METADATA_CORRUPT when it is damaged (see sqlite-open.ts). */
  constructor(
    readonly file: string,
    opts: Omit<SqliteOpenOptions, "nativeBinding"> = {},
  ) {
    this.db = openSqliteDatabase(file, { ...opts, nativeBinding: sqliteNativeBinding() });
    guardCorruption(file, () => this.migrate());
    const p = (sql: string) => this.db.prepare(sql);
    this.stmts = {
      upsertPipeline: p(`INSERT INTO pipelines (name, module_path, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(name) DO UPDATE SET module_path = excluded.module_path, updated_at = excluded.updated_at`),
      insertRun: p(`INSERT INTO runs (id, pipeline, module_path, params, profile, trigger, status, code_version,
          created_at, started_at, finished_at, error, options, pid)
        VALUES (@id, @pipeline, @module_path, @params, @profile, @trigger, @status, @code_version, @created_at,
          @started_at, @finished_at, @error, @options, @pid)`),
      getRun: p(`SELECT * FROM runs WHERE id = ?`),
      getRunPrefix: p(`SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY created_at DESC LIMIT 2`),
      claimLease: p(`INSERT INTO run_leases (run_id, pid, host, boot_id, start_ticks, token, acquired_at, heartbeat_at)
        VALUES (@run_id, @pid, @host, @boot_id, @start_ticks, @token, @acquired_at, @heartbeat_at)
        ON CONFLICT(run_id) DO UPDATE SET pid = excluded.pid, host = excluded.host, boot_id = excluded.boot_id,
          start_ticks = excluded.start_ticks, token = excluded.token, acquired_at = excluded.acquired_at,
          heartbeat_at = excluded.heartbeat_at
        WHERE run_leases.token = @replacing`),
      getLease: p(`SELECT * FROM run_leases WHERE run_id = ?`),
      renewLease: p(`UPDATE run_leases SET heartbeat_at = ? WHERE run_id = ? AND token = ?`),
      releaseLease: p(`DELETE FROM run_leases WHERE run_id = ? AND token = ?`),
      markInterrupted: p(`UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ? AND status = 'running'
        AND EXISTS (SELECT 1 FROM run_leases WHERE run_id = ? AND token = ?)`),
      // An upsert (not INSERT OR REPLACE) keeps the row's rowid, so a run's steps list in the
      // order they were first recorded rather than the order they last changed.
      saveStepRun: p(`INSERT INTO step_runs (id, run_id, step_id, item_index, status, cache_key, components, cached,
          cached_from, attempts, started_at, finished_at, duration_ms, output_digest, error, reason)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET run_id = excluded.run_id, step_id = excluded.step_id,
          item_index = excluded.item_index, status = excluded.status, cache_key = excluded.cache_key,
            components = excluded.components, cached = excluded.cached, cached_from = excluded.cached_from,
              attempts = excluded.attempts, started_at = excluded.started_at, finished_at = excluded.finished_at, duration_ms = excluded.duration_ms, output_digest = excluded.output_digest, error = excluded.error, reason = excluded.reason`),
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
      durations: p(`SELECT s.step_id AS step_id, s.duration_ms AS d FROM step_runs s INDEXED BY step_runs_durations
          JOIN runs r ON r.id = s.run_id
        WHERE r.pipeline = ? AND s.status = 'succeeded' AND s.cached = 0 AND s.item_index = -1
        ORDER BY s.finished_at DESC LIMIT 5000`),
      // Positional parameters: binding by name cost a microsecond more per row.
      saveAttempt: p(
        `INSERT OR REPLACE INTO attempts (step_run_id, attempt, status, ` +
          `started_at, finished_at, error) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      listAttempts: p(`SELECT * FROM attempts WHERE step_run_id = ? ORDER BY attempt`),
      appendLog: p(`INSERT INTO logs (step_run_id, attempt, ts, stream, line) VALUES (?, ?, ?, ?, ?)`),
      getLogs: p(`SELECT * FROM logs WHERE step_run_id = ? ORDER BY rowid`),
      getLogsAttempt: p(`SELECT * FROM logs WHERE step_run_id = ? AND attempt = ? ORDER BY rowid`),
      putArtifact: p(`INSERT INTO artifacts (digest, kind, size, meta, created_at, inline) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(digest) DO UPDATE SET meta = CASE WHEN length(excluded.meta) > length(artifacts.meta)
          THEN excluded.meta ELSE artifacts.meta END`),
      getArtifact: p(
        `SELECT digest, kind, size, meta, created_at, inline IS NOT NULL AS is_inline FROM artifacts WHERE digest = ?`,
      ),
      getArtifactPrefix: p(
        `SELECT digest, kind, size, meta, created_at, ` +
          `inline IS NOT NULL AS is_inline FROM artifacts WHERE digest LIKE ? LIMIT 2`,
      ),
      getInline: p(`SELECT inline FROM artifacts WHERE digest = ?`),
      listArtifacts: p(`SELECT digest, kind, size, meta, created_at, inline IS NOT NULL AS is_inline FROM artifacts`),
      deleteArtifact: p(`DELETE FROM artifacts WHERE digest = ?`),
      insertLineage: p(
        `INSERT INTO lineage (step_run_id, run_id, step_id, digest, ` +
          `direction, name, reused) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      lineageOf: p(`SELECT * FROM lineage WHERE digest = ? ORDER BY rowid`),
      lineageOfStepRun: p(`SELECT * FROM lineage WHERE step_run_id = ? ORDER BY rowid`),
      getStat: p(`SELECT * FROM stat_index WHERE path = ?`),
      putStat: p(`INSERT OR REPLACE INTO stat_index (path, size, mtime_ms, ino, digest) VALUES (?, ?, ?, ?, ?)`),
      pins: p(`SELECT digest FROM pins`),
      insertMetric: p(`INSERT INTO metrics (${METRIC_COLUMNS.join(", ")}) VALUES (${marks(METRIC_COLUMNS.length)})`),
      insertTag: p(`INSERT INTO run_tags (${TAG_COLUMNS.join(", ")}) VALUES (${marks(TAG_COLUMNS.length)})`),
      listMetrics: p(`SELECT * FROM metrics WHERE step_run_id = ? ORDER BY rowid`),
      listTags: p(`SELECT * FROM run_tags WHERE step_run_id = ? ORDER BY rowid`),
    };
  }

  private migrate(): void {
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
    );
    const done = new Set(
      (this.db.prepare(`SELECT version FROM schema_migrations`).all() as Row[]).map((r) => r.version as number),
    );
    SQLITE_MIGRATIONS.forEach((sql, i) => {
      const version = i + 1;
      if (done.has(version)) return;
      this.db
        .transaction(() => {
          // Re-checked inside the write lock: another process may have migrated meanwhile.
          if (this.db.prepare(`SELECT 1 FROM schema_migrations WHERE version = ?`).get(version)) return;
          this.db.exec(sql);
          this.db.prepare(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`).run(version, Date.now());
        })
        .immediate();
    });
  }

  /** Runs a statement for other stores sharing this database (registry, daemon). */
  get database(): Database.Database {
    return this.db;
  }

  /** For a process that exits without closing (no checkpoint on its critical path): its log is whole. */
  noteCleanExit(): void {
    if (this.db.open && this.file !== ":memory:") noteCleanClose(`${this.file}-wal`);
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.db.close();
    if (this.file !== ":memory:") noteCleanClose(`${this.file}-wal`);
  }

  async upsertPipeline(name: string, modulePath: string): Promise<void> {
    this.stmts.upsertPipeline.run(name, modulePath, Date.now());
  }

  async listPipelines(): Promise<Array<{ name: string; modulePath: string; updatedAt: number }>> {
    const rows = this.db
      .prepare("SELECT name, module_path, updated_at FROM pipelines ORDER BY updated_at DESC")
      .all() as Row[];
    return rows.map((r) => ({
      name: String(r.name),
      modulePath: String(r.module_path),
      updatedAt: Number(r.updated_at),
    }));
  }

  async createRun(run: RunRecord): Promise<void> {
    this.stmts.insertRun.run(runToRow(run));
  }

  async updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    const row = runToRow({ ...(patch as RunRecord), id });
    // A key present with `undefined` clears the column (e.g. a resumed run's old error).
    const cols = Object.keys(row).filter((k) => k !== "id" && camel(k) in (patch as Row));
    if (!cols.length) return;
    this.db.prepare(`UPDATE runs SET ${cols.map((c) => `${c} = @${c}`).join(", ")} WHERE id = @id`).run(row);
  }

  async getRun(idOrPrefix: string): Promise<RunRecord | undefined> {
    const exact = this.stmts.getRun.get(idOrPrefix) as Row | undefined;
    if (exact) return rowToRun(exact);
    const rows = this.stmts.getRunPrefix.all(`${likeEscape(idOrPrefix)}%`) as Row[];
    return rows.length === 1 ? rowToRun(rows[0]) : undefined;
  }

  async claimRunLease(lease: RunLease, replacing?: string): Promise<RunLease> {
    // IMMEDIATE: the write lock is taken before the read, so two claimants never both win.
    return this.db
      .transaction(() => {
        this.stmts.claimLease.run({ ...leaseParams(lease), replacing: replacing ?? null });
        return rowToLease(this.stmts.getLease.get(lease.runId) as Row);
      })
      .immediate();
  }

  async getRunLease(runId: string): Promise<RunLease | undefined> {
    const row = this.stmts.getLease.get(runId) as Row | undefined;
    return row ? rowToLease(row) : undefined;
  }

  async renewRunLease(runId: string, token: string, now: number): Promise<boolean> {
    return this.stmts.renewLease.run(now, runId, token).changes === 1;
  }

  async releaseRunLease(runId: string, token: string): Promise<void> {
    this.stmts.releaseLease.run(runId, token);
  }

  async markRunInterrupted(runId: string, deadToken: string, finishedAt: number): Promise<boolean> {
    return this.stmts.markInterrupted.run(finishedAt, runId, runId, deadToken).changes === 1;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.pipeline) where.push("pipeline = ?"), args.push(filter.pipeline);
    if (filter.status) where.push("status = ?"), args.push(filter.status);
    if (filter.trigger) {
      // A kind ("schedule") matches its named triggers ("schedule:nightly"), not "scheduler".
      where.push("(trigger = ? OR substr(trigger, 1, ?) = ?)");
      args.push(filter.trigger, filter.trigger.length + 1, `${filter.trigger}:`);
    }
    if (filter.createdAtMost !== undefined) where.push("created_at <= ?"), args.push(filter.createdAtMost);
    const sql =
      `SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, ` +
      `rowid DESC LIMIT ${Math.max(1, filter.limit ?? 50)}`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(rowToRun);
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
    this.db.transaction(() => this.writeRows(batch))();
  }

  stageBatch(batch: RecordBatch): { commit(): void; rollback(): void } | undefined {
    if (this.db.inTransaction) return undefined;
    this.db.exec("BEGIN");
    try {
      this.writeRows(batch);
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
    const end = (sql: string) => () => {
      if (this.db.inTransaction) this.db.exec(sql);
    };
    return { commit: end("COMMIT"), rollback: end("ROLLBACK") };
  }

  private writeRows(batch: RecordBatch): void {
    for (const r of batch.stepRuns) this.stmts.saveStepRun.run(stepRunParams(r));
    for (const a of batch.attempts) this.stmts.saveAttempt.run(attemptParams(a));
    for (const l of batch.logs)
      for (const line of l.lines) this.stmts.appendLog.run(l.stepRunId, l.attempt, line.ts, line.stream, line.line);
    this.writeCompletions(batch.completions);
    this.writeMetrics(batch.metrics ?? [], batch.tags ?? []);
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

  private writeCompletions(completions: StepRunCompletion[]): void {
    for (const c of completions) {
      for (const a of c.artifacts) this.stmts.putArtifact.run(artifactParams(a.record, a.bytes));
      this.stmts.saveStepRun.run(stepRunParams(c.stepRun));
      for (const e of c.lineage)
        this.stmts.insertLineage.run(e.stepRunId, e.runId, e.stepId, e.digest, e.direction, e.name, e.reused ? 1 : 0);
    }
  }

  async listStepRuns(runId: string): Promise<StepRunRecord[]> {
    return (this.stmts.listStepRuns.all(runId) as Row[]).map(rowToStepRun);
  }

  async listStepStates(runIds: string[]): Promise<StepState[]> {
    if (!runIds.length) return [];
    const sql = `SELECT run_id, step_id, status, cached, attempts, started_at, duration_ms FROM step_runs
      WHERE item_index = -1 AND run_id IN (${runIds.map(() => "?").join(", ")}) ORDER BY rowid`;
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
    const byStep = new Map<string, number[]>();
    for (const r of this.stmts.durations.all(pipeline) as Row[]) {
      const list = byStep.get(r.step_id) ?? [];
      if (list.length < 5) list.push(r.d as number);
      byStep.set(r.step_id, list);
    }
    const out = new Map<string, number>();
    for (const [id, list] of byStep) out.set(id, list.sort((a, b) => a - b)[Math.floor(list.length / 2)]);
    return out;
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
    if (!lines.length) return;
    this.db.transaction(() => {
      for (const l of lines) this.stmts.appendLog.run(stepRunId, attempt, l.ts, l.stream, l.line);
    })();
  }

  async getLogs(stepRunId: string, attempt?: number): Promise<Array<LogLine & { attempt: number }>> {
    const rows = (
      attempt === undefined ? this.stmts.getLogs.all(stepRunId) : this.stmts.getLogsAttempt.all(stepRunId, attempt)
    ) as Row[];
    return rows.map((r) => ({ attempt: r.attempt, ts: r.ts, stream: r.stream, line: r.line }));
  }

  async putArtifacts(artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>): Promise<void> {
    this.db.transaction(() => {
      for (const a of artifacts) this.stmts.putArtifact.run(artifactParams(a.record, a.bytes));
    })();
  }

  async getArtifact(digestOrPrefix: string): Promise<ArtifactRecord | undefined> {
    const exact = this.stmts.getArtifact.get(digestOrPrefix) as Row | undefined;
    if (exact) return rowToArtifact(exact);
    if (!/^[0-9a-f]{4,63}$/.test(digestOrPrefix)) return undefined;
    const rows = this.stmts.getArtifactPrefix.all(`${digestOrPrefix}%`) as Row[];
    return rows.length === 1 ? rowToArtifact(rows[0]) : undefined;
  }

  async getInlineBytes(digest: string): Promise<Uint8Array | undefined> {
    const row = this.stmts.getInline.get(digest) as Row | undefined;
    return row?.inline ? new Uint8Array(row.inline as Buffer) : undefined;
  }

  async listArtifacts(): Promise<ArtifactRecord[]> {
    return (this.stmts.listArtifacts.all() as Row[]).map(rowToArtifact);
  }

  async deleteArtifacts(digests: string[]): Promise<void> {
    this.db.transaction(() => {
      for (const d of digests) this.stmts.deleteArtifact.run(d);
    })();
  }

  async lineageOf(digest: string): Promise<LineageEdge[]> {
    return (this.stmts.lineageOf.all(digest) as Row[]).map(rowToEdge);
  }

  async lineageOfStepRun(stepRunId: string): Promise<LineageEdge[]> {
    return (this.stmts.lineageOfStepRun.all(stepRunId) as Row[]).map(rowToEdge);
  }

  async digestsUsedByRuns(runIds: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const stmt = this.db.prepare(`SELECT DISTINCT digest FROM lineage WHERE run_id = ?`);
    for (const id of runIds) for (const r of stmt.all(id) as Row[]) out.add(r.digest);
    return out;
  }

  async pinnedDigests(): Promise<Set<string>> {
    return new Set((this.stmts.pins.all() as Row[]).map((r) => r.digest as string));
  }

  /** Keeps an artifact alive for gc on behalf of an owner (e.g. "model:flights@3"). */
  async pin(digest: string, owner: string): Promise<void> {
    this.db.prepare(`INSERT OR IGNORE INTO pins (digest, owner) VALUES (?, ?)`).run(digest, owner);
  }

  async deleteRuns(runIds: string[]): Promise<void> {
    this.db.transaction(() => {
      for (const id of runIds) {
        this.db.prepare(`DELETE FROM logs WHERE step_run_id IN (SELECT id FROM step_runs WHERE run_id = ?)`).run(id);
        this.db
          .prepare(`DELETE FROM attempts WHERE step_run_id IN (SELECT id FROM step_runs WHERE run_id = ?)`)
          .run(id);
        this.db.prepare(`DELETE FROM lineage WHERE run_id = ?`).run(id);
        this.db.prepare(`DELETE FROM metrics WHERE run_id = ?`).run(id);
        this.db.prepare(`DELETE FROM run_tags WHERE run_id = ?`).run(id);
        this.db.prepare(`DELETE FROM step_runs WHERE run_id = ?`).run(id);
        this.db.prepare(`DELETE FROM runs WHERE id = ?`).run(id);
        this.db.prepare(`DELETE FROM run_leases WHERE run_id = ?`).run(id);
      }
    })();
  }

  async getStat(path: string): Promise<StatEntry | undefined> {
    const r = this.stmts.getStat.get(path) as Row | undefined;
    return r ? { path: r.path, size: r.size, mtimeMs: r.mtime_ms, ino: r.ino, digest: r.digest } : undefined;
  }

  async putStat(e: StatEntry): Promise<void> {
    this.stmts.putStat.run(e.path, e.size, e.mtimeMs, e.ino, e.digest);
  }
}

/** A prefix matched literally: `%` and `_` in a run id are characters, not wildcards. */
function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function leaseParams(l: RunLease): Row {
  const o = l.owner;
  return {
    run_id: l.runId,
    pid: o.pid,
    host: o.host,
    boot_id: o.bootId,
    start_ticks: o.startTicks,
    token: l.token,
    acquired_at: l.acquiredAt,
    heartbeat_at: l.heartbeatAt,
  };
}

function rowToLease(r: Row): RunLease {
  const owner = { pid: r.pid, host: r.host, bootId: r.boot_id, startTicks: r.start_ticks };
  return { runId: r.run_id, owner, token: r.token, acquiredAt: r.acquired_at, heartbeatAt: r.heartbeat_at };
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function runToRow(r: RunRecord): Row {
  return {
    id: r.id,
    pipeline: r.pipeline,
    module_path: r.modulePath,
    params: json(r.params),
    profile: r.profile ?? null,
    trigger: r.trigger,
    status: r.status,
    code_version: r.codeVersion,
    created_at: r.createdAt,
    started_at: r.startedAt ?? null,
    finished_at: r.finishedAt ?? null,
    error: json(r.error),
    options: json(r.options),
    pid: r.pid ?? null,
  };
}

function rowToRun(r: Row): RunRecord {
  return {
    id: r.id,
    pipeline: r.pipeline,
    modulePath: r.module_path,
    params: parse(r.params) ?? {},
    profile: opt(r.profile),
    trigger: r.trigger,
    status: r.status,
    codeVersion: r.code_version,
    createdAt: r.created_at,
    startedAt: opt(r.started_at),
    finishedAt: opt(r.finished_at),
    error: parse(r.error),
    options: parse(r.options) ?? {},
    pid: opt(r.pid),
  };
}

/** Positional, in the column order of the insert: binding named parameters costs more per row. */
function stepRunParams(s: StepRunRecord): unknown[] {
  return [
    s.id,
    s.runId,
    s.stepId,
    s.itemIndex,
    s.status,
    s.cacheKey ?? null,
    json(s.components),
    s.cached ? 1 : 0,
    s.cachedFrom ?? null,
    s.attempts,
    s.startedAt ?? null,
    s.finishedAt ?? null,
    s.durationMs ?? null,
    s.outputDigest ?? null,
    json(s.error),
    s.reason ?? null,
  ];
}

function attemptParams(a: AttemptRecord): unknown[] {
  return [a.stepRunId, a.attempt, a.status, a.startedAt, a.finishedAt ?? null, json(a.error)];
}

function rowToStepRun(r: Row): StepRunRecord {
  return {
    id: r.id,
    runId: r.run_id,
    stepId: r.step_id,
    itemIndex: r.item_index,
    status: r.status,
    cacheKey: opt(r.cache_key),
    components: parse(r.components),
    cached: r.cached === 1,
    cachedFrom: opt(r.cached_from),
    attempts: r.attempts,
    startedAt: opt(r.started_at),
    finishedAt: opt(r.finished_at),
    durationMs: opt(r.duration_ms),
    outputDigest: opt(r.output_digest),
    error: parse(r.error),
    reason: opt(r.reason),
  };
}

function artifactParams(a: ArtifactRecord, bytes?: Uint8Array): unknown[] {
  return [a.digest, a.kind, a.size, json(a.meta), a.createdAt, bytes ? Buffer.from(bytes) : null];
}

function rowToArtifact(r: Row): ArtifactRecord {
  return {
    digest: r.digest,
    kind: r.kind,
    size: r.size,
    meta: parse(r.meta) ?? {},
    createdAt: r.created_at,
    inline: r.is_inline === 1,
  };
}

function rowToEdge(r: Row): LineageEdge {
  return {
    stepRunId: r.step_run_id,
    runId: r.run_id,
    stepId: r.step_id,
    digest: r.digest,
    direction: r.direction,
    name: r.name,
    reused: r.reused === 1,
  };
}
