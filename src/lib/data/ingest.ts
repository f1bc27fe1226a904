/**
 * Ingestion: any supported source -> one Parquet file written by DuckDB, plus the dataset meta
 * (`rows`, `schema`) downstream steps and the cache explanation use. Sources are a file, a
 * directory or glob of partitions (CSV, Parquet, JSON/JSON lines), or a SQL query against a
 * SQLite file (PostgreSQL streams through a server-side cursor with `pg`, see ingest-sqlite.ts).
 *
 * Text partitions are read one at a time into a staging table, with the column types of the
 * first: a bad line is then reported with its own file and line instead of DuckDB's
 * multi-file sniffing error that names no file.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { DataError } from "./data-error.js";
import { resolveSource } from "./data-source.js";
import { describeColumns } from "./schema.js";
import { translateIngestError } from "./ingest-errors.js";
import { queryRows, tempName, toNumber, withConnection } from "./duck.js";
import { commonFormat, listSourceFiles, textReaderSql, type FileIngest } from "./ingest-files.js";
import {
  publishParquet,
  temporaryPath,
  type IngestOptions,
  type IngestResult,
  type RowOrigin,
} from "./ingest-output.js";
import { ingestPostgres, ingestSqlite, type PostgresIngest, type SqliteIngest } from "./ingest-sqlite.js";
import { sqlString } from "./sql-text.js";

export type IngestSource = FileIngest | SqliteIngest | PostgresIngest;
export type { FileIngest, SqliteIngest, PostgresIngest, IngestOptions, IngestResult };

/** Reads `source` and writes it to `outPath` as Parquet; nothing is left at `outPath` on failure. */
export async function ingest(source: IngestSource, outPath: string, opts: IngestOptions = {}): Promise<IngestResult> {
  if ("sqlite" in source) return ingestSqlite(source, outPath, opts);
  if ("postgres" in source) return ingestPostgres(source, outPath, opts);
  if (typeof source.path !== "string" || source.path === "") {
    throw new DataError("INVALID_OPTION", "An ingestion source needs a `path`, `sqlite` or `postgres`", {
      hint: 'e.g. { path: "landing/*.csv" } or { sqlite: "shop.db", query: "SELECT * FROM orders" }',
    });
  }
  const files = await listSourceFiles(source.path);
  const format = commonFormat(files, source.format);
  const tmp = temporaryPath(outPath);
  return withConnection(async (con) => {
    const origin: RowOrigin = { files };
    if (format === "parquet") {
      const list = `[${files.map(sqlString).join(", ")}]`;
      await copyOrTranslate(
        con,
        `COPY (SELECT * FROM read_parquet(${list}, union_by_name = true)) TO ${sqlString(tmp)} (FORMAT parquet)`,
        files.length === 1 ? files[0] : source.path,
      );
      if (files.length > 1) origin.rowsPerFile = await parquetRowCounts(con, files);
    } else if (files.length === 1) {
      await copyOrTranslate(
        con,
        `COPY (SELECT * FROM ${textReaderSql(files[0], format, source)}) TO ${sqlString(tmp)} (FORMAT parquet)`,
        files[0],
      );
    } else {
      origin.rowsPerFile = await stageTextPartitions(con, files, format, source, tmp);
    }
    return publishParquet(con, tmp, outPath, origin, opts);
  });
}

async function copyOrTranslate(con: DuckDBConnection, sql: string, file: string): Promise<void> {
  try {
    await con.run(sql);
  } catch (err) {
    const error = translateIngestError(err, file);
    // A ragged line in a small CSV fails DuckDB's sniffer without a line number; the schema
    // reader knows how to find that line on this error path.
    if (error.code === "MALFORMED_ROW" && error.line === undefined && /\.(csv|tsv|txt)$/i.test(error.file ?? "")) {
      throw await describeColumns(con, resolveSource({ path: error.file!, format: "csv" })).then(
        () => error,
        (located: unknown) => located,
      );
    }
    throw error;
  }
}

/** Reads each text partition into one staging table (types fixed by the first), then writes Parquet. */
async function stageTextPartitions(
  con: DuckDBConnection,
  files: string[],
  format: "csv" | "json",
  source: FileIngest,
  tmp: string,
): Promise<number[]> {
  const table = tempName("ingest");
  const counts: number[] = [];
  try {
    await copyOrTranslate(
      con,
      `CREATE TEMP TABLE ${table} AS SELECT * FROM ${textReaderSql(files[0], format, source)}`,
      files[0],
    );
    counts.push(toNumber((await queryRows(con, `SELECT count(*) AS n FROM ${table}`))[0].n) ?? 0);
    const columns = (await queryRows(con, `DESCRIBE ${table}`)).map((r) => ({
      name: String(r.column_name),
      type: String(r.column_type),
    }));
    const types = format === "csv" ? Object.fromEntries(columns.map((c) => [c.name, c.type])) : undefined;
    for (const file of files.slice(1)) {
      const reader = textReaderSql(file, format, source, types);
      const names = (
        await queryRows(con, `DESCRIBE SELECT * FROM ${reader}`).catch((err) => {
          throw translateIngestError(err, file);
        })
      ).map((r) => String(r.column_name));
      const missing = columns.map((c) => c.name).filter((n) => !names.includes(n));
      const extra = names.filter((n) => !columns.some((c) => c.name === n));
      if (missing.length || extra.length) {
        const differences = [
          ...(missing.length ? [`missing ${missing.join(", ")}`] : []),
          ...(extra.length ? [`extra ${extra.join(", ")}`] : []),
        ];
        throw new DataError(
          "COLUMN_NOT_FOUND",
          `Partition columns differ from the first partition's (${differences.join("; ")})`,
          {
            file,
            column: missing[0] ?? extra[0],
            hint: `Every partition needs the columns of ${files[0]}: ${columns.map((c) => c.name).join(", ")}.`,
          },
        );
      }
      const before = toNumber((await queryRows(con, `SELECT count(*) AS n FROM ${table}`))[0].n) ?? 0;
      await copyOrTranslate(con, `INSERT INTO ${table} BY NAME SELECT * FROM ${reader}`, file);
      counts.push((toNumber((await queryRows(con, `SELECT count(*) AS n FROM ${table}`))[0].n) ?? 0) - before);
    }
    await copyOrTranslate(con, `COPY ${table} TO ${sqlString(tmp)} (FORMAT parquet)`, files[0]);
    return counts;
  } finally {
    await con.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
}

async function parquetRowCounts(con: DuckDBConnection, files: string[]): Promise<number[]> {
  const rows = await queryRows(
    con,
    `SELECT file_name AS f, ` +
      `sum(row_group_num_rows) AS n FROM parquet_metadata([${files.map(sqlString).join(", ")}]) GROUP BY file_name`,
  );
  const byFile = new Map(rows.map((r) => [String(r.f), toNumber(r.n) ?? 0]));
  return files.map((f) => byFile.get(f) ?? 0);
}
