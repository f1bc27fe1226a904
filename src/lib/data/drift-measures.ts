/**
 * Drift measures that need the full value distributions, computed in SQL on the two-sided
 * value-count table (value-counts.ts): exact KS and Wasserstein from the two empirical CDFs
 * over distinct values (window sums), and category comparisons over the union of categories.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { queryRows, toNumber } from "./duck.js";
import { exactSums } from "./exact-sum.js";
import { columnRowsSql, finiteRowsSql, type CountedColumn, type ValueCounts } from "./value-counts.js";

export interface CdfDistances {
  /** sup |F_ref - F_cur| over all values. */
  ks: number;
  /** Integral of |F_ref - F_cur|: the 1-Wasserstein distance. */
  wasserstein: number;
  nReference: number;
  nCurrent: number;
}

/** Where the finite values of both sides lie, and an upper bound of how many distinct ones there are. */
export interface ValueSpan {
  min: number;
  max: number;
  distinct: number;
}

/**
 * Both empirical CDFs evaluated at every distinct value (side 0 = reference, 1 = current).
 * Same arithmetic as SciPy: F(v) = (#values <= v) / n, differences taken in doubles, and the
 * Wasserstein integral summed as |F_ref - F_cur| * (next value - value), exactly (exact-sum.ts),
 * so its bits do not depend on DuckDB's threads.
 */
export async function cdfDistances(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
  span: ValueSpan,
): Promise<CdfDistances> {
  const steps = `(
    WITH f AS (SELECT q, coalesce(sum(n) FILTER (WHERE s = 0), 0) AS a, coalesce(sum(n) FILTER (WHERE s = 1), 0) AS b
               FROM ${finiteRowsSql(vc, col)} GROUP BY q),
    t AS (SELECT sum(a) AS na, sum(b) AS nb FROM f)
    SELECT na, nb,
           CAST(sum(a) OVER o AS DOUBLE) / CAST(na AS DOUBLE) AS fa,
           CAST(sum(b) OVER o AS DOUBLE) / CAST(nb AS DOUBLE) AS fb,
           lead(q) OVER (ORDER BY q) - q AS dq
    FROM f, t WINDOW o AS (ORDER BY q ROWS UNBOUNDED PRECEDING))`;
  // Each area |F_ref - F_cur| * dq is at most the span of the values: one pass over the steps, and
  // 100 bits below the span keep the integral exact to far below a double's precision.
  const width = span.max - span.min;
  const sums = await exactSums(con, {
    from: steps,
    terms: { w: "abs(fa - fb) * dq" },
    known: Number.isFinite(width) ? [{ group: null, weight: span.distinct, largest: { w: width } }] : undefined,
    bits: 100,
    also: { ks: "max(abs(fa - fb))", na: "any_value(na)", nb: "any_value(nb)" },
  });
  const r = sums.get("") ?? {};
  return {
    ks: r.ks ?? NaN,
    wasserstein: r.w ?? 0,
    nReference: r.na ?? 0,
    nCurrent: r.nb ?? 0,
  };
}

export interface CategoryComparison {
  categories: number;
  nReference: number;
  nCurrent: number;
  lInfinity: number;
  jsDistance: number;
  chiSquare: number;
  newCount: number;
  vanishedCount: number;
  /** Rows of the current data in categories the reference never saw. */
  newRows: number;
  newExamples: string[];
  vanishedExamples: string[];
  /** Largest categories by combined share, for charts: [value, refCount, curCount]. */
  top: [string, number, number][];
}

/**
 * Category distances over the union of non-null categories, all in SQL so high-cardinality
 * columns never reach JS. The chi-square expectation smooths the reference with +0.5 per
 * category (see `CHI_SQUARE_PSEUDOCOUNT` in drift.ts).
 */
export async function compareCategories(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
  pseudoCount: number,
): Promise<CategoryComparison> {
  const base = `(SELECT q, coalesce(sum(n) FILTER (WHERE s = 0), 0) AS a, coalesce(sum(n) FILTER (WHERE s = 1), 0) AS b
                 FROM ${columnRowsSql(vc, col)} WHERE q IS NOT NULL GROUP BY q)`;
  const shares = `
    WITH f AS ${base},
    t AS (SELECT sum(a) AS na, sum(b) AS nb, count(*) AS k FROM f),
    p AS (SELECT q, a, b, CAST(a AS DOUBLE) / na AS pa, CAST(b AS DOUBLE) / nb AS pb,
                 nb * (a + ${pseudoCount}) / (na + ${pseudoCount} * k) AS e FROM f, t)`;
  const rows = await queryRows(
    con,
    `${shares}
    SELECT (SELECT k FROM t) AS k, (SELECT na FROM t) AS na, (SELECT nb FROM t) AS nb,
           max(abs(pa - pb)) AS linf,
           count(*) FILTER (WHERE a = 0) AS new_count, count(*) FILTER (WHERE b = 0) AS vanished_count,
           coalesce(sum(b) FILTER (WHERE a = 0), 0) AS new_rows
    FROM p`,
  );
  // Sums of doubles are exact (exact-sum.ts): the same bits whatever DuckDB's thread count.
  const sums =
    (
      await exactSums(con, {
        from: `(${shares} SELECT * FROM p)`,
        terms: {
          left: "CASE WHEN pa > 0 THEN pa * ln(pa / ((pa + pb) / 2)) ELSE 0 END",
          right: "CASE WHEN pb > 0 THEN pb * ln(pb / ((pa + pb) / 2)) ELSE 0 END",
          chi: "(b - e) * (b - e) / e",
        },
      })
    ).get("") ?? {};
  const r = rows[0] ?? {};
  const examples = await queryRows(
    con,
    `
    WITH f AS ${base}
    SELECT 'new' AS kind, q FROM (SELECT q FROM f WHERE a = 0 ORDER BY b DESC, q LIMIT 20)
    UNION ALL SELECT 'vanished', q FROM (SELECT q FROM f WHERE b = 0 ORDER BY a DESC, q LIMIT 20)`,
  );
  const top = await queryRows(
    con,
    `
    WITH f AS ${base}, t AS (SELECT sum(a) AS na, sum(b) AS nb FROM f)
    SELECT q, a, b FROM f, t ORDER BY CAST(a AS DOUBLE) / greatest(na, 1) + CAST(b AS DOUBLE) / greatest(nb,
      1) DESC, q LIMIT 15`,
  );
  const left = sums.left ?? 0;
  const right = sums.right ?? 0;
  return {
    categories: toNumber(r.k) ?? 0,
    nReference: toNumber(r.na) ?? 0,
    nCurrent: toNumber(r.nb) ?? 0,
    lInfinity: toNumber(r.linf) ?? NaN,
    jsDistance: Math.sqrt(Math.max(0, (left + right) / 2)),
    chiSquare: sums.chi ?? NaN,
    newCount: toNumber(r.new_count) ?? 0,
    vanishedCount: toNumber(r.vanished_count) ?? 0,
    newRows: toNumber(r.new_rows) ?? 0,
    newExamples: examples.filter((e) => e.kind === "new").map((e) => String(e.q)),
    vanishedExamples: examples.filter((e) => e.kind === "vanished").map((e) => String(e.q)),
    top: top.map((t) => [String(t.q), toNumber(t.a) ?? 0, toNumber(t.b) ?? 0]),
  };
}
