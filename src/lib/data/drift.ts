/**
 * `detectDrift` — how far a current dataset has moved from a reference, per column, with a
 * verdict per statistic and overall. The reference is either a dataset (exact statistics: both
 * sides are scanned once together, see value-counts.ts) or a kept `Profile` (statistics from
 * its histograms and top-k frequencies, marked `approximate`).
 *
 * Numeric: PSI and Jensen–Shannon on the reference's bins, KS (SciPy ks_2samp p-value),
 * Wasserstein. Categorical: L-infinity, Jensen–Shannon, chi-square, new/vanished categories.
 * Every column: missing-rate change. Plus schema changes.
 *
 * Chi-square: `scipy.stats.chisquare(current counts, expected)` where expected counts come
 * from the reference proportions smoothed by CHI_SQUARE_PSEUDOCOUNT per category over the
 * union of categories: e_i = n_cur * (r_i + 0.5) / (n_ref + 0.5 K). Without smoothing a
 * category absent from the reference has e_i = 0 and an infinite statistic; with it, new
 * categories count as (very) unexpected but finite, and both totals stay equal as SciPy requires.
 */
import { equalWidthEdges, histograms, numericSummaries, categoricalSummaries } from "./column-stats.js";
import { DataError } from "./data-error.js";
import { resolveSource, type DataSource, type ResolvedSource } from "./data-source.js";
import { compileDriftConfig, judge, worst, type CompiledDriftConfig, type DriftConfig } from "./drift-config.js";
import { chiSquareSf, jensenShannonDistance, populationStabilityIndex } from "./drift-math.js";
import { cdfDistances, compareCategories } from "./drift-measures.js";
import { driftFromProfile } from "./drift-from-profile.js";
import {
  CHI_SQUARE_PSEUDOCOUNT,
  compareSchemas,
  finish,
  sideCounts,
  type ColumnDrift,
  type DriftChart,
  type DriftReport,
} from "./drift-report.js";
import { queryScalar, toNumber, withConnection } from "./duck.js";
import { ksTwoSamplePValue } from "./ks-distribution.js";
import type { Profile } from "./profile.js";
import { describeColumns, type SchemaColumn } from "./schema.js";
import { sqlIdent } from "./sql-text.js";
import { buildValueCounts, dropValueCounts, type CountedColumn, type ValueCounts } from "./value-counts.js";
import type { DuckDBConnection } from "@duckdb/node-api";

export type { ColumnDrift, DriftChart, DriftReport, SchemaChange, SideCounts } from "./drift-report.js";
export { CHI_SQUARE_PSEUDOCOUNT } from "./drift-report.js";

export function isProfile(x: unknown): x is Profile {
  return typeof x === "object" && x !== null && (x as Profile).kind === "trainyard.profile";
}

export async function detectDrift(
  reference: DataSource | Profile,
  current: DataSource,
  config: DriftConfig = {},
): Promise<DriftReport> {
  const cfg = compileDriftConfig(config);
  if (isProfile(reference)) return driftFromProfile(reference, current, cfg);
  const ref = resolveSource(reference);
  const cur = resolveSource(current);
  return withConnection(async (con) => {
    const refSchema = await describeColumns(con, ref);
    const curSchema = await describeColumns(con, cur);
    const schema = compareSchemas(refSchema, curSchema, cfg);
    const shared = sharedColumns(refSchema, curSchema, cfg);
    const vc = await buildValueCounts(con, [ref, cur], shared);
    try {
      const [refTotals, curTotals] = vc.sides;
      if (!refTotals?.rowCount || !curTotals?.rowCount) {
        const empty = !refTotals?.rowCount ? ref : cur;
        throw new DataError("EMPTY_DATASET", "Cannot measure drift against a dataset with no rows", {
          file: empty.file ?? empty.label,
          hint: "Check the file and any `where` filter; both sides need at least one row.",
        });
      }
      const columns: ColumnDrift[] = [];
      for (const col of vc.grouped) {
        const curType = curSchema.find((c) => c.name === col.name)?.type ?? col.type;
        columns.push(
          col.kind === "numeric"
            ? await numericDrift(con, vc, col, curType, cfg, [ref, cur])
            : await categoricalDrift(con, vc, col, curType, cfg),
        );
      }
      return {
        kind: "trainyard.drift",
        version: 1,
        reference: ref.label,
        current: cur.label,
        rowCount: { reference: refTotals.rowCount, current: curTotals.rowCount },
        schema,
        columns,
        verdict: worst([schema.verdict, ...columns.map((c) => c.verdict)]),
      };
    } finally {
      await dropValueCounts(con, vc);
    }
  });
}

async function numericDrift(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
  curType: string,
  cfg: CompiledDriftConfig,
  sides: ResolvedSource[],
): Promise<ColumnDrift> {
  const rules = cfg.rulesFor(col.name);
  const [r, c] = await numericSummaries(con, vc, col);
  if (cfg.nonFinite === "error") {
    for (const [side, s] of [r, c].entries()) {
      if (s.nonFiniteCount > 0) await throwNonFinite(con, sides[side], col.name, s.nonFiniteCount);
    }
  }
  const refCounts = sideCounts(vc.sides[0].rowCount, r.nullCount);
  const curCounts = sideCounts(vc.sides[1].rowCount, c.nullCount);
  const stats: ColumnDrift["stats"] = {
    missingRateChange: judge(
      "missingRateChange",
      curCounts.missingRate - refCounts.missingRate,
      rules.missingRateChange,
    ),
  };
  let chart: DriftChart | undefined;
  let ks: ColumnDrift["ks"];
  if (r.min !== null && r.max !== null && c.min !== null) {
    const edges = cfg.edges[col.name] ?? equalWidthEdges(r.min, r.max, cfg.bins);
    const [hr, hc] = await histograms(con, vc, col, edges);
    stats.psi = judge("psi", populationStabilityIndex(hr.counts, hc.counts), rules.psi);
    stats.jsDistance = judge("jsDistance", jensenShannonDistance(hr.counts, hc.counts), rules.jsDistance);
    const span = {
      min: Math.min(r.min, c.min),
      max: Math.max(r.max, c.max ?? r.max),
      distinct: r.distinctCount + c.distinctCount,
    };
    const cdf = await cdfDistances(con, vc, col, span);
    const test = ksTwoSamplePValue(cdf.ks, cdf.nReference, cdf.nCurrent);
    ks = { ...test, nReference: cdf.nReference, nCurrent: cdf.nCurrent };
    stats.ksStatistic = judge("ksStatistic", test.statistic, rules.ksStatistic);
    stats.ksPValue = judge("ksPValue", test.pValue, rules.ksPValue);
    stats.wasserstein = judge("wasserstein", cdf.wasserstein, rules.wasserstein);
    chart = { kind: "histogram", edges, reference: hr.counts, current: hc.counts };
  }
  return finish({
    name: col.name,
    kind: "numeric",
    type: { reference: col.type, current: curType },
    reference: refCounts,
    current: curCounts,
    stats,
    ks,
    chart,
    approximate: false,
    verdict: "pass",
  });
}

async function categoricalDrift(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
  curType: string,
  cfg: CompiledDriftConfig,
): Promise<ColumnDrift> {
  const rules = cfg.rulesFor(col.name);
  const [r, c] = await categoricalSummaries(con, vc, col);
  const refCounts = sideCounts(vc.sides[0].rowCount, r.nullCount);
  const curCounts = sideCounts(vc.sides[1].rowCount, c.nullCount);
  const stats: ColumnDrift["stats"] = {
    missingRateChange: judge(
      "missingRateChange",
      curCounts.missingRate - refCounts.missingRate,
      rules.missingRateChange,
    ),
  };
  let chiSquare: ColumnDrift["chiSquare"];
  let categories: ColumnDrift["categories"];
  let chart: DriftChart | undefined;
  if (r.count > 0 && c.count > 0) {
    const cmp = await compareCategories(con, vc, col, CHI_SQUARE_PSEUDOCOUNT);
    const dof = cmp.categories - 1;
    chiSquare = { statistic: cmp.chiSquare, pValue: dof > 0 ? chiSquareSf(cmp.chiSquare, dof) : NaN, dof };
    stats.lInfinity = judge("lInfinity", cmp.lInfinity, rules.lInfinity);
    stats.jsDistance = judge("jsDistance", cmp.jsDistance, rules.jsDistance);
    stats.chiSquarePValue = judge("chiSquarePValue", chiSquare.pValue, rules.chiSquarePValue);
    stats.newCategoryRate = judge("newCategoryRate", cmp.newRows / cmp.nCurrent, rules.newCategoryRate);
    categories = {
      newCount: cmp.newCount,
      vanishedCount: cmp.vanishedCount,
      newExamples: cmp.newExamples,
      vanishedExamples: cmp.vanishedExamples,
    };
    chart = {
      kind: "categories",
      labels: cmp.top.map((t) => t[0]),
      reference: cmp.top.map((t) => t[1]),
      current: cmp.top.map((t) => t[2]),
    };
  }
  return finish({
    name: col.name,
    kind: "categorical",
    type: { reference: col.type, current: curType },
    reference: refCounts,
    current: curCounts,
    stats,
    chiSquare,
    categories,
    chart,
    approximate: false,
    verdict: "pass",
  });
}

async function throwNonFinite(
  con: DuckDBConnection,
  src: ResolvedSource,
  column: string,
  count: number,
): Promise<never> {
  const id = sqlIdent(column);
  const row = toNumber(
    await queryScalar(
      con,
      `SELECT min(__row) FROM ${src.numberedRelation} WHERE NOT isfinite(CAST(${id} AS DOUBLE))`,
    ).catch(() => null),
  );
  throw new DataError("NON_FINITE_VALUE", `${count} NaN/Infinity value(s) make drift statistics undefined`, {
    file: src.file ?? src.label,
    column,
    row: row ?? undefined,
    rule: "finite",
    hint: 'Clean or impute the values upstream, or pass `nonFinite: "drop"` to ignore them.',
  });
}

/** Columns present on both sides with the same kind (numeric/categorical), honouring include/skip. */
const namesOf = (columns: SchemaColumn[]) => columns.map((c) => c.name).join(", ");

export function sharedColumns(ref: SchemaColumn[], cur: SchemaColumn[], cfg: CompiledDriftConfig): SchemaColumn[] {
  const curBy = new Map(cur.map((c) => [c.name, c]));
  if (cfg.include) {
    for (const name of cfg.include) {
      if (!ref.some((c) => c.name === name) || !curBy.has(name)) {
        throw new DataError("COLUMN_NOT_FOUND", `Column "${name}" must exist in both datasets to measure drift`, {
          column: name,
          hint: `Reference columns: ${namesOf(ref)}; current: ${namesOf(cur)}.`,
        });
      }
    }
  }
  return ref.filter((c) => {
    const other = curBy.get(c.name);
    if (!other || other.kind !== c.kind) return false;
    if (c.kind !== "numeric" && c.kind !== "categorical") return false;
    if (cfg.skip.has(c.name)) return false;
    return !cfg.include || cfg.include.includes(c.name);
  });
}
