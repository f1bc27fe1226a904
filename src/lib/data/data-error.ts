/**
 * The one error class of the data library. Every failure names the file, and where known the
 * column, row (1-based data row, header excluded) and rule, plus a hint saying what to do.
 * It extends the product-wide TrainyardError so the engine and CLI classify it like any other.
 */
import { TrainyardError } from "../../index.js";

export type DataErrorCode =
  | "FILE_NOT_FOUND"
  | "FILE_UNREADABLE"
  | "EMPTY_FILE"
  | "EMPTY_DATASET"
  | "UNSUPPORTED_FORMAT"
  | "MALFORMED_ROW"
  | "MIXED_TYPES"
  | "INVALID_ENCODING"
  | "NON_FINITE_VALUE"
  | "COLUMN_NOT_FOUND"
  | "COLUMN_TYPE"
  | "INVALID_OPTION"
  | "CONTRACT_INVALID"
  | "QUERY_FAILED"
  | "STALE_DATA";

export interface DataErrorFields {
  file?: string;
  column?: string;
  /** 1-based data row (header excluded) when the engine reports it. */
  row?: number;
  /** 1-based physical line in a text file when the engine reports it. */
  line?: number;
  rule?: string;
  hint: string;
  cause?: unknown;
}

export class DataError extends TrainyardError {
  declare readonly code: DataErrorCode;
  declare readonly hint: string;
  readonly file?: string;
  readonly column?: string;
  readonly row?: number;
  readonly line?: number;
  readonly rule?: string;

  constructor(code: DataErrorCode, message: string, fields: DataErrorFields) {
    const { hint, cause, ...where } = fields;
    super(code, decorate(message, where), { hint, cause, ...where });
    this.name = "DataError";
    this.file = where.file;
    this.column = where.column;
    this.row = where.row;
    this.line = where.line;
    this.rule = where.rule;
  }
}

function decorate(message: string, where: Omit<DataErrorFields, "hint" | "cause">): string {
  const parts: string[] = [];
  if (where.file) parts.push(`file ${where.file}`);
  if (where.line !== undefined) parts.push(`line ${where.line}`);
  if (where.row !== undefined) parts.push(`row ${where.row}`);
  if (where.column) parts.push(`column "${where.column}"`);
  if (where.rule) parts.push(`rule ${where.rule}`);
  return parts.length ? `${message} (${parts.join(", ")})` : message;
}

export function isDataError(err: unknown): err is DataError {
  return err instanceof DataError;
}

/** DuckDB's words for a CSV row it could not read (sniffing, dialect, column count, line size). */
const MALFORMED_CSV = new RegExp(
  "csv error|error when sniffing|parsing dialect|expected number of columns|too many columns|unterminated|" +
    String.raw`maximum line size|found \d+ columns`,
  "i",
);

/**
 * Maps a DuckDB failure to a DataError. DuckDB's messages are the only place the line, column
 * and cause of a bad CSV/JSON row are available, so they are parsed here, in one place.
 */
export function translateDuckError(err: unknown, ctx: { file?: string; column?: string; sql?: string }): DataError {
  if (err instanceof DataError) return err;
  const message = err instanceof Error ? err.message : String(err);
  // Case-sensitive on purpose: "LINE 1:" is DuckDB pointing into the SQL text, not the file.
  const line = matchInt(message, /(?:[Oo]n [Ll]ine|\bLine):?\s*(\d+)/);
  const column = matchText(message, /Column:?\s*"?([^\s"\n,]+)"?/) ?? ctx.column;
  const first = message.split("\n")[0] ?? message;
  const base = { file: ctx.file, cause: err };
  // A CSV line number counts the header; the data row is one less when a header exists.
  const row = line !== undefined && line > 1 ? line - 1 : undefined;
  if (/invalid unicode|byte sequence mismatch|not utf-?8 encoded/i.test(message)) {
    return new DataError("INVALID_ENCODING", `File is not valid UTF-8: ${first}`, {
      ...base,
      line,
      row,
      column,
      hint:
        "Re-encode the file to UTF-8 (e.g. " +
        '`iconv -f latin1 -t utf-8`) or pass `encoding: "latin-1"` in the source options.',
    });
  }
  if (/could not convert|conversion error|could not parse|type mismatch|failed to cast/i.test(message)) {
    return new DataError("MIXED_TYPES", `A value does not match the column's detected type: ${first}`, {
      ...base,
      line,
      row,
      column,
      hint:
        "The column mixes types (the type was sniffed from the first rows). Fix the value, " +
        'or read the column as text with `types: { col: "VARCHAR" }` and validate it with a contract.',
    });
  }
  if (MALFORMED_CSV.test(message)) {
    return new DataError("MALFORMED_ROW", `Malformed CSV row: ${first}`, {
      ...base,
      line,
      row,
      column,
      hint:
        "Check the delimiter, quoting and the number of fields on that line; " +
        "pass `ignoreErrors: true` to skip malformed rows.",
    });
  }
  if (/malformed json|json.*(error|invalid)|invalid json/i.test(message)) {
    return new DataError("MALFORMED_ROW", `Malformed JSON: ${first}`, {
      ...base,
      line,
      row,
      column,
      hint: "Each record must be valid JSON (newline-delimited or an array of objects).",
    });
  }
  if (/no files found|does not exist|no such file/i.test(message)) {
    return new DataError("FILE_NOT_FOUND", `File not found: ${first}`, {
      ...base,
      hint: "Check the path; relative paths resolve from the process working directory.",
    });
  }
  if (
    /magic bytes|not a parquet|parquet|permission denied|cannot open|could not open|is a directory|io error/i.test(
      message,
    )
  ) {
    return new DataError("FILE_UNREADABLE", `File cannot be read: ${first}`, {
      ...base,
      hint:
        "The file is corrupt, truncated, not in the expected format, " +
        "or not readable by this process. Re-export it, or set `format` explicitly.",
    });
  }
  if (/referenced column|column .* not found|binder error/i.test(message)) {
    return new DataError("COLUMN_NOT_FOUND", `Query references something the data does not have: ${first}`, {
      ...base,
      column,
      hint: "Check the column names against `readSchema(source)`.",
    });
  }
  return new DataError("QUERY_FAILED", `DuckDB failed: ${first}`, {
    ...base,
    column,
    line,
    row,
    hint: "See the cause for the engine's full message.",
  });
}

function matchInt(text: string, re: RegExp): number | undefined {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
}

function matchText(text: string, re: RegExp): string | undefined {
  const m = re.exec(text);
  return m ? m[1] : undefined;
}
