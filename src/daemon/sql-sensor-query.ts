/**
 * Runs a SQL sensor's query, read-only, on DuckDB (the project's embedded instance, files read
 * from the pipeline module's folder), SQLite (better-sqlite3) or PostgreSQL (node-postgres), and
 * returns its small result as plain JSON values. Any failure names the trigger and the engine.
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import Database from "better-sqlite3";
import { TrainyardError } from "../core/errors.js";
import type { CompiledSqlSensor } from "../core/triggers.js";
import { tempName, toPlain, withConnection } from "../lib/data/duck.js";
import { sqlString } from "../lib/data/sql-text.js";
import { sqliteNativeBinding } from "../store/sqlite-metadata-store.js";

export interface SqlResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** Where the query reads, for messages: the database file or the URL without its password. */
export function sqlLocation(sensor: CompiledSqlSensor, moduleDir: string): string {
  if (sensor.engine === "postgres") return redactUrl(sensor.url ?? "");
  if (sensor.file) return sensorFile(sensor.file, moduleDir);
  return `DuckDB over files in ${moduleDir}`;
}

export async function runSensorQuery(sensor: CompiledSqlSensor, moduleDir: string): Promise<SqlResult> {
  let result: SqlResult;
  try {
    if (sensor.engine === "sqlite") result = querySqlite(sensor, moduleDir);
    else if (sensor.engine === "postgres") result = await queryPostgres(sensor);
    else result = await queryDuckDb(sensor, moduleDir);
  } catch (err) {
    if (err instanceof TrainyardError) throw err;
    throw queryFailed(sensor, moduleDir, (err as Error)?.message ?? String(err), err);
  }
  if (result.rows.length > sensor.maxRows) {
    throw new TrainyardError(
      "TRIGGER_FAILED",
      `sensor "${sensor.name}": the ${sensor.engine} query returned more than ` + `${sensor.maxRows} rows`,
      {
        trigger: sensor.name,
        field: "sql.query",
        hint: "aggregate in SQL (e.g. max(updated_at), count(*)) or raise `maxRows`",
      },
    );
  }
  return { columns: result.columns, rows: result.rows.map(plainRow) };
}

function queryFailed(sensor: CompiledSqlSensor, moduleDir: string, why: string, cause?: unknown): TrainyardError {
  const where = sqlLocation(sensor, moduleDir);
  if (why.endsWith("does not exist") && why.startsWith("the database file")) {
    return new TrainyardError("TRIGGER_FAILED", `sensor "${sensor.name}": ${why}`, {
      trigger: sensor.name,
      field: "sql.file",
      file: where,
      hint: "fix `sql.file` (relative paths are read from the pipeline module's folder); the sensor never creates it",
    });
  }
  return new TrainyardError("TRIGGER_FAILED", `sensor "${sensor.name}": the ${sensor.engine} query failed: ${why}`, {
    trigger: sensor.name,
    field: "sql.query",
    file: sensor.engine === "postgres" ? undefined : sensor.file ? where : undefined,
    hint: `check the query against ${where}; the daemon records the failure and retries with backoff`,
    cause,
  });
}

function sensorFile(file: string, moduleDir: string): string {
  return isAbsolute(file) ? file : resolve(moduleDir, file);
}

/** A sensor may be handed a query ending in ";": it is wrapped in a subquery to bound the rows. */
function bounded(query: string, maxRows: number): string {
  return `SELECT * FROM (${query.trim().replace(/;\s*$/, "")}) AS sensor_result LIMIT ${maxRows + 1}`;
}

async function queryDuckDb(sensor: CompiledSqlSensor, moduleDir: string): Promise<SqlResult> {
  return withConnection(async (con) => {
    // Relative file names in the query (read_parquet('landing/*.parquet')) are read from the module's folder.
    await con.run(`SET file_search_path = ${sqlString(moduleDir)}`);
    let attached: string | undefined;
    if (sensor.file) {
      const file = sensorFile(sensor.file, moduleDir);
      if (!existsSync(file)) throw queryFailed(sensor, moduleDir, `the database file ${file} does not exist`);
      attached = tempName("sensor");
      await con.run(`ATTACH ${sqlString(file)} AS ${attached} (READ_ONLY)`);
      await con.run(`USE ${attached}`);
    }
    const timer = setTimeout(() => con.interrupt(), sensor.timeoutMs);
    try {
      const reader = await con.runAndReadAll(bounded(sensor.query, sensor.maxRows));
      const columns = reader.deduplicatedColumnNames();
      const vectors = reader.getColumns();
      const rows: Record<string, unknown>[] = [];
      for (let r = 0; r < reader.currentRowCount; r++) {
        rows.push(Object.fromEntries(columns.map((c, i) => [c, toPlain(vectors[i][r])])));
      }
      return { columns, rows };
    } catch (err) {
      const why = (err as Error).message;
      const cancelled = /interrupt/i.test(why);
      throw queryFailed(sensor, moduleDir, cancelled ? `cancelled after ${sensor.timeoutMs} ms` : why, err);
    } finally {
      clearTimeout(timer);
      if (attached) {
        await con.run("USE memory").catch(() => undefined);
        await con.run(`DETACH ${attached}`).catch(() => undefined);
      }
    }
  });
}

function querySqlite(sensor: CompiledSqlSensor, moduleDir: string): SqlResult {
  const file = sensorFile(sensor.file!, moduleDir);
  // better-sqlite3 would create a missing file; a sensor must never create its source.
  if (!existsSync(file)) throw queryFailed(sensor, moduleDir, `the database file ${file} does not exist`);
  const db = new Database(file, { readonly: true, fileMustExist: true, nativeBinding: sqliteNativeBinding() });
  try {
    db.pragma(`busy_timeout = ${Math.min(sensor.timeoutMs, 60_000)}`);
    const stmt = db.prepare(sensor.query);
    if (!stmt.reader) throw queryFailed(sensor, moduleDir, "the statement returns no rows (not a SELECT)");
    stmt.safeIntegers(true);
    const columns = stmt.columns().map((c) => c.name);
    const rows: Record<string, unknown>[] = [];
    for (const row of stmt.iterate() as IterableIterator<Record<string, unknown>>) {
      rows.push(row);
      if (rows.length > sensor.maxRows) break;
    }
    return { columns, rows };
  } finally {
    db.close();
  }
}

async function queryPostgres(sensor: CompiledSqlSensor): Promise<SqlResult> {
  // Loaded on demand: `pg` stays off the start-up path of every other trigger.
  const { default: pg } = await import("pg");
  const client = new pg.Client({
    connectionString: sensor.url,
    connectionTimeoutMillis: sensor.timeoutMs,
    statement_timeout: sensor.timeoutMs,
    application_name: `trainyard sensor ${sensor.name}`.slice(0, 63),
  });
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query("BEGIN TRANSACTION READ ONLY");
    await client.query("SET LOCAL TIME ZONE 'UTC'");
    const r = await client.query({ text: bounded(sensor.query, sensor.maxRows) });
    await client.query("ROLLBACK");
    return { columns: r.fields.map((f) => f.name), rows: r.rows as Record<string, unknown>[] };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function plainRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = plainValue(v);
  return out;
}

/** JSON-safe values, the same for every engine: safe integers as numbers, times as ISO strings. */
function plainValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (Buffer.isBuffer(v)) return `\\x${v.toString("hex")}`;
  if (Array.isArray(v)) return v.map(plainValue);
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (typeof v === "object") {
    return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));
  }
  return v;
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@");
}
