/**
 * Ingestion-specific readings of DuckDB and SQLite failures, layered over the data library's
 * shared translator: which partition failed (multi-file messages name it, or not at all) and
 * the over-long line that a huge field or an unclosed quote produces.
 */
import { DataError, translateDuckError } from "./data-error.js";

/** DuckDB's message, made specific for the failures ingestion meets that the shared translator words generally. */
/** `file` is the partition being read when the message does not name one. */
export function translateIngestError(err: unknown, file: string): DataError {
  const message = err instanceof Error ? err.message : String(err);
  const named = /file "([^"]+)"/.exec(message)?.[1] || /\bfile = (\S+)/.exec(message)?.[1];
  const where = named && named !== "" ? named : file;
  const size = /Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)/i.exec(message);
  if (size) {
    const line = /CSV Error on Line: (\d+)/.exec(message)?.[1];
    return new DataError(
      "MALFORMED_ROW",
      `A line is ${size[2]} bytes long, over the ${size[1]}-byte limit (a huge field or a missing quote)`,
      {
        file: where,
        line: line ? Number(line) : undefined,
        cause: err,
        hint:
          "If the long field is real, raise maxLineSize in the source options; " +
          "otherwise look for an unclosed quote before this line.",
      },
    );
  }
  if (/is not a database|file is encrypted/i.test(message)) {
    return new DataError("FILE_UNREADABLE", "Not a SQLite database", {
      file: where,
      cause: err,
      hint: "Point `sqlite` at a SQLite database file.",
    });
  }
  return translateDuckError(err, { file: where });
}
