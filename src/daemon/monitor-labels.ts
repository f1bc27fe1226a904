/**
 * Late labels for a monitor: a file (CSV, Parquet, JSON lines; read with DuckDB), a SQLite table
 * (`sqlite:<file>#<table>`) or a PostgreSQL table (`postgres://...#<table>`), read as key -> label.
 * A key names a prediction (its id, `<id>.<row>` for a row of a multi-row request) or, for any
 * other key column, a row key the server logged from that input column.
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import Database from "better-sqlite3";
import { TrainyardError } from "../core/errors.js";
import type { CompiledMonitor } from "../core/triggers.js";
import { resolveSource } from "../lib/data/data-source.js";
import { queryRows, withConnection } from "../lib/data/duck.js";
import { sqlIdent } from "../lib/data/sql-text.js";
import { sqliteNativeBinding } from "../store/sqlite-metadata-store.js";

export type LabelSpec = NonNullable<CompiledMonitor["labels"]>;

export type LabelLocation =
  | { kind: "file"; path: string }
  | { kind: "sqlite"; path: string; table: string }
  | { kind: "postgres"; url: string; table: string };

/** Label key columns that name a prediction id rather than a row key. */
const PREDICTION_ID_KEYS = new Set(["prediction_id", "predictionid", "prediction-id"]);

/** Whether the labels are keyed by prediction id (else by the row key logged from that column). */
export function keyedByPredictionId(spec: LabelSpec): boolean {
  return PREDICTION_ID_KEYS.has(spec.key.toLowerCase());
}

export function locateLabels(trigger: string, source: string, moduleDir: string): LabelLocation {
  const table = (rest: string, scheme: string) => {
    const hash = rest.lastIndexOf("#");
    if (hash < 0 || hash === rest.length - 1) {
      throw labelsError(trigger, source, `names no table`, `write ${scheme}#<table>`);
    }
    return { location: rest.slice(0, hash), table: rest.slice(hash + 1) };
  };
  if (source.startsWith("sqlite:")) {
    const { location, table: t } = table(source.slice("sqlite:".length), "sqlite:<file>");
    return { kind: "sqlite", path: isAbsolute(location) ? location : resolve(moduleDir, location), table: t };
  }
  if (/^postgres(ql)?:\/\//.test(source)) {
    const { location, table: t } = table(source, "postgres://<user>@<host>/<db>");
    return { kind: "postgres", url: location, table: t };
  }
  return { kind: "file", path: isAbsolute(source) ? source : resolve(moduleDir, source) };
}

export interface LabelSet {
  labels: Map<string, unknown>;
  /** Set when the labels file or database is not there yet: labels arrive late, so that is no labels. */
  missing?: string;
}

/** Every labelled key; a key listed twice keeps its last label, a null label counts as none. */
export async function readLabels(trigger: string, spec: LabelSpec, moduleDir: string): Promise<LabelSet> {
  const where = locateLabels(trigger, spec.source, moduleDir);
  if (where.kind !== "postgres" && !existsSync(where.path)) {
    return { labels: new Map(), missing: `no labels yet: ${where.path} does not exist` };
  }
  try {
    if (where.kind === "file") return { labels: await fileLabels(where.path, spec) };
    if (where.kind === "sqlite") return { labels: sqliteLabels(where.path, where.table, spec) };
    return { labels: await postgresLabels(where.url, where.table, spec) };
  } catch (err) {
    if (err instanceof TrainyardError && err.code === "MONITOR_LABELS") throw err;
    const hint = `check that ${spec.source} exists and has the columns "${spec.key}" and "${spec.column}"`;
    throw labelsError(trigger, spec.source, `cannot be read: ${(err as Error).message}`, hint, err);
  }
}

async function fileLabels(path: string, spec: LabelSpec): Promise<Map<string, unknown>> {
  const source = resolveSource(path);
  return withConnection(async (con) => {
    const sql = `SELECT CAST(${sqlIdent(spec.key)} AS VARCHAR) AS k, ${sqlIdent(spec.column)} AS y
      FROM ${source.relation} WHERE ${sqlIdent(spec.key)} IS NOT NULL`;
    return toMap(await queryRows(con, sql));
  });
}

function sqliteLabels(path: string, table: string, spec: LabelSpec): Map<string, unknown> {
  const db = new Database(path, { readonly: true, fileMustExist: true, nativeBinding: sqliteNativeBinding() });
  try {
    const sql = `SELECT CAST(${sqlIdent(spec.key)} AS TEXT) AS k, ${sqlIdent(spec.column)} AS y
      FROM ${qualified(table)} WHERE ${sqlIdent(spec.key)} IS NOT NULL`;
    return toMap(db.prepare(sql).all() as Array<Record<string, unknown>>);
  } finally {
    db.close();
  }
}

async function postgresLabels(url: string, table: string, spec: LabelSpec): Promise<Map<string, unknown>> {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000 });
  // A connection lost mid-query is also an error event: unheard, it would end the daemon. The query reports it.
  client.on("error", () => undefined);
  await client.connect();
  try {
    const sql = `SELECT CAST(${sqlIdent(spec.key)} AS TEXT) AS k, ${sqlIdent(spec.column)} AS y
      FROM ${qualified(table)} WHERE ${sqlIdent(spec.key)} IS NOT NULL`;
    return toMap((await client.query(sql)).rows as Array<Record<string, unknown>>);
  } finally {
    await client.end();
  }
}

/** `schema.table` or `table`, each part quoted. */
function qualified(table: string): string {
  return table.split(".").map(sqlIdent).join(".");
}

function toMap(rows: Array<Record<string, unknown>>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const r of rows) if (r.y !== null && r.y !== undefined) out.set(String(r.k), r.y);
  return out;
}

function labelsError(trigger: string, source: string, what: string, hint: string, cause?: unknown): TrainyardError {
  return new TrainyardError("MONITOR_LABELS", `monitor "${trigger}": labels ${source} ${what}`, {
    trigger,
    field: "labels.source",
    file: source,
    hint,
    cause,
  });
}
