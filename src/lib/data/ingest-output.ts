/**
 * The last stage of every ingestion: a Parquet file DuckDB wrote under a temporary name is
 * checked (rows, mixed JSON types, NaN/Infinity, required columns) and only then renamed into
 * place, so a failed ingestion never leaves a half-written or invalid dataset behind.
 */
import { renameSync, rmSync } from "node:fs";
import type { DuckDBConnection } from "@duckdb/node-api";
import { DataError } from "./data-error.js";
import { queryRows, toNumber, toPlain } from "./duck.js";
import { sqlIdent, sqlString } from "./sql-text.js";

export interface IngestOptions {
  /** Columns that must be present; a missing one fails the ingestion. @default none */
  requireColumns?: string[];
  /** Accept a source with zero rows. @default false */
  allowEmpty?: boolean;
  /** Accept NaN and ±Infinity in floating-point columns. @default false */
  allowNonFinite?: boolean;
}

export interface IngestResult {
  /** The Parquet file written. */
  path: string;
  rows: number;
  schema: { name: string; type: string }[];
  /** Files read, in order (the SQLite database for a query). */
  files: string[];
  /** Per column, recorded at write time: null count, min, max, approximate distinct count. */
  summary: Record<string, ColumnSummary>;
}

export interface ColumnSummary {
  nulls: number;
  min: unknown;
  max: unknown;
  distinct: number;
}

/** Where each input file's rows start in the output, to turn an output row back into (file, row). */
export interface RowOrigin {
  files: string[];
  /** Rows per file, same order as `files`; unknown counts (a single source) may be omitted. */
  rowsPerFile?: number[];
}

export function temporaryPath(outPath: string): string {
  return `${outPath}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Validates `tmp` and renames it to `outPath`; on any failure removes `tmp` and rethrows. */
export async function publishParquet(
  con: DuckDBConnection,
  tmp: string,
  outPath: string,
  origin: RowOrigin,
  opts: IngestOptions,
): Promise<IngestResult> {
  try {
    const scan = `read_parquet(${sqlString(tmp)}, file_row_number = true)`;
    const described = await queryRows(con, `DESCRIBE SELECT * EXCLUDE (file_row_number) FROM ${scan}`);
    const schema = described.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    for (const name of opts.requireColumns ?? []) {
      if (!schema.some((c) => c.name === name)) {
        throw new DataError("COLUMN_NOT_FOUND", `Required column "${name}" is missing`, {
          file: origin.files[0],
          column: name,
          hint: `The source has ${schema.map((c) => c.name).join(", ")}; fix the producer or the column name.`,
        });
      }
    }
    const rows =
      toNumber((await queryRows(con, `SELECT count(*) AS n FROM read_parquet(${sqlString(tmp)})`))[0]?.n) ?? 0;
    if (rows === 0 && !opts.allowEmpty) {
      throw new DataError("EMPTY_DATASET", "The source has no data rows", {
        file: origin.files[0],
        hint: "Check the producer (or the query); pass allowEmpty: true if an empty batch is expected.",
      });
    }
    for (const col of schema) {
      if (col.type === "JSON") await rejectMixedJson(con, scan, col.name, origin);
      if (!opts.allowNonFinite && /^(DOUBLE|FLOAT|REAL)$/i.test(col.type))
        await rejectNonFinite(con, scan, col.name, origin);
    }
    const summary = await summarize(con, tmp, schema);
    renameSync(tmp, outPath);
    return { path: outPath, rows, schema, files: origin.files, summary };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** One aggregate scan: what the dataset artifact carries as its profile summary. */
async function summarize(
  con: DuckDBConnection,
  file: string,
  schema: { name: string; type: string }[],
): Promise<Record<string, ColumnSummary>> {
  const comparable = (type: string) => !/^(STRUCT|MAP|UNION|JSON|BLOB)|\[\]$/.test(type);
  const cols = schema.filter((c) => comparable(c.type));
  if (!cols.length) return {};
  const parts = cols.flatMap((c, i) => {
    const q = sqlIdent(c.name);
    return [
      `count(*) - count(${q}) AS n${i}`,
      `min(${q}) AS lo${i}`,
      `max(${q}) AS hi${i}`,
      `approx_count_distinct(${q}) AS d${i}`,
    ];
  });
  const [row] = await queryRows(con, `SELECT ${parts.join(", ")} FROM read_parquet(${sqlString(file)})`);
  const plain = (v: unknown) => {
    const x = toPlain(v);
    return typeof x === "bigint" ? Number(x) : x instanceof Date ? x.toISOString() : x;
  };
  const out: Record<string, ColumnSummary> = {};
  cols.forEach((c, i) => {
    out[c.name] = {
      nulls: toNumber(row[`n${i}`]) ?? 0,
      min: plain(row[`lo${i}`]),
      max: plain(row[`hi${i}`]),
      distinct: toNumber(row[`d${i}`]) ?? 0,
    };
  });
  return out;
}

/** Maps a 1-based output row to the input file and its 1-based row. */
export function locateRow(origin: RowOrigin, row: number): { file: string; row: number } {
  if (!origin.rowsPerFile || origin.files.length === 1) return { file: origin.files[0], row };
  let start = 0;
  for (let i = 0; i < origin.files.length; i++) {
    const n = origin.rowsPerFile[i] ?? 0;
    if (row <= start + n) return { file: origin.files[i], row: row - start };
    start += n;
  }
  return { file: origin.files[origin.files.length - 1], row: row - start };
}

async function rejectNonFinite(con: DuckDBConnection, scan: string, column: string, origin: RowOrigin): Promise<void> {
  const c = sqlIdent(column);
  const [hit] = await queryRows(
    con,
    `SELECT file_row_number + 1 AS r, CAST(${c} AS VARCHAR) AS v, ` +
      `count(*) OVER () AS n FROM ${scan} WHERE isnan(${c}) OR isinf(${c}) ORDER BY file_row_number LIMIT 1`,
  );
  if (!hit) return;
  const where = locateRow(origin, toNumber(hit.r) ?? 0);
  throw new DataError("NON_FINITE_VALUE", `Column "${column}" holds ${hit.v} (${hit.n} non-finite values in all)`, {
    file: where.file,
    row: where.row,
    column,
    hint: "Fix the producer, map them to null upstream, or pass allowNonFinite: true if they are meaningful.",
  });
}

async function rejectMixedJson(con: DuckDBConnection, scan: string, column: string, origin: RowOrigin): Promise<void> {
  const c = sqlIdent(column);
  // A JSON column is how DuckDB reads a field whose records disagree on its type.
  const types = await queryRows(
    con,
    `SELECT json_type(${c}) AS t, min(file_row_number) + 1 AS r, ` +
      `count(*) AS n FROM ${scan} WHERE ${c} IS NOT NULL GROUP BY 1 ORDER BY n DESC, r`,
  );
  if (types.length <= 1) return;
  const minority = types[types.length - 1];
  const where = locateRow(origin, toNumber(minority.r) ?? 0);
  throw new DataError(
    "MIXED_TYPES",
    `Field "${column}" mixes JSON types (${types.map((t) => `${t.t} x${t.n}`).join(", ")})`,
    {
      file: where.file,
      row: where.row,
      column,
      hint: `Make every record use one type for "${column}" (the first ${minority.t} is at this row).`,
    },
  );
}
