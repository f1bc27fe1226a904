/**
 * Train/test splits computed in DuckDB and written as two Parquet files. Every split is a pure
 * function of the data and the options: a row's side comes from md5(seed, row key) (md5
 * because DuckDB's `hash()` may change between versions, and a split must not), stratified
 * splits take exactly round(n * testFraction) rows of every stratum, and time splits cut at a
 * timestamp.
 */
import { renameSync, rmSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { DataError, translateDuckError } from "./data-error.js";
import { resolveSource, type DataSource } from "./data-source.js";
import { queryRows, toNumber, withConnection } from "./duck.js";
import { parseTimestamp } from "../features/date-parts.js";
import { sqlIdent, sqlString } from "./sql-text.js";
import { temporaryPath } from "./ingest-output.js";

interface SeededSplit {
  /** Share of rows in the test side, in (0, 1). */
  testFraction: number;
  /** @default 0 */
  seed?: number;
  /**
   * Columns identifying a row (e.g. an id), so a row keeps its side when others are added or
   * reordered. @default the row's position in the source
   */
  key?: string | string[];
}

export type SplitSpec =
  | ({ method: "random" } & SeededSplit)
  /** Each value of `column` (null included) is split in the same proportion. */
  | ({ method: "stratified"; column: string } & SeededSplit)
  /** Train on rows with `column` < `cutoff`, test on the rest. Cutoff text is UTC unless it has an offset. */
  | { method: "time"; column: string; cutoff: string | number | Date }
  /** Test on the last calendar `last` (UTC) present in `column`, e.g. the newest month; train on what precedes it. */
  | { method: "time"; column: string; last: "day" | "week" | "month" | "year" };

export interface SplitResult {
  train: { path: string; rows: number };
  test: { path: string; rows: number };
}

/** Writes `train.parquet` and `test.parquet` into `outDir`. */
export async function splitDataset(source: DataSource, spec: SplitSpec, outDir: string): Promise<SplitResult> {
  const resolved = resolveSource(source);
  const file = resolved.file ?? resolved.label;
  const isTest = testPredicate(spec, file, resolved.relation);
  mkdirSync(outDir, { recursive: true });
  const out = { train: join(outDir, "train.parquet"), test: join(outDir, "test.parquet") };
  const tmp = { train: temporaryPath(out.train), test: temporaryPath(out.test) };
  try {
    return await withConnection(async (con) => {
      const assigned =
        `(SELECT *, ${isTest} AS __is_test ` +
        `FROM (SELECT *, ${spec.method === "time" ? "0" : hashExpr(spec)} AS __u FROM ${resolved.numberedRelation}))`;
      try {
        if (spec.method === "time") {
          const [nulls] = await queryRows(
            con,
            `SELECT count(*) AS n, ` +
              `min(__row) AS r FROM ${resolved.numberedRelation} WHERE ${sqlIdent(spec.column)} IS NULL`,
          );
          if ((toNumber(nulls.n) ?? 0) > 0) {
            throw new DataError(
              "COLUMN_TYPE",
              `Time column "${spec.column}" is null in ${nulls.n} rows, which belong to neither side`,
              {
                file,
                column: spec.column,
                row: toNumber(nulls.r) ?? undefined,
                hint: "Filter them out first (source `where`), or fill the timestamps upstream.",
              },
            );
          }
        }
        for (const side of ["train", "test"] as const) {
          const where = side === "test" ? "__is_test" : "NOT __is_test";
          await con.run(
            `COPY (SELECT * EXCLUDE (__row, ` +
              `__u, __is_test) FROM ${assigned} WHERE ${where} ORDER BY __row) ` +
              `TO ${sqlString(tmp[side])} (FORMAT parquet)`,
          );
        }
        const count = async (p: string) =>
          toNumber((await queryRows(con, `SELECT count(*) AS n FROM read_parquet(${sqlString(p)})`))[0].n) ?? 0;
        const rows = { train: await count(tmp.train), test: await count(tmp.test) };
        for (const side of ["train", "test"] as const) {
          if (rows[side] === 0) {
            throw new DataError(
              "EMPTY_DATASET",
              `The ${side} side of the split is empty (${rows.train} train / ${rows.test} test rows)`,
              {
                file,
                hint:
                  spec.method === "time"
                    ? "Move the cutoff inside the range of the time column."
                    : "Use a testFraction that leaves rows on both sides, or more data.",
              },
            );
          }
        }
        renameSync(tmp.train, out.train);
        renameSync(tmp.test, out.test);
        return { train: { path: out.train, rows: rows.train }, test: { path: out.test, rows: rows.test } };
      } catch (err) {
        throw translateDuckError(err, { file, column: "column" in spec ? spec.column : undefined });
      }
    });
  } finally {
    rmSync(tmp.train, { force: true });
    rmSync(tmp.test, { force: true });
  }
}

/** A uniform number in [0, 1) from md5(seed | key): the top 52 bits of the digest. */
function hashExpr(spec: SeededSplit): string {
  const keys = spec.key === undefined ? [] : Array.isArray(spec.key) ? spec.key : [spec.key];
  const key = keys.length
    ? keys.map((k) => `coalesce(CAST(${sqlIdent(k)} AS VARCHAR), '\\N')`).join(` || chr(31) || `)
    : "CAST(__row AS VARCHAR)";
  return (
    `CAST(('0x' || substr(md5(${sqlString(String(spec.seed ?? 0))} || chr(31) || ${key}), 1, 13)) AS UBIGINT) ` +
    `/ 4503599627370496.0`
  );
}

function testPredicate(spec: SplitSpec, file: string, relation: string): string {
  if (spec.method === "time" && "last" in spec) {
    if (!["day", "week", "month", "year"].includes(spec.last)) {
      throw new DataError(
        "INVALID_OPTION",
        `Split \`last\` must be day, week, month or year (got ${JSON.stringify(spec.last)})`,
        { file, column: spec.column, hint: 'e.g. last: "month"' },
      );
    }
    const ts = `CAST(${sqlIdent(spec.column)} AS TIMESTAMP)`;
    return `${ts} >= (SELECT date_trunc('${spec.last}', max(${ts})) FROM ${relation})`;
  }
  if (spec.method === "time") {
    const ms =
      spec.cutoff instanceof Date
        ? spec.cutoff.getTime()
        : typeof spec.cutoff === "number"
          ? spec.cutoff
          : parseTimestamp(spec.cutoff);
    if (!Number.isFinite(ms)) {
      throw new DataError("INVALID_OPTION", `Split cutoff ${JSON.stringify(spec.cutoff)} is not a timestamp`, {
        file,
        column: spec.column,
        hint: 'Use "YYYY-MM-DD", an ISO timestamp, epoch ms or a Date.',
      });
    }
    return `epoch_ms(CAST(${sqlIdent(spec.column)} AS TIMESTAMP)) >= ${ms}`;
  }
  if (!(spec.testFraction > 0 && spec.testFraction < 1)) {
    throw new DataError("INVALID_OPTION", `testFraction must be between 0 and 1 (got ${spec.testFraction})`, {
      file,
      hint: "e.g. testFraction: 0.2",
    });
  }
  if (spec.method === "random") return `__u < ${spec.testFraction}`;
  if (spec.method === "stratified") {
    const c = sqlIdent(spec.column);
    // Exact per-stratum counts: the rows with the smallest hashes of each stratum go to test.
    return (
      `row_number() OVER (PARTITION BY ${c} ORDER BY __u, ` +
      `__row) <= round(count(*) OVER (PARTITION BY ${c}) * ${spec.testFraction})`
    );
  }
  throw new DataError(
    "INVALID_OPTION",
    `Unknown split method ${JSON.stringify((spec as { method?: unknown }).method)}`,
    { file, hint: "Use random, stratified or time." },
  );
}
