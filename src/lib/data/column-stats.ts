/**
 * Per-column summaries computed on the value-count table (see value-counts.ts): moments,
 * exact quantiles, fixed-edge histograms and top-k frequencies, for every side at once.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { queryRows, toNumber } from "./duck.js";
import { exactSums } from "./exact-sum.js";
import { sqlDouble, sqlNumber, sqlString } from "./sql-text.js";
import { columnRowsSql, finiteRowsSql, type CountedColumn, type ValueCounts } from "./value-counts.js";

export const QUANTILES = { p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 } as const;
export type QuantileKey = keyof typeof QUANTILES;

export interface NumericSummary {
  count: number;
  nullCount: number;
  nonFiniteCount: number;
  distinctCount: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Sample standard deviation (ddof = 1), like pandas. */
  std: number | null;
  quantiles: Record<QuantileKey, number | null>;
}

/** Numeric summaries for every side. Quantiles interpolate linearly (numpy's default). */
export async function numericSummaries(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
): Promise<NumericSummary[]> {
  const all = columnRowsSql(vc, col);
  const fin = finiteRowsSql(vc, col);
  const rows = await queryRows(
    con,
    `
    WITH fin AS ${fin},
    agg AS (SELECT s, sum(n) AS cnt, count(*) AS dist, min(q) AS mn, max(q) AS mx FROM fin GROUP BY s),
    nul AS (SELECT s, coalesce(sum(n) FILTER (WHERE q IS NULL), 0) AS nulls,
                   coalesce(sum(n) FILTER (WHERE q IS NOT NULL AND NOT isfinite(q)), 0) AS nonfinite,
                   count(*) FILTER (WHERE q IS NOT NULL AND NOT isfinite(q)) AS nonfinite_dist
            FROM ${all} GROUP BY s)
    SELECT nul.s, agg.cnt, agg.dist, nul.nonfinite_dist, agg.mn, agg.mx, nul.nulls, nul.nonfinite
    FROM nul LEFT JOIN agg USING (s)`,
  );
  const quantiles = await quantileRows(con, fin);
  const moments = await exactMoments(
    con,
    fin,
    vc.sides.map((_, side) => {
      const r = rows.find((x) => toNumber(x.s) === side);
      return { count: toNumber(r?.cnt) ?? 0, min: toNumber(r?.mn), max: toNumber(r?.mx) };
    }),
    (side) => quantiles.get(`${side}:${QUANTILES.p50}`) ?? null,
  );
  return vc.sides.map((_, side) => {
    const r = rows.find((x) => toNumber(x.s) === side) ?? {};
    const count = toNumber(r.cnt) ?? 0;
    const { mean, ss } = moments[side];
    const q = {} as Record<QuantileKey, number | null>;
    for (const key of Object.keys(QUANTILES) as QuantileKey[])
      q[key] = quantiles.get(`${side}:${QUANTILES[key]}`) ?? null;
    return {
      count: count + (toNumber(r.nonfinite) ?? 0),
      nullCount: toNumber(r.nulls) ?? 0,
      nonFiniteCount: toNumber(r.nonfinite) ?? 0,
      distinctCount: (toNumber(r.dist) ?? 0) + (toNumber(r.nonfinite_dist) ?? 0),
      min: toNumber(r.mn),
      max: toNumber(r.mx),
      mean,
      std: count > 1 && ss !== null ? Math.sqrt(ss / (count - 1)) : null,
      quantiles: q,
    };
  });
}

/**
 * Mean and sum of squared deviations per side from exact sums (exact-sum.ts) of n·q and of
 * n·(q - median)², in one pass: the same bits whatever DuckDB's threads. Since the median lies
 * within one standard deviation of the mean, ss = Σn(q - m)² - N(mean - m)² loses at most a bit.
 */
async function exactMoments(
  con: DuckDBConnection,
  fin: string,
  sides: { count: number; min: number | null; max: number | null }[],
  medianOf: (side: number) => number | null,
): Promise<{ mean: number | null; ss: number | null }[]> {
  const centres = sides.map((s, side) => (s.count > 0 && s.min !== null && s.max !== null ? medianOf(side) : null));
  const known = sides.flatMap((s, side) => {
    const c = centres[side];
    if (c === null || s.min === null || s.max === null) return [];
    const square = Math.max((s.min - c) * (s.min - c), (s.max - c) * (s.max - c));
    return [{ group: side, weight: s.count, largest: { q: Math.max(-s.min, s.max), d: square } }];
  });
  if (known.length === 0) return sides.map(() => ({ mean: null, ss: null }));
  const centre = `CASE s ${known.map((k) => `WHEN ${k.group} THEN ${sqlDouble(centres[k.group] ?? 0)}`).join(" ")} END`;
  const sums = await exactSums(con, {
    from: `(SELECT * FROM ${fin} WHERE s IN (${known.map((k) => k.group).join(", ")}))`,
    terms: { q: "q", d: `(q - ${centre}) * (q - ${centre})` },
    weight: "n",
    groupBy: "s",
    // A square beyond the doubles has no finite bound: let the first pass find it.
    known: known.every((k) => Number.isFinite(k.largest.d)) ? known : undefined,
  });
  return sides.map((s, side) => {
    const c = centres[side];
    const sum = sums.get(String(side));
    if (c === null || !sum) return { mean: null, ss: null };
    const mean = sum.q / s.count;
    return { mean, ss: Math.max(0, sum.d - s.count * (mean - c) * (mean - c)) };
  });
}

async function quantileRows(con: DuckDBConnection, fin: string): Promise<Map<string, number>> {
  const probs = Object.values(QUANTILES);
  // The element at 0-based rank i is the smallest value whose inclusive cumulative count exceeds i.
  const rows = await queryRows(
    con,
    `
    WITH fin AS ${fin},
    cum AS (SELECT s, q, sum(n) OVER (PARTITION BY s ORDER BY q ROWS UNBOUNDED PRECEDING) AS c FROM fin),
    tot AS (SELECT s, sum(n) AS cnt FROM fin GROUP BY s),
    pos AS (SELECT s, p, (cnt - 1) * p AS h FROM tot CROSS JOIN (SELECT unnest([${probs.join(", ")}]::DOUBLE[]) AS p)),
    lohi AS (SELECT pos.s, pos.p, pos.h,
               (SELECT min(q) FROM cum WHERE cum.s = pos.s AND cum.c > floor(pos.h)) AS lo,
               (SELECT min(q) FROM cum WHERE cum.s = pos.s AND cum.c > ceil(pos.h)) AS hi FROM pos)
    SELECT s, p, lo, hi, h FROM lohi`,
  );
  const out = new Map<string, number>();
  for (const r of rows) {
    const lo = toNumber(r.lo);
    const hi = toNumber(r.hi);
    const h = toNumber(r.h) ?? 0;
    if (lo === null || hi === null) continue;
    // Same arithmetic as numpy's linear method; exact when both neighbours are equal.
    out.set(`${toNumber(r.s)}:${toNumber(r.p)}`, lo === hi ? lo : lo + (hi - lo) * (h - Math.floor(h)));
  }
  return out;
}

export interface Histogram {
  /** Bin edges, ascending; bins are [e_i, e_i+1) and the last bin is closed. */
  edges: number[];
  /** Counts per bin; values outside the edges are clamped into the first/last bin. */
  counts: number[];
  /** How many of the counted values fell below the first edge / above the last. */
  below: number;
  above: number;
}

/** `bins` equal-width edges from min to max (numpy's convention for min == max). */
export function equalWidthEdges(min: number, max: number, bins = 20): number[] {
  let lo = min;
  let hi = max;
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const edges: number[] = [];
  for (let k = 0; k <= bins; k++) edges.push(k === bins ? hi : lo + ((hi - lo) * k) / bins);
  return edges;
}

/** A CASE expression mapping `q` to its bin index (clamped at both ends). */
export function binCaseSql(edges: readonly number[], value = "q"): string {
  const bins = edges.length - 1;
  if (bins <= 1) return "0";
  const whens: string[] = [];
  for (let k = 1; k < bins; k++) whens.push(`WHEN ${value} < ${sqlNumber(edges[k])} THEN ${k - 1}`);
  return `CASE ${whens.join(" ")} ELSE ${bins - 1} END`;
}

/** Histograms of finite values for every side on the same edges. */
export async function histograms(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
  edges: readonly number[],
): Promise<Histogram[]> {
  const bins = edges.length - 1;
  const lo = sqlNumber(edges[0]);
  const hi = sqlNumber(edges[bins]);
  const rows = await queryRows(
    con,
    `
    SELECT s, ${binCaseSql(edges)} AS bin, sum(n) AS c,
           coalesce(sum(n) FILTER (WHERE q < ${lo}), 0) AS below, coalesce(sum(n) FILTER (WHERE q > ${hi}), 0) AS above
    FROM ${finiteRowsSql(vc, col)} GROUP BY ALL`,
  );
  return vc.sides.map((_, side) => {
    const h: Histogram = { edges: [...edges], counts: new Array<number>(bins).fill(0), below: 0, above: 0 };
    for (const r of rows) {
      if (toNumber(r.s) !== side) continue;
      h.counts[toNumber(r.bin) ?? 0] += toNumber(r.c) ?? 0;
      h.below += toNumber(r.below) ?? 0;
      h.above += toNumber(r.above) ?? 0;
    }
    return h;
  });
}

export interface CategoricalSummary {
  count: number;
  nullCount: number;
  distinctCount: number;
  min: string | null;
  max: string | null;
}

export async function categoricalSummaries(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
): Promise<CategoricalSummary[]> {
  const rows = await queryRows(
    con,
    `
    SELECT s, coalesce(sum(n) FILTER (WHERE q IS NOT NULL), 0) AS cnt, coalesce(sum(n) FILTER (WHERE q IS NULL),
      0) AS nulls,
           count(q) AS dist, min(q) AS mn, max(q) AS mx
    FROM ${columnRowsSql(vc, col)} GROUP BY s`,
  );
  return vc.sides.map((_, side) => {
    const r = rows.find((x) => toNumber(x.s) === side) ?? {};
    return {
      count: toNumber(r.cnt) ?? 0,
      nullCount: toNumber(r.nulls) ?? 0,
      distinctCount: toNumber(r.dist) ?? 0,
      min: (r.mn as string | null | undefined) ?? null,
      max: (r.mx as string | null | undefined) ?? null,
    };
  });
}

export interface TopK {
  k: number;
  /** Most frequent values, by count descending then value ascending. */
  values: { value: string; count: number }[];
  /** Rows (non-null) whose value is not in `values`, and how many distinct values they hold. */
  otherCount: number;
  otherDistinct: number;
}

export async function topKValues(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
  k: number,
): Promise<TopK[]> {
  const rows = await queryRows(
    con,
    `
    SELECT s, q, n FROM ${columnRowsSql(vc, col)} WHERE q IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY s ORDER BY n DESC, q) <= ${Math.max(0, Math.floor(k))}
    ORDER BY s, n DESC, q`,
  );
  const summaries = await categoricalSummaries(con, vc, col);
  return vc.sides.map((_, side) => {
    const values = rows
      .filter((r) => toNumber(r.s) === side)
      .map((r) => ({ value: String(r.q), count: toNumber(r.n) ?? 0 }));
    const shown = values.reduce((a, v) => a + v.count, 0);
    const sum = summaries[side];
    return {
      k,
      values,
      otherCount: (sum?.count ?? 0) - shown,
      otherDistinct: (sum?.distinctCount ?? 0) - values.length,
    };
  });
}

/** Frequencies of selected values (used to place current data on a reference's top-k). */
export async function countsOf(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
  side: number,
  values: readonly string[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (values.length === 0) return out;
  const rows = await queryRows(
    con,
    `SELECT q, n FROM ${columnRowsSql(vc, col)} WHERE s = ${side} AND q IN (${values.map(sqlString).join(", ")})`,
  );
  for (const r of rows) out.set(String(r.q), toNumber(r.n) ?? 0);
  return out;
}
