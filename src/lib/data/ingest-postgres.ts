/**
 * Ingestion from PostgreSQL with node-postgres (DuckDB's postgres extension is downloaded on
 * first use, which an offline install cannot do). The query runs behind a server-side cursor in
 * a read-only, repeatable-read transaction and is FETCHed in batches, so the whole result never
 * exists as JS objects, and the snapshot is consistent however long the copy takes.
 *
 * Values arrive in PostgreSQL's text format (pinned by session settings: ISO dates, UTC, exact
 * floats, hex bytea) and are appended to a VARCHAR staging table; DuckDB then casts each column
 * to the type mapped from its PostgreSQL type while writing Parquet. Parsing in DuckDB is
 * vectorised, exact (no float or int8 round trip through JS numbers) and one place to map types.
 */
import { rmSync } from "node:fs";
import type { DuckDBConnection } from "@duckdb/node-api";
import type pg from "pg";
import { DataError } from "./data-error.js";
import { tempName, withConnection } from "./duck.js";
import { translateIngestError } from "./ingest-errors.js";
import { publishParquet, temporaryPath, type IngestOptions, type IngestResult } from "./ingest-output.js";
import { sqlIdent, sqlString } from "./sql-text.js";

export interface PostgresIngest {
  /** A connection string, e.g. postgres://user:pass@host:5432/db. */
  postgres: string;
  /** A SELECT (or VALUES) statement. */
  query: string;
  /** Rows fetched from the cursor and appended to DuckDB at a time. @default 10000 */
  batchSize?: number;
}

interface Field {
  name: string;
  dataTypeID: number;
  dataTypeModifier: number;
}

const BC_TIMESTAMP = "a timestamp before 1 AD in column";
const DECLARE = "DECLARE trainyard_ingest NO SCROLL CURSOR FOR ";
const SESSION = [
  "SET TIME ZONE 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  "SET extra_float_digits = 3", // shortest exact text for float4/float8 (exact digits before PG 12)
  "SET bytea_output = 'hex'",
];

/** PostgreSQL type OID -> DuckDB type; anything else (arrays, enums, json, inet...) stays text. */
const TYPE_BY_OID: Record<number, string> = {
  16: "BOOLEAN",
  17: "BLOB",
  20: "BIGINT",
  21: "SMALLINT",
  23: "INTEGER",
  26: "BIGINT",
  700: "FLOAT",
  701: "DOUBLE",
  1082: "DATE",
  1083: "TIME",
  1114: "TIMESTAMP",
  1184: "TIMESTAMPTZ",
  1186: "INTERVAL",
  2950: "UUID",
};

export function duckType(f: Pick<Field, "dataTypeID" | "dataTypeModifier">): string {
  if (f.dataTypeID === 1700) {
    // numeric(p,s) packs ((p << 16) | s) + 4 into the modifier; unconstrained numeric has -1.
    const p = ((f.dataTypeModifier - 4) >> 16) & 0xffff;
    const s = (f.dataTypeModifier - 4) & 0xffff;
    return f.dataTypeModifier >= 4 && p <= 38 ? `DECIMAL(${p},${s})` : "DOUBLE";
  }
  return TYPE_BY_OID[f.dataTypeID] ?? "VARCHAR";
}

/** DuckDB expression turning the staged text of column `name` into `type`. */
function castText(name: string, type: string): string {
  const c = sqlIdent(name);
  if (type === "VARCHAR") return c;
  if (type === "BLOB") return `unhex(substr(${c}, 3))`;
  // DuckDB reads "(BC)" but silently drops PostgreSQL's bare " BC" suffix.
  if (type === "DATE") return `CAST(regexp_replace(${c}, ' BC$', ' (BC)') AS DATE)`;
  if (type.startsWith("TIMESTAMP")) {
    return (
      `CASE WHEN ${c} LIKE '% BC' ` +
      `THEN error(${sqlString(`${BC_TIMESTAMP} ${JSON.stringify(name)}: `)} || ${c}) ELSE CAST(${c} AS ${type}) END`
    );
  }
  return `CAST(${c} AS ${type})`;
}

export async function ingestPostgres(
  source: PostgresIngest,
  outPath: string,
  opts: IngestOptions,
): Promise<IngestResult> {
  const label = redactConnection(source.postgres);
  const query = source.query.trim().replace(/;+\s*$/, "");
  if (!query)
    throw new DataError("INVALID_OPTION", "A PostgreSQL source needs a non-empty `query`", {
      file: label,
      hint: 'Pass { postgres: url, query: "SELECT ..." }.',
    });
  const batchSize = Math.max(1, Math.floor(source.batchSize ?? 10_000));
  const { default: pgModule } = await import("pg");
  // Every value as PostgreSQL's text: DuckDB parses it (see the header).
  const client = new pgModule.Client({
    connectionString: source.postgres,
    connectionTimeoutMillis: 15_000,
    types: { getTypeParser: () => (v: string) => v },
  });
  client.on("error", () => undefined); // a server that goes away mid-copy fails the pending query instead
  try {
    await client.connect();
  } catch (err) {
    throw translatePostgresError(err, label);
  }
  try {
    await run(client, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", label);
    for (const sql of SESSION) await run(client, sql, label);
    await run(client, `${DECLARE}${query}`, label, DECLARE.length);
    const fetch = () => run(client, `FETCH FORWARD ${batchSize} FROM trainyard_ingest`, label);
    let batch = await fetch();
    const fields = batch.fields as Field[];
    if (!fields.length)
      throw new DataError("INVALID_OPTION", "The query returns no columns", {
        file: label,
        hint: "Select at least one column.",
      });
    const duplicate = fields.find((f, i) => fields.findIndex((g) => g.name === f.name) !== i);
    if (duplicate) {
      throw new DataError("INVALID_OPTION", `The query returns two columns named "${duplicate.name}"`, {
        file: label,
        column: duplicate.name,
        hint: "Give each column a distinct name with AS in the query.",
      });
    }
    const types = fields.map(duckType);
    const tmp = temporaryPath(outPath);
    const result = await withConnection(async (con) => {
      const table = tempName("postgres");
      await con.run(`CREATE TABLE ${table} (${fields.map((f) => `${sqlIdent(f.name)} VARCHAR`).join(", ")})`);
      try {
        const appender = await con.createAppender(table);
        while (batch.rows.length) {
          for (const row of batch.rows as Array<Array<string | null>>) {
            for (const v of row) v === null ? appender.appendNull() : appender.appendVarchar(v);
            appender.endRow();
          }
          appender.flushSync();
          if (batch.rows.length < batchSize) break;
          batch = await fetch();
        }
        appender.closeSync();
        // Every row is read: end the snapshot now rather than hold it while DuckDB writes.
        await run(client, "COMMIT", label);
        await copyCast(con, table, fields, types, tmp, label);
      } finally {
        await con.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      }
      return publishParquet(con, tmp, outPath, { files: [label] }, opts);
    });
    return result;
  } finally {
    // Ending the session rolls back an open transaction and closes the cursor with it.
    await client.end().catch(() => undefined);
  }
}

async function copyCast(
  con: DuckDBConnection,
  table: string,
  fields: Field[],
  types: string[],
  tmp: string,
  label: string,
): Promise<void> {
  const select = fields.map((f, j) => `${castText(f.name, types[j])} AS ${sqlIdent(f.name)}`).join(", ");
  try {
    await con.run(`COPY (SELECT ${select} FROM ${table}) TO ${sqlString(tmp)} (FORMAT parquet)`);
  } catch (err) {
    // DuckDB may have written part of the file before a cast failed.
    rmSync(tmp, { force: true });
    const bc = new RegExp(`${BC_TIMESTAMP} "(.*)": (.*)`).exec((err as Error).message);
    if (bc) {
      throw new DataError("COLUMN_TYPE", `Column "${bc[1]}" holds ${bc[2]}, which DuckDB timestamps cannot represent`, {
        file: label,
        column: bc[1],
        cause: err,
        hint: `Cast it to text in the query (${bc[1]}::text) or leave those rows out.`,
      });
    }
    throw translateIngestError(err, label);
  }
}

/** `prefix` is how much of `sql` precedes the user's query, to report positions in the query itself. */
async function run(client: pg.Client, sql: string, label: string, prefix = 0): Promise<pg.QueryResult> {
  try {
    return await client.query({ text: sql, rowMode: "array" });
  } catch (err) {
    throw translatePostgresError(err, label, prefix);
  }
}

/** A node-postgres failure as a DataError: unreachable server, refused login, or a bad query. */
export function translatePostgresError(err: unknown, label: string, prefix = 0): DataError {
  if (err instanceof DataError) return err;
  const e = err as Error & { code?: string; hint?: string; position?: string };
  const code = e.code ?? "";
  const message = e.message || String(err);
  if (
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOENT)$/.test(code) ||
    /timeout expired|Connection terminated/i.test(message)
  ) {
    return new DataError("FILE_UNREADABLE", `Cannot reach the PostgreSQL server: ${message}`, {
      file: label,
      cause: err,
      hint:
        "Check that the server is running and that the host and port in " +
        "the connection string are right (and reachable from this machine).",
    });
  }
  if (code.startsWith("28") || /password|SASL|authentication/i.test(message)) {
    return new DataError("FILE_UNREADABLE", `PostgreSQL refused the login: ${message}`, {
      file: label,
      cause: err,
      hint:
        "Check the user and password in the connection string " +
        "(or PGPASSWORD / ~/.pgpass) and the server's pg_hba.conf.",
    });
  }
  if (code === "3D000") {
    return new DataError("FILE_UNREADABLE", `PostgreSQL has no such database: ${message}`, {
      file: label,
      cause: err,
      hint: "Check the database name at the end of the connection string.",
    });
  }
  const position = Number(e.position ?? 0) - prefix;
  const where = position > 0 ? ` at character ${position}` : "";
  return new DataError("QUERY_FAILED", `PostgreSQL rejected the query${where}: ${message}`, {
    file: label,
    cause: err,
    hint:
      e.hint ??
      (code === "25006"
        ? "Ingestion runs in a read-only transaction; use a plain SELECT."
        : "Ingest with one SELECT (or VALUES) statement; check table and column names with psql (\\d table)."),
  });
}

/** A connection string without its password, for messages and dataset sources. */
export function redactConnection(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@").replace(/(password=)[^&\s]*/gi, "$1***");
}
