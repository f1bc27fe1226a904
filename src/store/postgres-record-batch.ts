/**
 * A record batch as ONE PostgreSQL statement: each table's rows go in as column arrays (unnest
 * keeps their order) in data-modifying CTEs. A statement is its own transaction and takes one
 * round trip, so no transaction stays open while the client awaits, and a killed process commits
 * all of the batch or none of it.
 *
 * Each statement's rows also land once. A connection lost after the server committed and before
 * its answer arrived looks like any lost connection, and the statement is sent again
 * (postgres-reconnect.ts): upserts land the same, but appended rows (log lines, lineage, metrics,
 * tags) would be written twice. So a statement that appends first records its own random id in
 * `record_batches`, and each of its inserts is conditioned on that id being new.
 */
import { randomUUID } from "node:crypto";
import type { ArtifactRecord, AttemptRecord, RecordBatch, StepRunRecord } from "./metadata-records.js";
import { METRIC_COLUMNS, metricValues, TAG_COLUMNS, tagValues } from "./metric-rows.js";
import { artifactValues, attemptValues, STEP_RUN_COLUMNS, stepRunValues, text } from "./postgres-rows.js";
import { GUARD_KEPT_MS, guardPruneDue } from "./postgres-transaction.js";

const STEP_RUN_TYPES = [
  "text",
  "text",
  "text",
  "int",
  "text",
  "text",
  "json",
  "boolean",
  "text",
  "int",
  "float8",
  "float8",
  "float8",
  "text",
  "json",
  "text",
];
const ATTEMPT_COLUMNS = ["step_run_id", "attempt", "status", "started_at", "finished_at", "error"];
const ATTEMPT_TYPES = ["text", "int", "text", "float8", "float8", "json"];
const LOG_COLUMNS = ["step_run_id", "attempt", "ts", "stream", "line"];
const LOG_TYPES = ["text", "int", "float8", "text", "text"];
const ARTIFACT_COLUMNS = ["digest", "kind", "size", "meta", "created_at", "inline"];
const ARTIFACT_TYPES = ["text", "text", "int8", "json", "float8", "bytea"];
const LINEAGE_COLUMNS = ["step_run_id", "run_id", "step_id", "digest", "direction", "name", "reused"];
const LINEAGE_TYPES = ["text", "text", "text", "text", "text", "text", "boolean"];
const METRIC_TYPES = ["text", "text", "text", "int", "int", "text", "float8", "float8", "text", "float8"];
const TAG_TYPES = ["text", "text", "text", "text", "float8"];

interface TableInsert {
  table: string;
  columns: readonly string[];
  types: string[];
  /** Rows (as `u.c0`, `u.c1`, ...) left out before the insert. */
  skip?: string;
  /** An upsert's conflict clause; a table without one is appended to. */
  conflict?: string;
}

const TABLES: TableInsert[] = [
  {
    table: "step_runs",
    columns: STEP_RUN_COLUMNS,
    types: STEP_RUN_TYPES,
    // An update keeps `seq`: a run's steps list in the order they were first recorded, as in SQLite.
    conflict: `(id) DO UPDATE SET ${STEP_RUN_COLUMNS.slice(1)
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(", ")}`,
  },
  {
    table: "attempts",
    columns: ATTEMPT_COLUMNS,
    types: ATTEMPT_TYPES,
    conflict: `(step_run_id, attempt) DO UPDATE SET status = EXCLUDED.status, started_at = EXCLUDED.started_at,
      finished_at = EXCLUDED.finished_at, error = EXCLUDED.error`,
  },
  { table: "logs", columns: LOG_COLUMNS, types: LOG_TYPES },
  {
    table: "artifacts",
    columns: ARTIFACT_COLUMNS,
    types: ARTIFACT_TYPES,
    // A record already stored with metadata at least as rich is left alone: the conflict below would not
    // change it, yet would lock its row (a write) while every worker and the orchestrator send it again.
    skip: `EXISTS (SELECT 1 FROM artifacts a WHERE a.digest = u.c0 AND length(a.meta::text) >= length(u.c3::text))`,
    // A record written again keeps the richer of the two metadata objects; an equal one leaves the row
    // as it is (no new row version: the same small output is written by many steps).
    conflict: `(digest) DO UPDATE SET meta = EXCLUDED.meta
      WHERE length(EXCLUDED.meta::text) > length(artifacts.meta::text)`,
  },
  { table: "lineage", columns: LINEAGE_COLUMNS, types: LINEAGE_TYPES },
  { table: "metrics", columns: METRIC_COLUMNS, types: METRIC_TYPES },
  { table: "run_tags", columns: TAG_COLUMNS, types: TAG_TYPES },
];

/** The guard's CTE: it returns a row only when this statement's id is new, i.e. on its first application. */
const GUARD = "first_application";

function insertSql(t: TableInsert, firstParam: number, guarded: boolean): string {
  const arrays = t.types.map((type, i) => `$${firstParam + i}::${type}[]`).join(", ");
  const names = t.columns.map((_, i) => `c${i}`);
  const conditions = [...(guarded ? [`EXISTS (SELECT 1 FROM ${GUARD})`] : []), ...(t.skip ? [`NOT ${t.skip}`] : [])];
  const where = conditions.length ? `WHERE ${conditions.join(" AND ")} ` : "";
  return `INSERT INTO ${t.table} (${t.columns.join(", ")})
    SELECT ${names.map((n) => `u.${n}`).join(", ")} FROM unnest(${arrays}) WITH ORDINALITY AS u(${names.join(", ")}, n)
    ${where}ORDER BY u.n${t.conflict ? ` ON CONFLICT ${t.conflict}` : ""}`;
}

/** Whether a statement of `shape` appends rows, and so carries the guard. */
const appends = (shape: string) => TABLES.some((t, i) => shape[i] === "1" && !t.conflict);

/** The guard (see the header) takes the two parameters after the tables': the statement's id and the time. */
function guardSql(firstParam: number, prune: boolean): string {
  const [id, now] = [`$${firstParam}::text`, `$${firstParam + 1}::float8`];
  const guard = `${GUARD} AS (INSERT INTO record_batches (id, written_at) VALUES (${id}, ${now})
    ON CONFLICT DO NOTHING RETURNING 1)`;
  if (!prune) return guard;
  return `${guard},\nguard_pruned AS (DELETE FROM record_batches WHERE written_at < ${now} - ${GUARD_KEPT_MS})`;
}

/**
 * A batch as a statement of its own shape: one CTE per table that has rows, each fed its columns as
 * arrays. A table without rows gets no CTE, since an empty insert still opens its table and indexes.
 */
export interface BatchStatement {
  /**
   * Which tables have rows, one letter per table ("1" or "0", in TABLES order), and "p" when the
   * statement prunes old guard rows: part of a prepared name.
   */
  shape: string;
  /** `first_application AS (...), w0 AS (...), ...` (the first when it appends); empty when no table has rows. */
  ctes: string;
  /** The CTEs' parameters ($1 to $params.length): a statement adding its own numbers them after. */
  params: unknown[];
}

/** CTE text per shape: a process meets a handful of shapes, each prepared once per connection. */
const ctesByShape = new Map<string, string>();

function ctesOf(shape: string): string {
  let ctes = ctesByShape.get(shape);
  if (ctes === undefined) {
    let next = 1;
    const parts: string[] = [];
    const guarded = appends(shape);
    TABLES.forEach((t, i) => {
      if (shape[i] !== "1") return;
      parts.push(`w${parts.length} AS (${insertSql(t, next, guarded)})`);
      next += t.columns.length;
    });
    if (guarded) parts.unshift(guardSql(next, shape.endsWith("p")));
    ctes = parts.join(",\n");
    ctesByShape.set(shape, ctes);
  }
  return ctes;
}

/** Prepared once per connection and shape: parsing and planning the CTEs per batch cost more than the rows. */
export const WRITE_BATCH_NAME = "trainyard.write-batch";

/**
 * The statement for `batch` (and artifact records outside any completion): every table with rows,
 * its rows as column arrays, in TABLES order.
 */
export function batchStatement(
  batch: RecordBatch,
  artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }> = [],
): BatchStatement {
  const rows = tableRows(batch, artifacts);
  const params = rows.flatMap((tableRows, i) =>
    tableRows.length ? TABLES[i].columns.map((_, column) => tableRows.map((row) => row[column] ?? null)) : [],
  );
  const tables = rows.map((r) => (r.length ? "1" : "0")).join("");
  if (!appends(tables)) return { shape: tables, ctes: ctesOf(tables), params };
  const prune = guardPruneDue();
  const shape = `${tables}${prune ? "p" : ""}`;
  return { shape, ctes: ctesOf(shape), params: [...params, randomUUID(), Date.now()] };
}

/** The batch's statement alone; undefined when it has no rows. */
export function writeBatchQuery(
  batch: RecordBatch,
  artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }> = [],
): { name: string; text: string; values: unknown[] } | undefined {
  const statement = batchStatement(batch, artifacts);
  if (!statement.ctes) return undefined;
  return {
    name: `${WRITE_BATCH_NAME}.${statement.shape}`,
    text: `WITH ${statement.ctes}\nSELECT 1`,
    values: statement.params,
  };
}

function tableRows(
  batch: RecordBatch,
  artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>,
): unknown[][][] {
  const stepRuns = lastById([...batch.stepRuns, ...batch.completions.map((c) => c.stepRun)]);
  const attempts = [...new Map(batch.attempts.map((a) => [`${a.stepRunId}\u0000${a.attempt}`, a])).values()];
  const logs = batch.logs.flatMap((l) =>
    l.lines.map((line) => [l.stepRunId, l.attempt, line.ts, line.stream, text(line.line)]),
  );
  const lineage = batch.completions.flatMap((c) =>
    c.lineage.map((e) => [e.stepRunId, e.runId, e.stepId, e.digest, e.direction, e.name, e.reused]),
  );
  return [
    stepRuns.map(stepRunValues),
    attempts.map((a: AttemptRecord) => attemptValues(a)),
    logs,
    richestArtifacts([...artifacts, ...(batch.artifacts ?? []), ...batch.completions.flatMap((c) => c.artifacts)]).map(
      (a) => artifactValues(a.record, a.bytes),
    ),
    lineage,
    (batch.metrics ?? []).map(metricValues),
    (batch.tags ?? []).map(tagValues),
  ];
}

/**
 * One row per step run id, holding its last state at the place it was first queued: one INSERT
 * may not change the same row twice, and new rows keep the order they were first recorded in.
 */
function lastById(records: StepRunRecord[]): StepRunRecord[] {
  const byId = new Map<string, StepRunRecord>();
  for (const r of records) byId.set(r.id, r);
  return [...byId.values()];
}

/**
 * One row per digest (the richer metadata, and the inline bytes when any copy has them), sorted
 * by digest: concurrent writers then lock shared artifact rows in the same order and cannot deadlock.
 */
export function richestArtifacts(
  artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>,
): Array<{ record: ArtifactRecord; bytes?: Uint8Array }> {
  const byDigest = new Map<string, { record: ArtifactRecord; bytes?: Uint8Array }>();
  for (const a of artifacts) {
    const known = byDigest.get(a.record.digest);
    const richer = !known || JSON.stringify(a.record.meta).length > JSON.stringify(known.record.meta).length;
    byDigest.set(a.record.digest, { record: richer ? a.record : known.record, bytes: a.bytes ?? known?.bytes });
  }
  return [...byDigest.values()].sort((a, b) => (a.record.digest < b.record.digest ? -1 : 1));
}
