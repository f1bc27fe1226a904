/**
 * Which files an ingestion source names (one file, a directory of partitions, or a glob) and
 * the DuckDB reader for one of them. Listing happens in TypeScript, before DuckDB runs, so an
 * empty or missing partition is reported by name and the list can feed a step's `sources`.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "./data-error.js";
import { formatFromPath, type DataFormat } from "./data-source.js";
import { queryRows, withConnection } from "./duck.js";
import { sqlString } from "./sql-text.js";

export interface FileIngest {
  /** A data file, a directory of partitions (searched recursively), or a glob such as `landing/*.parquet`. */
  path: string;
  /** @default inferred from the extension of each file */
  format?: DataFormat;
  /** CSV: column types that override sniffing, e.g. `{ zip: "VARCHAR" }`. */
  types?: Record<string, string>;
  /** CSV: field delimiter. @default "," for .csv, tab for .tsv, sniffed otherwise */
  delimiter?: string;
  /** CSV: whether the first line is a header. @default sniffed */
  header?: boolean;
  /** CSV: file encoding (`utf-8`, `utf-16`, `latin-1`). @default "utf-8" */
  encoding?: string;
  /** CSV: the longest line accepted, in bytes; a longer field is a malformed row. @default 2000000 */
  maxLineSize?: number;
}

const DATA_EXTENSIONS = /\.(parquet|pq|csv|tsv|txt|json|jsonl|ndjson)$/i;

export function isGlob(path: string): boolean {
  return /[*?[{]/.test(path);
}

/** The files a source names, sorted, each checked to exist and be non-empty. */
export async function listSourceFiles(path: string): Promise<string[]> {
  let files: string[];
  if (isGlob(path)) {
    const rows = await withConnection((con) =>
      queryRows(con, `SELECT file FROM glob(${sqlString(path)}) ORDER BY file`),
    );
    files = rows.map((r) => String(r.file)).filter((f) => DATA_EXTENSIONS.test(f));
    if (!files.length) {
      throw new DataError("FILE_NOT_FOUND", `No data files match the pattern`, {
        file: path,
        hint: "Check the pattern; relative patterns resolve from the working directory.",
      });
    }
  } else {
    const st = statOrThrow(path);
    if (st.isDirectory()) {
      files = (readdirSync(path, { recursive: true }) as string[])
        .filter(
          (f) =>
            DATA_EXTENSIONS.test(f) && !f.split(/[\\/]/).some((part) => part.startsWith(".") || part.startsWith("_")),
        )
        .map((f) => join(path, f))
        .sort();
      if (!files.length) {
        throw new DataError("FILE_NOT_FOUND", "The directory holds no data files", {
          file: path,
          hint:
            "Partitions must end in .parquet, .csv, .tsv, .json, " +
            ".jsonl or .ndjson (hidden and _-prefixed files are skipped).",
        });
      }
    } else files = [path];
  }
  for (const f of files) {
    const st = statOrThrow(f);
    if (st.size === 0)
      throw new DataError("EMPTY_FILE", "Data file is empty (0 bytes)", {
        file: f,
        hint: "The producer wrote nothing; re-run it or remove the file.",
      });
  }
  return files;
}

/** The one format of all files; mixing formats in one source is refused. */
export function commonFormat(files: readonly string[], declared?: DataFormat): DataFormat {
  if (declared) return declared;
  const format = formatFromPath(files[0]);
  const other = files.find((f) => formatFromPath(f) !== format);
  if (other) {
    throw new DataError("UNSUPPORTED_FORMAT", `Partitions mix formats (${format} and ${formatFromPath(other)})`, {
      file: other,
      hint: "Keep one format per source, or narrow the glob, e.g. dir/*.parquet.",
    });
  }
  return format;
}

/** DuckDB table function reading one text file (CSV or JSON) with the ingestion options. */
export function textReaderSql(
  file: string,
  format: DataFormat,
  opts: Omit<FileIngest, "path">,
  types?: Record<string, string>,
): string {
  const p = sqlString(file);
  if (format === "json") return `read_json_auto(${p})`;
  // The header is left to the sniffer unless given: forcing it turns a ragged line into a
  // dialect-sniffing error that names no line.
  const args = [p];
  if (opts.header !== undefined) args.push(`header = ${opts.header}`);
  const delimiter = opts.delimiter ?? (/\.tsv$/i.test(file) ? "\t" : /\.csv$/i.test(file) ? "," : undefined);
  if (delimiter) args.push(`delim = ${sqlString(delimiter)}`);
  const allTypes = { ...types, ...opts.types };
  if (Object.keys(allTypes).length)
    args.push(
      `types = {${Object.entries(allTypes)
        .map(([k, v]) => `${sqlString(k)}: ${sqlString(v)}`)
        .join(", ")}}`,
    );
  if (opts.encoding) args.push(`encoding = ${sqlString(opts.encoding)}`);
  if (opts.maxLineSize) args.push(`max_line_size = ${Math.floor(opts.maxLineSize)}`);
  return `read_csv(${args.join(", ")})`;
}

/** Newest modification time among files, in epoch ms. */
export function newestMtime(files: readonly string[]): { file: string; mtimeMs: number } {
  let best = { file: files[0], mtimeMs: -Infinity };
  for (const f of files) {
    const m = statOrThrow(f).mtimeMs;
    if (m > best.mtimeMs) best = { file: f, mtimeMs: m };
  }
  return best;
}

function statOrThrow(path: string) {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new DataError("FILE_NOT_FOUND", "Data file does not exist", {
        file: path,
        hint: "Check the path; relative paths resolve from the working directory.",
        cause: err,
      });
    throw new DataError("FILE_UNREADABLE", `Data file cannot be accessed (${code ?? "unknown"})`, {
      file: path,
      hint: "Check the file's permissions.",
      cause: err,
    });
  }
}
