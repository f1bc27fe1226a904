/**
 * What a dataset is to the data library: a file (Parquet, CSV, JSON) with optional reader
 * options and a row filter, or an arbitrary SQL query. Resolving a source checks the file up
 * front (missing, empty, a directory) so the common mistakes get precise errors before DuckDB
 * runs, and yields the relation SQL every query builder wraps.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { extname } from "node:path";
import { DataError } from "./data-error.js";
import { sqlIdent, sqlString } from "./sql-text.js";

export type DataFormat = "parquet" | "csv" | "json";

export interface FileSource {
  path: string;
  /** @default inferred from the extension (.parquet/.pq, .csv/.tsv/.txt, .json/.jsonl/.ndjson) */
  format?: DataFormat;
  /** SQL predicate applied to the rows, e.g. `month(date) = 6`. */
  where?: string;
  /** Name used in reports and in the `source` of profiles and drift reports. @default the path */
  label?: string;
  /** CSV only: column types that override sniffing, e.g. `{ zip: "VARCHAR" }`. */
  types?: Record<string, string>;
  /** CSV only: skip malformed rows instead of failing. @default false */
  ignoreErrors?: boolean;
  /** CSV only: file encoding (`utf-8`, `utf-16`, `latin-1`). @default "utf-8" */
  encoding?: string;
  /** CSV only: field delimiter. @default sniffed */
  delimiter?: string;
}

export interface SqlSource {
  /** A SELECT statement producing the rows. */
  sql: string;
  /** Name used in messages and reports. */
  label?: string;
}

/** A path, a file with options, or a query. */
export type DataSource = string | FileSource | SqlSource;

export interface ResolvedSource {
  /** A parenthesized relation: `(SELECT * FROM read_parquet('x.parquet') WHERE ...)`. */
  relation: string;
  /** The same rows plus a 1-based `__row` column (physical order), for pointing at offenders. */
  numberedRelation: string;
  label: string;
  file?: string;
  format?: DataFormat;
}

export function sourceLabel(source: DataSource): string {
  if (typeof source === "string") return source;
  if ("path" in source) {
    const name = source.label ?? source.path;
    return source.where ? `${name} [${source.where}]` : name;
  }
  return source.label ?? "sql query";
}

export function resolveSource(source: DataSource): ResolvedSource {
  if (typeof source === "string") return resolveFile({ path: source });
  if ("path" in source) return resolveFile(source);
  if (typeof source.sql !== "string" || source.sql.trim() === "") {
    throw new DataError("INVALID_OPTION", "A SQL source needs a non-empty `sql` query", {
      hint: 'Pass { sql: "SELECT ..." } or a file path.',
    });
  }
  const relation = `(${source.sql})`;
  return {
    relation,
    numberedRelation: `(SELECT *, row_number() OVER () AS __row FROM ${relation})`,
    label: source.label ?? "sql query",
  };
}

function resolveFile(source: FileSource): ResolvedSource {
  const path = source.path;
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      throw new DataError("FILE_UNREADABLE", "Expected a data file but found a directory", {
        file: path,
        hint: "Point at a .parquet/.csv/.json file (globs like dir/*.parquet are not accepted here).",
      });
    }
    size = st.size;
  } catch (err) {
    if (err instanceof DataError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new DataError("FILE_NOT_FOUND", "Data file does not exist", {
        file: path,
        hint: "Check the path; relative paths resolve from the working directory.",
        cause: err,
      });
    }
    throw new DataError("FILE_UNREADABLE", `Data file cannot be accessed (${code ?? "unknown"})`, {
      file: path,
      hint: "Check the file's permissions.",
      cause: err,
    });
  }
  if (size === 0) {
    throw new DataError("EMPTY_FILE", "Data file is empty (0 bytes)", {
      file: path,
      hint: "The producer wrote nothing; re-run the step that writes this file.",
    });
  }
  const format = source.format ?? formatFromPath(path);
  if (format === "parquet") checkParquetMagic(path, source.format !== undefined);
  const reader = readerSql(path, format, source);
  const where = source.where ? ` WHERE ${source.where}` : "";
  const relation = `(SELECT * FROM ${reader}${where})`;
  // Parquet knows each row's position; text formats are read in order (insertion order is
  // preserved), so a window over the scan numbers rows as they appear in the file.
  const numberedRelation =
    format === "parquet"
      ? `(SELECT * EXCLUDE (file_row_number), ` +
        `file_row_number + 1 AS __row FROM ${readerSql(path, format, source, true)}${where})`
      : `(SELECT * FROM (SELECT *, row_number() OVER () AS __row FROM ${reader})${where})`;
  return { relation, numberedRelation, label: sourceLabel(source), file: path, format };
}

/**
 * Parquet files start with "PAR1". Checked before DuckDB runs so that a CSV or JSON file read
 * as Parquet says which format to declare instead of "No magic bytes found".
 */
function checkParquetMagic(path: string, declared: boolean): void {
  const head = Buffer.alloc(4);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    readSync(fd, head, 0, 4, 0);
  } catch {
    return; // Unreadable files get DuckDB's precise error.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (head.toString("latin1") === "PAR1") return;
  const text = [...head].every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc2);
  const as = `The file is read as Parquet${declared ? " (its declared format)" : ""} but has no Parquet header`;
  if (!text)
    throw new DataError("FILE_UNREADABLE", `${as}: it is corrupt or in another format`, {
      file: path,
      hint: "Re-export it, or declare its real format.",
    });
  const guess = head[0] === 0x7b || head[0] === 0x5b ? "json" : "csv";
  throw new DataError("FILE_UNREADABLE", `${as}; it looks like ${guess.toUpperCase()}`, {
    file: path,
    hint:
      `Declare its format: { path, ` +
      `format: "${guess}" }, ctx.dataset(path, { format: "${guess}" }), or give a command output a .${guess} name.`,
  });
}

export function formatFromPath(path: string): DataFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".parquet" || ext === ".pq") return "parquet";
  if (ext === ".csv" || ext === ".tsv" || ext === ".txt") return "csv";
  if (ext === ".json" || ext === ".jsonl" || ext === ".ndjson") return "json";
  throw new DataError("UNSUPPORTED_FORMAT", `Cannot tell the format of "${ext || "(no extension)"}" files`, {
    file: path,
    hint: 'Pass { path, format: "parquet" | "csv" | "json" }.',
  });
}

function readerSql(path: string, format: DataFormat, opts: FileSource, rowNumbers = false): string {
  const p = sqlString(path);
  if (format === "parquet") return rowNumbers ? `read_parquet(${p}, file_row_number = true)` : `read_parquet(${p})`;
  if (format === "json") return `read_json_auto(${p})`;
  const args: string[] = [p];
  if (opts.types) {
    const entries = Object.entries(opts.types).map(([k, v]) => `${sqlString(k)}: ${sqlString(v)}`);
    args.push(`types = {${entries.join(", ")}}`);
  }
  if (opts.ignoreErrors) args.push("ignore_errors = true");
  if (opts.encoding) args.push(`encoding = ${sqlString(opts.encoding)}`);
  // A fixed delimiter for .csv/.tsv: left to the sniffer, rows with a wrong field count make it
  // fall back to one big text column instead of reporting the malformed line.
  const delimiter =
    opts.delimiter ??
    (path.toLowerCase().endsWith(".tsv") ? "\t" : path.toLowerCase().endsWith(".csv") ? "," : undefined);
  if (delimiter) args.push(`delim = ${sqlString(delimiter)}`);
  return `read_csv_auto(${args.join(", ")})`;
}

/** `"a", "b"` for a column list. */
export function columnList(names: readonly string[]): string {
  return names.map(sqlIdent).join(", ");
}
