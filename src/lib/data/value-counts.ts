/**
 * The one scan behind profiles and drift. One GROUPING SETS query per "side" (a profile has
 * one; drift has reference and current) writes a temp table of distinct values with their
 * counts per column and side, plus per-side totals; date ranges come from a plain aggregate
 * (column-pruned, cheap on Parquet). Every statistic after that —
 * moments, exact quantiles, histograms, top-k, KS, Wasserstein, chi-square — is a query on that
 * small table, so the data itself is read once and never enters JS.
 *
 * Numbers are grouped as DOUBLE (integers beyond 2^53 lose precision); text, booleans and enums
 * as VARCHAR. Dates and times are not grouped: only their count, min and max are kept.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { translateDuckError } from "./data-error.js";
import type { ResolvedSource } from "./data-source.js";
import { queryRows, tempName, toNumber } from "./duck.js";
import type { SchemaColumn } from "./schema.js";
import { sqlIdent } from "./sql-text.js";

export interface CountedColumn extends SchemaColumn {
  /** Column of the temp table holding this column's values (grouped kinds only). */
  slot: string;
  /** Column of the temp table that is 0 on this column's rows. */
  flag: string;
}

export interface SideTotals {
  rowCount: number;
  /** For temporal and other columns: non-null count and (temporal) min/max as text. */
  ranges: Record<string, { count: number; min: string | null; max: string | null }>;
}

export interface ValueCounts {
  table: string;
  /** Columns whose values were grouped (numeric and categorical). */
  grouped: CountedColumn[];
  sides: SideTotals[];
}

export async function buildValueCounts(
  con: DuckDBConnection,
  sides: readonly ResolvedSource[],
  columns: readonly SchemaColumn[],
): Promise<ValueCounts> {
  const table = tempName("vc");
  const grouped: CountedColumn[] = [];
  const ranged: { col: SchemaColumn; slot: string }[] = [];
  const projections: string[] = [];
  columns.forEach((col, i) => {
    const id = sqlIdent(col.name);
    if (col.kind === "numeric") {
      projections.push(`CAST(${id} AS DOUBLE) AS q${i}`);
      grouped.push({ ...col, slot: `q${i}`, flag: `g${i}` });
    } else if (col.kind === "categorical") {
      projections.push(`CAST(${id} AS VARCHAR) AS q${i}`);
      grouped.push({ ...col, slot: `q${i}`, flag: `g${i}` });
    } else {
      projections.push(`${id} AS t${i}`);
      ranged.push({ col, slot: `t${i}` });
    }
  });
  // One grouped scan per side (a constant side tag outside the grouping key is ~2x cheaper than
  // grouping by side), appended to the same table. Date ranges are aggregated separately so
  // their min/max are not computed for every group.
  const selectCols = ["count(*) AS __n"];
  for (const g of grouped) selectCols.push(`GROUPING(${g.slot}) AS ${g.flag}`, g.slot);
  const sets = [...grouped.map((g) => `(${g.slot})`), "()"];
  const rangeCols: string[] = [];
  for (const r of ranged) {
    rangeCols.push(`count(${r.slot}) AS ${r.slot}_n`);
    if (r.col.kind === "temporal")
      rangeCols.push(
        `CAST(min(${r.slot}) AS VARCHAR) AS ${r.slot}_min`,
        `CAST(max(${r.slot}) AS VARCHAR) AS ${r.slot}_max`,
      );
  }
  const rangeRows: Record<string, unknown>[] = [];
  for (const [side, s] of sides.entries()) {
    const from = `(SELECT ${projections.length ? projections.join(", ") : "1 AS __one"} FROM ${s.relation})`;
    const body =
      `SELECT ${side} AS __side, ${selectCols.join(", ")} FROM ${from} GROUP BY ` +
      `GROUPING SETS (${sets.join(", ")})`;
    try {
      await con.run(side === 0 ? `CREATE TEMP TABLE ${table} AS ${body}` : `INSERT INTO ${table} ${body}`);
      if (rangeCols.length)
        rangeRows.push((await queryRows(con, `SELECT ${rangeCols.join(", ")} FROM ${from}`))[0] ?? {});
    } catch (err) {
      throw translateDuckError(err, { file: s.file ?? s.label });
    }
  }
  const totalsWhere = grouped.length ? grouped.map((g) => `${g.flag} = 1`).join(" AND ") : "TRUE";
  const totals = await queryRows(con, `SELECT * FROM ${table} WHERE ${totalsWhere} ORDER BY __side`);
  const sideTotals: SideTotals[] = sides.map((_, side) => {
    const row = totals.find((r) => toNumber(r.__side) === side);
    const ranges: SideTotals["ranges"] = {};
    const rr = rangeRows[side];
    for (const r of ranged) {
      ranges[r.col.name] = {
        count: toNumber(rr?.[`${r.slot}_n`]) ?? 0,
        min: (rr?.[`${r.slot}_min`] as string | null | undefined) ?? null,
        max: (rr?.[`${r.slot}_max`] as string | null | undefined) ?? null,
      };
    }
    return { rowCount: toNumber(row?.__n) ?? 0, ranges };
  });
  return { table, grouped, sides: sideTotals };
}

/** Rows of one column: `(s, q, n)` — side, value (NULL for nulls), count. */
export function columnRowsSql(vc: ValueCounts, col: CountedColumn): string {
  return `(SELECT __side AS s, ${col.slot} AS q, __n AS n FROM ${vc.table} WHERE ${col.flag} = 0)`;
}

/** Finite, non-null numeric rows of one column. */
export function finiteRowsSql(vc: ValueCounts, col: CountedColumn): string {
  return `(SELECT s, q, n FROM ${columnRowsSql(vc, col)} WHERE q IS NOT NULL AND isfinite(q))`;
}

export async function dropValueCounts(con: DuckDBConnection, vc: ValueCounts): Promise<void> {
  await con.run(`DROP TABLE IF EXISTS ${vc.table}`);
}
