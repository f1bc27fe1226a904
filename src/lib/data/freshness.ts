/**
 * Freshness: is the newest data recent enough to train on? Checked before anything expensive
 * runs, against the newest value of a timestamp column or, without a column, the newest file
 * modification time. `now` is injectable so the check is testable and reproducible.
 */
import { DataError, translateDuckError, type DataErrorCode } from "./data-error.js";
import { queryRows, toNumber, withConnection } from "./duck.js";
import { commonFormat, listSourceFiles, newestMtime, textReaderSql } from "./ingest-files.js";
import { sqlIdent, sqlString } from "./sql-text.js";

export interface FreshnessOptions {
  /** Timestamp column whose newest value must be recent. @default the newest file modification time */
  column?: string;
  /** Largest accepted age: milliseconds or "90s", "30m", "36h", "7d". */
  maxAge: number | string;
  /** The reference time. @default Date.now() */
  now?: Date | number;
}

export interface FreshnessResult {
  source: string;
  basis: "column" | "mtime";
  column?: string;
  /** ISO-8601 time of the newest data. */
  newest: string;
  ageMs: number;
  maxAgeMs: number;
}

// Not in DataErrorCode yet; the data library owns that union (see the closing note).
const STALE = "STALE_DATA" as DataErrorCode;

/** Throws a DataError (code STALE_DATA) naming the source, column and age when the data are too old. */
export async function checkFreshness(path: string, opts: FreshnessOptions): Promise<FreshnessResult> {
  const maxAgeMs = parseDuration(opts.maxAge);
  const now = opts.now === undefined ? Date.now() : opts.now instanceof Date ? opts.now.getTime() : opts.now;
  const files = await listSourceFiles(path);
  let newest: number;
  let file = files.length === 1 ? files[0] : path;
  if (opts.column) {
    newest = await newestTimestamp(files, opts.column, file);
  } else {
    const m = newestMtime(files);
    newest = m.mtimeMs;
    file = m.file;
  }
  const ageMs = now - newest;
  const result: FreshnessResult = {
    source: file,
    basis: opts.column ? "column" : "mtime",
    column: opts.column,
    newest: new Date(newest).toISOString(),
    ageMs,
    maxAgeMs,
  };
  if (ageMs > maxAgeMs) {
    throw new DataError(
      STALE,
      `Data are stale: ` +
        `the newest ${opts.column ? `"${opts.column}"` : "file"} is ${formatDuration(ageMs)} old (${result.newest}), ` +
        `over the ${formatDuration(maxAgeMs)} bound`,
      {
        file,
        column: opts.column,
        rule: "freshness",
        hint: "The upstream feed has not delivered recent data; check it, or raise maxAge if this lag is expected.",
      },
    );
  }
  return result;
}

async function newestTimestamp(files: string[], column: string, file: string): Promise<number> {
  const format = commonFormat(files);
  const relation =
    format === "parquet"
      ? `read_parquet([${files.map(sqlString).join(", ")}], union_by_name = true)`
      : files.map((f) => `SELECT * FROM ${textReaderSql(f, format, {})}`).join(" UNION ALL BY NAME ");
  const from = format === "parquet" ? relation : `(${relation})`;
  const value = await withConnection(async (con) => {
    try {
      // Checked up front: a binder error that echoes read_parquet(...) would read as an unreadable file.
      const columns = (await queryRows(con, `DESCRIBE SELECT * FROM ${from}`)).map((r) => String(r.column_name));
      if (!columns.includes(column)) {
        throw new DataError("COLUMN_NOT_FOUND", `Freshness column "${column}" is not in the data`, {
          file,
          column,
          hint: `Available columns: ${columns.join(", ")}.`,
        });
      }
      const [row] = await queryRows(
        con,
        `SELECT epoch_ms(max(CAST(${sqlIdent(column)} AS TIMESTAMP))) AS t FROM ${from}`,
      );
      return toNumber(row.t);
    } catch (err) {
      throw translateDuckError(err, { file, column });
    }
  });
  if (value === null) {
    throw new DataError("EMPTY_DATASET", `Column "${column}" has no timestamps, so freshness cannot be judged`, {
      file,
      column,
      hint: "The source is empty or the column is all null.",
    });
  }
  return value;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of a number or "90s" / "30m" / "36h" / "7d" / "2w". */
export function parseDuration(value: number | string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  const m = typeof value === "string" ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(value) : null;
  if (!m)
    throw new DataError("INVALID_OPTION", `maxAge ${JSON.stringify(value)} is not a duration`, {
      hint: 'Use milliseconds or a string like "36h" or "7d".',
    });
  return Number(m[1]) * UNITS[m[2]];
}

export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= 86_400_000) return `${(ms / 86_400_000).toFixed(1)}d`;
  if (abs >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)}h`;
  if (abs >= 60_000) return `${(ms / 60_000).toFixed(1)}m`;
  return `${(ms / 1000).toFixed(1)}s`;
}
