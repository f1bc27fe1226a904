/**
 * Exact sums of doubles in DuckDB, so that statistics do not depend on how many threads summed
 * them or in which order they finished. A first pass finds each term's largest magnitude (unless
 * the caller knows a bound); the second scales every term by a power of two so that it lies below
 * 2^61 and cuts it into a few integer "limbs" (multiples of fixed powers of two). The limbs are
 * summed as doubles, but every partial sum is an integer below 2^53 and so exact: any order gives
 * the same result. The limb sums are combined with BigInt and rounded once to the nearest double.
 *
 * Only bits below 2^-62 of the largest term (or bound) are rounded away, once per term and the
 * same way on every run. An optional integer weight multiplies each term exactly, so Σ n·q over a
 * value-count table is exact too. Non-finite terms give NaN or ±Infinity, as IEEE says.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { DataError } from "./data-error.js";
import { queryRows, toNumber } from "./duck.js";
import { sqlDouble } from "./sql-text.js";

/** Scaled terms stay at or below 2^TOP_BIT, so that the first limb can be cut off by rounding. */
const TOP_BIT = 61;

export interface ExactSumQuery {
  /** A relation (table name or parenthesised subquery) that the terms read. */
  from: string;
  /** Named DOUBLE expressions to sum over `from`. */
  terms: Record<string, string>;
  /** A non-negative integer expression each term is multiplied by (exactly). @default 1 */
  weight?: string;
  /** An integer column of `from` to sum by separately (e.g. the side of a value-count table). */
  groupBy?: string;
  /**
   * What the caller already knows of every group (all its terms finite): saves the first pass.
   * `largest` must be at least every term's magnitude; the kept bits are counted below it.
   */
  known?: KnownRange[];
  /** Bits kept below the largest term's leading bit; more bits, more limbs. @default 61 */
  bits?: number;
  /** Further aggregates over the columns of `from`, computed in the same pass (e.g. a max). */
  also?: Record<string, string>;
}

export interface KnownRange {
  /** The group's value (null without `groupBy`). */
  group: number | null;
  /** Sum of the weights over the group's rows. */
  weight: number;
  /** Per term: an upper bound of its finite magnitudes (0 when all are 0). */
  largest: Record<string, number>;
}

/**
 * The sums of `query`'s terms (and its `also` aggregates) per value of its `groupBy` column
 * (key "" without one).
 */
export async function exactSums(
  con: DuckDBConnection,
  query: ExactSumQuery,
): Promise<Map<string, Record<string, number>>> {
  const names = Object.keys(query.terms);
  const terms = `(SELECT *, ${query.groupBy ?? "NULL"} AS __g, ${query.weight ?? "1"} AS __w, ${names
    .map((n, i) => `CAST(${query.terms[n]} AS DOUBLE) AS __t${i}`)
    .join(", ")} FROM ${query.from})`;
  const ranges = query.known ? knownRows(query.known, names) : await queryRows(con, rangeSql(terms, names));
  const out = new Map<string, Record<string, number>>();
  const totalWeight = ranges.reduce((a, r) => a + (toNumber(r.__n) ?? 0), 0);
  const shifts: Map<unknown, number>[] = names.map(() => new Map());
  for (const r of ranges) {
    const sums: Record<string, number> = {};
    names.forEach((name, i) => {
      const largest = toNumber(r[`__m${i}`]);
      const nonFinite = toNumber(r[`__x${i}`]);
      sums[name] = nonFinite ?? 0;
      if (nonFinite === null && largest) shifts[i].set(r.__g, scaleShift(largest));
    });
    out.set(String(r.__g ?? ""), sums);
  }
  const pending = names.flatMap((_, i) => (shifts[i].size ? [i] : []));
  const also = Object.entries(query.also ?? {});
  if (pending.length === 0 && also.length === 0) return out;
  const cuts = limbCuts(totalWeight, query.bits ?? TOP_BIT);
  const bottom = cuts[cuts.length - 1];
  const rows = await queryRows(con, limbSumSql(terms, pending, shifts, cuts, also));
  for (const r of rows) {
    const key = String(r.__g ?? "");
    const sums = out.get(key) ?? {};
    out.set(key, sums);
    for (const [name] of also) sums[name] = toNumber(r[name]) ?? NaN;
    for (const i of pending) {
      const shift = shifts[i].get(r.__g);
      if (shift === undefined) continue;
      // Each limb sum is a multiple of 2^cut: scaled by 2^-bottom it is an integer (exactly).
      const limbs = cuts.map((_, j) => (toNumber(r[`__s${i}_${j}`]) ?? 0) * 2 ** -bottom);
      // A term that was not finite (e.g. a square that overflowed) leaves NaN in its limb sums.
      if (!limbs.every(Number.isInteger)) sums[names[i]] = NaN;
      else {
        const total = limbs.map(BigInt).reduce((a, b) => a + b, 0n);
        sums[names[i]] = bigintTimesPowerOfTwo(total, bottom - shift);
      }
    }
  }
  return out;
}

function rangeSql(terms: string, names: string[]): string {
  const columns = names.map(
    (_, i) =>
      `max(abs(__t${i})) FILTER (WHERE isfinite(__t${i})) AS __m${i}, ` +
      `sum(__t${i}) FILTER (WHERE NOT isfinite(__t${i})) AS __x${i}`,
  );
  return `SELECT __g, sum(__w) AS __n, ${columns.join(", ")} FROM ${terms} GROUP BY __g`;
}

/** Known ranges in the shape of `rangeSql`'s rows. */
function knownRows(known: KnownRange[], names: string[]): Record<string, unknown>[] {
  return known.map((k) => ({
    __g: k.group,
    __n: k.weight,
    ...Object.fromEntries(
      names.flatMap((n, i) => [
        [`__m${i}`, k.largest[n] ?? 0],
        [`__x${i}`, null],
      ]),
    ),
  }));
}

/** The power of two that brings `largest` to at most 2^TOP_BIT (subnormals included). */
function scaleShift(largest: number): number {
  let shift = TOP_BIT - Math.ceil(Math.log2(largest));
  while (timesPowerOfTwo(largest, shift) > 2 ** TOP_BIT) shift--;
  return shift;
}

/** x · 2^shift in two exact steps, since 2^shift alone is not a double beyond ±1023. */
function timesPowerOfTwo(x: number, shift: number): number {
  const half = Math.trunc(shift / 2);
  return x * 2 ** half * 2 ** (shift - half);
}

/** SQL of `value` · 2^shift, in the same two steps. */
function timesPowerOfTwoSql(value: string, shift: number): string {
  const half = Math.trunc(shift / 2);
  return `${value} * ${sqlDouble(2 ** half)} * ${sqlDouble(2 ** (shift - half))}`;
}

/**
 * The powers of two the limbs are multiples of, high to low, down to 2^(TOP_BIT - bits). Each
 * limb holds `width` bits so that `width` bits times the total weight stays below 2^53: every
 * partial sum of a limb is exact.
 */
export function limbCuts(totalWeight: number, bits = TOP_BIT): number[] {
  const width = 52 - Math.max(1, Math.ceil(Math.log2(totalWeight + 1)));
  if (width < 8) {
    throw new DataError("INVALID_OPTION", `Too many rows (${totalWeight}) for exact statistics`, {
      hint: "Profile or compare a sample or a partition of the data.",
    });
  }
  const floor = TOP_BIT - bits;
  const cuts: number[] = [];
  for (let cut = TOP_BIT + 1 - width; ; cut -= width) {
    cuts.push(Math.max(floor, cut));
    if (cut <= floor) return cuts;
  }
}

/** Rounding to a multiple of 2^cut by adding and removing 1.5 * 2^(52 + cut), exact IEEE arithmetic. */
function limbSumSql(
  terms: string,
  pending: number[],
  shifts: Map<unknown, number>[],
  cuts: number[],
  also: [string, string][],
): string {
  const scaled = pending.map((i) => {
    const groups = [...shifts[i]];
    const perGroup = groups.map(([g, s]) => `WHEN ${Number(g)} THEN ${timesPowerOfTwoSql(`__t${i}`, s)}`);
    const value =
      groups.length === 1 && groups[0][0] === null
        ? timesPowerOfTwoSql(`__t${i}`, groups[0][1])
        : `CASE __g ${perGroup.join(" ")} END`;
    return `${value} AS __r${i}_0`;
  });
  let relation = `(SELECT *${scaled.map((c) => `, ${c}`).join("")} FROM ${terms} WHERE __w <> 0)`;
  if (pending.length)
    cuts.forEach((cut, j) => {
      const magic = sqlDouble(1.5 * 2 ** (52 + cut));
      const columns = pending.flatMap((i) => {
        const limb = `((__r${i}_${j} + ${magic}) - ${magic})`;
        return [`${limb} AS __l${i}_${j}`, `__r${i}_${j} - ${limb} AS __r${i}_${j + 1}`];
      });
      const used = pending.map((i) => `__r${i}_${j}`).join(", ");
      relation = `(SELECT * EXCLUDE (${used}), ${columns.join(", ")} FROM ${relation})`;
    });
  const sums = pending.flatMap((i) => cuts.map((_, j) => `sum(__l${i}_${j} * __w) AS __s${i}_${j}`));
  const extra = also.map(([name, sql]) => `${sql} AS ${name}`);
  return `SELECT __g, ${[...sums, ...extra].join(", ")} FROM ${relation} GROUP BY __g`;
}

/** n · 2^exponent rounded to nearest (ties to even); subnormal results may round twice. */
export function bigintTimesPowerOfTwo(n: bigint, exponent: number): number {
  if (n === 0n) return 0;
  const negative = n < 0n;
  let magnitude = negative ? -n : n;
  let shift = exponent;
  const bits = magnitude.toString(2).length;
  if (bits > 64) {
    // Keep 64 bits and fold the dropped ones into a sticky bit, so the one rounding below is correct.
    const dropped = BigInt(bits - 64);
    const sticky = (magnitude & ((1n << dropped) - 1n)) !== 0n;
    magnitude = (magnitude >> dropped) | (sticky ? 1n : 0n);
    shift += bits - 64;
  }
  let value = Number(magnitude);
  // Powers of two beyond ±1000 are not doubles; scale in steps (exact while the value stays normal).
  while (shift !== 0) {
    const step = Math.max(-1000, Math.min(1000, shift));
    value *= 2 ** step;
    shift -= step;
  }
  return negative ? -value : value;
}
