/**
 * Ingestion from databases. DuckDB's sqlite and postgres extensions are downloaded on first
 * use, which an offline install cannot do, so a SQLite query is read with better-sqlite3 (a
 * dependency anyway), one row at a time, and appended to a DuckDB table in batches, which
 * DuckDB then writes as Parquet. The whole result never exists as JS objects. PostgreSQL
 * (node-postgres and a server-side cursor) lives in ingest-postgres.ts, re-exported here.
 *
 * SQLite columns are dynamically typed: a column's type comes from its declared type (SQLite
 * affinity rules) or, for expressions, from the first batch; a later value of another type is
 * a MIXED_TYPES error naming the row and column, not a silent coercion.
 */
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";
import { sqliteAddonPath } from "./sqlite-binding.js";
import { DataError } from "./data-error.js";
import { tempName, withConnection } from "./duck.js";
import { translateIngestError } from "./ingest-errors.js";
import { publishParquet, temporaryPath, type IngestOptions, type IngestResult } from "./ingest-output.js";
import { sqlIdent, sqlString } from "./sql-text.js";

export interface SqliteIngest {
  /** Path of the SQLite database file. */
  sqlite: string;
  /** A SELECT statement. */
  query: string;
  /** Rows appended between flushes to DuckDB. @default 10000 */
  batchSize?: number;
}

export { ingestPostgres, type PostgresIngest } from "./ingest-postgres.js";

type ColumnType = "BIGINT" | "DOUBLE" | "VARCHAR" | "BLOB";

export async function ingestSqlite(source: SqliteIngest, outPath: string, opts: IngestOptions): Promise<IngestResult> {
  const file = source.sqlite;
  if (!existsSync(file))
    throw new DataError("FILE_NOT_FOUND", "SQLite database does not exist", {
      file,
      hint: "Check the path (better-sqlite3 would otherwise create an empty database).",
    });
  let db: Database.Database;
  let stmt: Database.Statement;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, nativeBinding: sqliteAddonPath() });
  } catch (err) {
    throw new DataError("FILE_UNREADABLE", `Cannot open the SQLite database: ${(err as Error).message}`, {
      file,
      cause: err,
      hint: "Check the file is a SQLite database and readable.",
    });
  }
  let closeRows: () => void = () => undefined;
  try {
    try {
      stmt = db.prepare(source.query);
    } catch (err) {
      const message = (err as Error).message;
      if (/not a database|encrypted/i.test(message)) throw translateIngestError(err, file);
      throw new DataError("QUERY_FAILED", `SQLite rejected the query: ${message}`, {
        file,
        cause: err,
        hint: "Check table and column names with the sqlite3 shell (.schema).",
      });
    }
    if (!stmt.reader)
      throw new DataError("INVALID_OPTION", "The SQLite query returns no rows (not a SELECT)", {
        file,
        hint: "Ingest with a SELECT statement.",
      });
    stmt.safeIntegers(true).raw(true);
    const columns = stmt.columns();
    const batchSize = Math.max(1, source.batchSize ?? 10_000);
    const rows = stmt.iterate() as IterableIterator<unknown[]>;
    // Closed explicitly on every exit: an open iterator keeps the connection busy and close() would throw.
    closeRows = () => rows.return?.();
    // next() rather than for-of with break: breaking would close the statement's iterator.
    const first: unknown[][] = [];
    while (first.length < batchSize) {
      const step = rows.next();
      if (step.done) break;
      first.push(step.value);
    }
    const types = columns.map((c, j) => declaredType(c.type) ?? inferredType(first, j));
    const tmp = temporaryPath(outPath);
    return await withConnection(async (con) => {
      const table = tempName("sqlite");
      await con.run(`CREATE TABLE ${table} (${columns.map((c, j) => `${sqlIdent(c.name)} ${types[j]}`).join(", ")})`);
      try {
        const appender = await con.createAppender(table);
        let r = 0;
        const append = (row: unknown[]) => {
          r++;
          for (let j = 0; j < types.length; j++)
            appendValue(appender, row[j], types[j], { file, row: r, column: columns[j].name });
          appender.endRow();
          if (r % batchSize === 0) appender.flushSync();
        };
        for (const row of first) append(row);
        for (let step = rows.next(); !step.done; step = rows.next()) append(step.value);
        appender.closeSync();
        await copyTable(con, table, tmp, file);
      } finally {
        await con.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      }
      return publishParquet(con, tmp, outPath, { files: [file] }, opts);
    });
  } finally {
    closeRows();
    db.close();
  }
}

async function copyTable(con: DuckDBConnection, table: string, tmp: string, file: string): Promise<void> {
  try {
    await con.run(`COPY ${table} TO ${sqlString(tmp)} (FORMAT parquet)`);
  } catch (err) {
    throw translateIngestError(err, file);
  }
}

/** SQLite's affinity rules (https://sqlite.org/datatype3.html#determination_of_column_affinity). */
function declaredType(declared: string | null): ColumnType | undefined {
  if (!declared) return undefined;
  const t = declared.toUpperCase();
  if (t.includes("INT")) return "BIGINT";
  if (t.includes("CHAR") || t.includes("CLOB") || t.includes("TEXT")) return "VARCHAR";
  if (t.includes("BLOB")) return "BLOB";
  if (t.includes("REAL") || t.includes("FLOA") || t.includes("DOUB")) return "DOUBLE";
  return undefined; // NUMERIC affinity: integers and reals mixed, decided by the values.
}

function inferredType(rows: unknown[][], j: number): ColumnType {
  let type: ColumnType | undefined;
  for (const row of rows) {
    const v = row[j];
    if (v === null || v === undefined) continue;
    const t: ColumnType =
      typeof v === "bigint" ? "BIGINT" : typeof v === "number" ? "DOUBLE" : typeof v === "string" ? "VARCHAR" : "BLOB";
    if (type === undefined || (type === "BIGINT" && t === "DOUBLE")) type = t;
  }
  return type ?? "VARCHAR";
}

function appendValue(
  appender: DuckDBAppender,
  v: unknown,
  type: ColumnType,
  where: { file: string; row: number; column: string },
): void {
  if (v === null || v === undefined) return appender.appendNull();
  switch (type) {
    case "BIGINT":
      if (typeof v === "bigint") return appender.appendBigInt(v);
      if (typeof v === "number" && Number.isInteger(v)) return appender.appendBigInt(BigInt(v));
      break;
    case "DOUBLE":
      if (typeof v === "bigint") return appender.appendDouble(Number(v));
      if (typeof v === "number") {
        if (!Number.isFinite(v)) {
          throw new DataError("NON_FINITE_VALUE", `Column "${where.column}" holds ${v}`, {
            ...where,
            hint: "Map it to NULL in the query (CASE WHEN ...), or fix the stored value.",
          });
        }
        return appender.appendDouble(v);
      }
      break;
    case "VARCHAR":
      if (typeof v === "string") return appender.appendVarchar(v);
      break;
    case "BLOB":
      if (v instanceof Uint8Array) return appender.appendBlob(v);
      break;
  }
  const got =
    typeof v === "bigint"
      ? "an integer"
      : typeof v === "number"
        ? "a real number"
        : typeof v === "string"
          ? `the text ${JSON.stringify(v.length > 30 ? v.slice(0, 30) + "…" : v)}`
          : "a blob";
  const sqliteType = type === "VARCHAR" ? "TEXT" : type === "BIGINT" ? "INTEGER" : "REAL";
  throw new DataError("MIXED_TYPES", `Column "${where.column}" is ${type} but holds ${got}`, {
    ...where,
    hint:
      `SQLite stores any type in any column; ` +
      `CAST it in the ` +
      `query (e.g. CAST(${where.column} AS ${sqliteType})) or clean the value.`,
  });
}
