/**
 * PostgreSQL implementation of the metadata store (node-postgres Pool), for deployments where
 * several processes or machines share one record of runs. Behaviour follows the SQLite store
 * (the reference); every multi-record write is one transaction. No `pg` type leaves this file.
 */
import pg from "pg";
import { TrainyardError } from "../core/errors.js";
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
import { POSTGRES_MIGRATIONS } from "./postgres-migrations.js";
import {
  artifactValues,
  attemptValues,
  inTransaction,
  LEASE_COLUMNS,
  leaseValues,
  rowToArtifact,
  rowToAttempt,
  rowToEdge,
  rowToLease,
  rowToRun,
  rowToStepRun,
  runColumns,
  STEP_RUN_COLUMNS,
  stepRunValues,
  text,
  type Queryable,
  type Row,
} from "./postgres-rows.js";

export interface PostgresMetadataOptions {
  /** Connection string, e.g. postgres://user:pass@host:5432/trainyard. */
  url: string;
  /** Schema holding the tables, created when missing; lets several homes share a database. @default "public" */
  schema?: string;
  /** Most pooled connections this process opens. @default 10 */
  maxConnections?: number;
}

// int8 (counts, sizes) as JS numbers: every value this store writes came from a JS number.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? Number : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

// An update keeps `seq`: a run's steps list in the order they were first recorded, as in SQLite.
const SAVE_STEP_RUN =
  `INSERT INTO ` +
  `step_runs (${STEP_RUN_COLUMNS.join(", ")}) VALUES (${STEP_RUN_COLUMNS.map((_, i) => `$${i + 1}`).join(", ")})
  ON CONFLICT (id) DO UPDATE SET ${STEP_RUN_COLUMNS.slice(1)
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(", ")}`;
const SAVE_ATTEMPT = `INSERT INTO attempts (step_run_id, attempt, status, started_at, finished_at, error)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (step_run_id, attempt) DO UPDATE SET status = EXCLUDED.status, started_at = EXCLUDED.started_at,
    finished_at = EXCLUDED.finished_at, error = EXCLUDED.error`;
const PUT_ARTIFACT = `INSERT INTO artifacts (digest, kind, size, meta, created_at, inline) VALUES ($1, $2, $3, $4,
  $5, $6)
  ON CONFLICT (digest) DO UPDATE SET meta = CASE WHEN length(EXCLUDED.meta::text) > length(artifacts.meta::text)
    THEN EXCLUDED.meta ELSE artifacts.meta END`;
// The conditional update takes the row lock: a concurrent claim waits, then sees the new token.
const LEASE_PLACEHOLDERS = LEASE_COLUMNS.map((_, i) => `$${i + 1}`).join(", ");
const CLAIM_LEASE = `INSERT INTO run_leases (${LEASE_COLUMNS.join(", ")}) VALUES (${LEASE_PLACEHOLDERS})
  ON CONFLICT (run_id) DO UPDATE SET ${LEASE_COLUMNS.slice(1)
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(", ")}
  WHERE run_leases.token = $${LEASE_COLUMNS.length + 1}
  RETURNING *`;
const ARTIFACT_COLUMNS = `digest, kind, size, meta, created_at, inline IS NOT NULL AS is_inline`;
// unnest WITH ORDINALITY keeps the lines' order in one round trip, however many lines.
const APPEND_LOGS = `INSERT INTO logs (step_run_id, attempt, ts, stream, line)
  SELECT $1, $2, u.ts, u.stream, u.line FROM unnest($3::float8[], $4::text[], $5::text[]) WITH ORDINALITY AS u(ts,
    stream, line, n) ORDER BY u.n`;
const INSERT_LINEAGE = `INSERT INTO lineage (step_run_id, run_id, step_id, digest, direction, name, reused)
  SELECT u.s, u.r, u.st, u.d, u.dir, u.name, u.reused
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[])
    WITH ORDINALITY AS u(s, r, st, d, dir, name, reused, n) ORDER BY u.n`;

export class PostgresMetadataStore implements MetadataStore {
  readonly backend = "postgres";
  private closed = false;

  private constructor(private readonly pool: pg.Pool) {}

  /** Connects, creates the schema if needed and applies pending migrations. */
  static async open(opts: PostgresMetadataOptions): Promise<PostgresMetadataStore> {
    const schema = opts.schema ?? "public";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new TrainyardError("USAGE", `invalid PostgreSQL schema name "${schema}"`, {
        hint: "use lowercase letters, digits and underscores",
      });
    }
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.maxConnections ?? 10,
      types,
      options: `-c search_path=${schema}`,
      connectionTimeoutMillis: 15_000,
    });
    // An idle pooled connection that the server drops must not crash the process.
    pool.on("error", () => undefined);
    const store = new PostgresMetadataStore(pool);
    try {
      await store.migrate(schema);
    } catch (err) {
      await pool.end().catch(() => undefined);
      const message = (err as Error).message;
      throw new TrainyardError(
        "METADATA_UNAVAILABLE",
        `cannot open the PostgreSQL metadata store at ${redactUrl(opts.url)}: ${message}`,
        { cause: err, hint: openHint(err) },
      );
    }
    return store;
  }

  private async migrate(schema: string): Promise<void> {
    await this.transaction(async (c) => {
      // Serialises concurrent first opens; the lock is released at commit.
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('trainyard.migrate.' || $1))`, [schema]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS trainyard_migrations (version INTEGER PRIMARY KEY, ` +
          `applied_at DOUBLE PRECISION NOT NULL)`,
      );
      const done = new Set(
        (await c.query(`SELECT version FROM trainyard_migrations`)).rows.map((r: Row) => r.version as number),
      );
      for (const [i, sql] of POSTGRES_MIGRATIONS.entries()) {
        if (done.has(i + 1)) continue;
        await c.query(sql);
        await c.query(`INSERT INTO trainyard_migrations (version, applied_at) VALUES ($1, $2)`, [i + 1, Date.now()]);
      }
    });
  }

  /** The connection pool, for stores sharing this database and schema (the model registry). */
  get connectionPool(): pg.Pool {
    return this.pool;
  }

  private async rows(sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, args)).rows;
  }

  private transaction<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  async upsertPipeline(name: string, modulePath: string): Promise<void> {
    await this.rows(
      `INSERT INTO pipelines (name, module_path, updated_at) VALUES ($1, $2, $3)
      ON CONFLICT (name) DO UPDATE SET module_path = EXCLUDED.module_path, updated_at = EXCLUDED.updated_at`,
      [name, modulePath, Date.now()],
    );
  }

  async listPipelines(): Promise<Array<{ name: string; modulePath: string; updatedAt: number }>> {
    const rows = await this.rows("SELECT name, module_path, updated_at FROM pipelines ORDER BY updated_at DESC", []);
    return rows.map((r) => ({
      name: String(r.name),
      modulePath: String(r.module_path),
      updatedAt: Number(r.updated_at),
    }));
  }

  async createRun(run: RunRecord): Promise<void> {
    const cols = runColumns(run);
    await this.rows(
      `INSERT INTO runs (${Object.keys(cols).join(", ")}) VALUES (${Object.keys(cols)
        .map((_, i) => `$${i + 1}`)
        .join(", ")})`,
      Object.values(cols),
    );
  }

  async updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    // A key present with `undefined` clears the column (e.g. a resumed run's old error).
    const cols = Object.entries(runColumns({ ...(patch as RunRecord), id }, Object.keys(patch)));
    if (!cols.length) return;
    await this.rows(`UPDATE runs SET ${cols.map(([c], i) => `${c} = $${i + 2}`).join(", ")} WHERE id = $1`, [
      id,
      ...cols.map(([, v]) => v),
    ]);
  }

  async getRun(idOrPrefix: string): Promise<RunRecord | undefined> {
    const [exact] = await this.rows(`SELECT * FROM runs WHERE id = $1`, [idOrPrefix]);
    if (exact) return rowToRun(exact);
    const rows = await this.rows(`SELECT * FROM runs WHERE id LIKE $1 ORDER BY created_at DESC LIMIT 2`, [
      `${likeEscape(idOrPrefix)}%`,
    ]);
    return rows.length === 1 ? rowToRun(rows[0]) : undefined;
  }

  async claimRunLease(lease: RunLease, replacing?: string): Promise<RunLease> {
    return this.transaction(async (c) => {
      const [taken] = (await c.query(CLAIM_LEASE, [...leaseValues(lease), replacing ?? null])).rows;
      return rowToLease(taken ?? (await c.query(`SELECT * FROM run_leases WHERE run_id = $1`, [lease.runId])).rows[0]);
    });
  }

  async getRunLease(runId: string): Promise<RunLease | undefined> {
    const [row] = await this.rows(`SELECT * FROM run_leases WHERE run_id = $1`, [runId]);
    return row ? rowToLease(row) : undefined;
  }

  async renewRunLease(runId: string, token: string, now: number): Promise<boolean> {
    const sql = `UPDATE run_leases SET heartbeat_at = $3 WHERE run_id = $1 AND token = $2`;
    return (await this.pool.query(sql, [runId, token, now])).rowCount === 1;
  }

  async releaseRunLease(runId: string, token: string): Promise<void> {
    await this.rows(`DELETE FROM run_leases WHERE run_id = $1 AND token = $2`, [runId, token]);
  }

  async markRunInterrupted(runId: string, deadToken: string, finishedAt: number): Promise<boolean> {
    const sql = `UPDATE runs SET status = 'interrupted', finished_at = $3 WHERE id = $1 AND status = 'running'
      AND EXISTS (SELECT 1 FROM run_leases WHERE run_id = $1 AND token = $2)`;
    return (await this.pool.query(sql, [runId, deadToken, finishedAt])).rowCount === 1;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.pipeline) args.push(filter.pipeline), where.push(`pipeline = $${args.length}`);
    if (filter.status) args.push(filter.status), where.push(`status = $${args.length}`);
    if (filter.trigger) {
      args.push(filter.trigger, `${filter.trigger}:`);
      where.push(`(trigger = $${args.length - 1} OR left(trigger, length($${args.length})) = $${args.length})`);
    }
    if (filter.createdAtMost !== undefined) {
      args.push(filter.createdAtMost);
      where.push(`created_at <= $${args.length}`);
    }
    args.push(Math.max(1, filter.limit ?? 50));
    const rows = await this.rows(
      `SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, ` +
        `seq DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map(rowToRun);
  }

  async saveStepRuns(records: StepRunRecord[]): Promise<void> {
    if (!records.length) return;
    await this.transaction(async (c) => {
      for (const r of records) await c.query(SAVE_STEP_RUN, stepRunValues(r));
    });
  }

  async completeStepRuns(completions: StepRunCompletion[]): Promise<void> {
    if (completions.length) await this.transaction((c) => writeCompletions(c, completions));
  }

  async writeBatch(batch: RecordBatch): Promise<void> {
    await this.transaction(async (c) => {
      for (const r of batch.stepRuns) await c.query(SAVE_STEP_RUN, stepRunValues(r));
      for (const a of batch.attempts) await c.query(SAVE_ATTEMPT, attemptValues(a));
      for (const l of batch.logs) await insertLogs(c, l.stepRunId, l.attempt, l.lines);
      await writeCompletions(c, batch.completions);
      await insertMetrics(c, batch.metrics ?? [], batch.tags ?? []);
    });
  }

  async appendMetrics(points: MetricPoint[], tags: RunTag[] = []): Promise<void> {
    if (points.length || tags.length) await this.transaction((c) => insertMetrics(c, points, tags));
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

  async hasStepResults(): Promise<boolean> {
    return (await this.rows(`SELECT 1 FROM step_runs WHERE status = 'succeeded' LIMIT 1`, [])).length > 0;
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
    const byStep = new Map<string, number[]>();
    for (const r of rows) {
      const list = byStep.get(r.step_id) ?? [];
      if (list.length < 5) list.push(r.d as number);
      byStep.set(r.step_id, list);
    }
    return new Map([...byStep].map(([id, list]) => [id, list.sort((a, b) => a - b)[Math.floor(list.length / 2)]]));
  }

  async saveAttempt(a: AttemptRecord): Promise<void> {
    await this.rows(SAVE_ATTEMPT, attemptValues(a));
  }

  async listAttempts(stepRunId: string): Promise<AttemptRecord[]> {
    return (await this.rows(`SELECT * FROM attempts WHERE step_run_id = $1 ORDER BY attempt`, [stepRunId])).map(
      rowToAttempt,
    );
  }

  async appendLogs(stepRunId: string, attempt: number, lines: LogLine[]): Promise<void> {
    await insertLogs(this.pool, stepRunId, attempt, lines);
  }

  async getLogs(stepRunId: string, attempt?: number): Promise<Array<LogLine & { attempt: number }>> {
    const rows =
      attempt === undefined
        ? await this.rows(`SELECT attempt, ts, stream, line FROM logs WHERE step_run_id = $1 ORDER BY seq`, [stepRunId])
        : await this.rows(
            `SELECT attempt, ts, stream, line FROM logs WHERE step_run_id = $1 AND attempt = $2 ORDER BY seq`,
            [stepRunId, attempt],
          );
    return rows.map((r) => ({ attempt: r.attempt, ts: r.ts, stream: r.stream, line: r.line }));
  }

  async putArtifacts(artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>): Promise<void> {
    if (!artifacts.length) return;
    await this.transaction(async (c) => {
      for (const a of artifacts) await c.query(PUT_ARTIFACT, artifactValues(a.record, a.bytes));
    });
  }

  async getArtifact(digestOrPrefix: string): Promise<ArtifactRecord | undefined> {
    const [exact] = await this.rows(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts WHERE digest = $1`, [digestOrPrefix]);
    if (exact) return rowToArtifact(exact);
    if (!/^[0-9a-f]{4,63}$/.test(digestOrPrefix)) return undefined;
    const rows = await this.rows(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts WHERE digest LIKE $1 LIMIT 2`, [
      `${digestOrPrefix}%`,
    ]);
    return rows.length === 1 ? rowToArtifact(rows[0]) : undefined;
  }

  async getInlineBytes(digest: string): Promise<Uint8Array | undefined> {
    const [row] = await this.rows(`SELECT inline FROM artifacts WHERE digest = $1`, [digest]);
    return row?.inline ? new Uint8Array(row.inline as Buffer) : undefined;
  }

  async listArtifacts(): Promise<ArtifactRecord[]> {
    return (await this.rows(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts`)).map(rowToArtifact);
  }

  async deleteArtifacts(digests: string[]): Promise<void> {
    if (digests.length) await this.rows(`DELETE FROM artifacts WHERE digest = ANY($1::text[])`, [digests]);
  }

  async lineageOf(digest: string): Promise<LineageEdge[]> {
    return (await this.rows(`SELECT * FROM lineage WHERE digest = $1 ORDER BY seq`, [digest])).map(rowToEdge);
  }

  async lineageOfStepRun(stepRunId: string): Promise<LineageEdge[]> {
    return (await this.rows(`SELECT * FROM lineage WHERE step_run_id = $1 ORDER BY seq`, [stepRunId])).map(rowToEdge);
  }

  async digestsUsedByRuns(runIds: string[]): Promise<Set<string>> {
    if (!runIds.length) return new Set();
    return new Set(
      (await this.rows(`SELECT DISTINCT digest FROM lineage WHERE run_id = ANY($1::text[])`, [runIds])).map(
        (r) => r.digest as string,
      ),
    );
  }

  async pinnedDigests(): Promise<Set<string>> {
    return new Set((await this.rows(`SELECT digest FROM pins`)).map((r) => r.digest as string));
  }

  /** Keeps an artifact alive for gc on behalf of an owner (e.g. "model:flights@3"). */
  async pin(digest: string, owner: string): Promise<void> {
    await this.rows(`INSERT INTO pins (digest, owner) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [digest, owner]);
  }

  async deleteRuns(runIds: string[]): Promise<void> {
    if (!runIds.length) return;
    await this.transaction(async (c) => {
      const ids = [runIds];
      await c.query(
        `DELETE FROM logs WHERE step_run_id IN (SELECT id FROM step_runs WHERE run_id = ANY($1::text[]))`,
        ids,
      );
      await c.query(
        `DELETE FROM attempts WHERE step_run_id IN (SELECT id FROM step_runs WHERE run_id = ANY($1::text[]))`,
        ids,
      );
      await c.query(`DELETE FROM lineage WHERE run_id = ANY($1::text[])`, ids);
      await c.query(`DELETE FROM metrics WHERE run_id = ANY($1::text[])`, ids);
      await c.query(`DELETE FROM run_tags WHERE run_id = ANY($1::text[])`, ids);
      await c.query(`DELETE FROM step_runs WHERE run_id = ANY($1::text[])`, ids);
      await c.query(`DELETE FROM runs WHERE id = ANY($1::text[])`, ids);
      await c.query(`DELETE FROM run_leases WHERE run_id = ANY($1::text[])`, ids);
    });
  }

  async getStat(path: string): Promise<StatEntry | undefined> {
    const [r] = await this.rows(`SELECT * FROM stat_index WHERE path = $1`, [path]);
    return r ? { path: r.path, size: r.size, mtimeMs: r.mtime_ms, ino: r.ino, digest: r.digest } : undefined;
  }

  async putStat(e: StatEntry): Promise<void> {
    await this.rows(
      `INSERT INTO stat_index (path, size, mtime_ms, ino, digest) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (path) DO UPDATE SET size = EXCLUDED.size, mtime_ms = EXCLUDED.mtime_ms, ino = EXCLUDED.ino,
        digest = EXCLUDED.digest`,
      [e.path, e.size, e.mtimeMs, e.ino, e.digest],
    );
  }
}

async function writeCompletions(c: Queryable, completions: StepRunCompletion[]): Promise<void> {
  for (const comp of completions) {
    for (const a of comp.artifacts) await c.query(PUT_ARTIFACT, artifactValues(a.record, a.bytes));
    await c.query(SAVE_STEP_RUN, stepRunValues(comp.stepRun));
    const l = comp.lineage;
    if (l.length)
      await c.query(INSERT_LINEAGE, [
        l.map((e) => e.stepRunId),
        l.map((e) => e.runId),
        l.map((e) => e.stepId),
        l.map((e) => e.digest),
        l.map((e) => e.direction),
        l.map((e) => e.name),
        l.map((e) => e.reused),
      ]);
  }
}

const INSERT_METRICS = `INSERT INTO metrics (${METRIC_COLUMNS.join(", ")})
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::float8[], $8::float8[],
    $9::text[], $10::float8[])`;
const INSERT_TAGS = `INSERT INTO run_tags (${TAG_COLUMNS.join(", ")})
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[])`;

/** One statement per table, columns as arrays: rows keep their order (unnest preserves it). */
async function insertMetrics(c: Queryable, points: MetricPoint[], tags: RunTag[]): Promise<void> {
  const columns = (rows: unknown[][], width: number) => Array.from({ length: width }, (_, i) => rows.map((r) => r[i]));
  if (points.length) await c.query(INSERT_METRICS, columns(points.map(metricValues), METRIC_COLUMNS.length));
  if (tags.length) await c.query(INSERT_TAGS, columns(tags.map(tagValues), TAG_COLUMNS.length));
}

async function insertLogs(c: Queryable, stepRunId: string, attempt: number, lines: LogLine[]): Promise<void> {
  if (lines.length)
    await c.query(APPEND_LOGS, [
      stepRunId,
      attempt,
      lines.map((l) => l.ts),
      lines.map((l) => l.stream),
      lines.map((l) => text(l.line)),
    ]);
}

/** What to check when opening fails: the network, the login, the privileges, or our migration. */
function openHint(err: unknown): string {
  const code = (err as { code?: string }).code ?? "";
  if (/^E[A-Z]+$/.test(code) || /^(08|57P)/.test(code) || /timeout|terminated/i.test((err as Error).message)) {
    return "check that the server is running and reachable, and the URL's host and port";
  }
  if (/^(28|3D)/.test(code)) return "check the user, password and database name in the connection URL";
  if (code === "42501") return "the user needs the CREATE privilege on the database (or an existing schema it may use)";
  return "applying the metadata schema failed; see the cause, and report it if the database is otherwise healthy";
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A connection string without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@").replace(/([?&]password=)[^&]*/i, "$1***");
}
