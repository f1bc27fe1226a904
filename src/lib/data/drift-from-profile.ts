/**
 * Drift against a kept reference `Profile` (when the reference rows are gone). The current
 * data is scanned once; the comparison uses the profile's histogram (numbers) and top-k
 * frequencies plus an "(other)" bucket (text). KS and Wasserstein are then approximations on
 * the binned data (each bin's mass at its centre) and every such column is `approximate`.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { categoricalSummaries, countsOf, histograms, numericSummaries } from "./column-stats.js";
import { resolveSource, type DataSource } from "./data-source.js";
import { judge, worst, type CompiledDriftConfig } from "./drift-config.js";
import { chiSquareTest, jensenShannonDistance, lInfinityDistance, populationStabilityIndex } from "./drift-math.js";
import {
  CHI_SQUARE_PSEUDOCOUNT,
  compareSchemas,
  finish,
  sideCounts,
  type ColumnDrift,
  type DriftReport,
} from "./drift-report.js";
import { queryRows, toNumber, withConnection } from "./duck.js";
import { ksTwoSamplePValue } from "./ks-distribution.js";
import type { ColumnProfile, Profile } from "./profile.js";
import { describeColumns } from "./schema.js";
import { sqlString } from "./sql-text.js";
import {
  buildValueCounts,
  columnRowsSql,
  dropValueCounts,
  type CountedColumn,
  type ValueCounts,
} from "./value-counts.js";

const OTHER = "(other)";

export async function driftFromProfile(
  reference: Profile,
  current: DataSource,
  cfg: CompiledDriftConfig,
): Promise<DriftReport> {
  const cur = resolveSource(current);
  return withConnection(async (con) => {
    const curSchema = await describeColumns(con, cur);
    const schema = compareSchemas(reference.schema, curSchema, cfg);
    const byName = new Map(reference.columns.map((c) => [c.name, c]));
    const shared = curSchema.filter((c) => {
      const ref = byName.get(c.name);
      if (!ref || ref.kind !== c.kind || cfg.skip.has(c.name)) return false;
      if (cfg.include && !cfg.include.includes(c.name)) return false;
      return (c.kind === "numeric" && ref.histogram) || (c.kind === "categorical" && ref.topK);
    });
    const vc = await buildValueCounts(con, [cur], shared);
    try {
      const columns: ColumnDrift[] = [];
      for (const col of vc.grouped) {
        const ref = byName.get(col.name) as ColumnProfile;
        columns.push(
          col.kind === "numeric"
            ? await numericVsProfile(con, vc, col, ref, reference.rowCount, cfg)
            : await categoricalVsProfile(con, vc, col, ref, reference.rowCount, cfg),
        );
      }
      const rows = vc.sides[0]?.rowCount ?? 0;
      return {
        kind: "trainyard.drift",
        version: 1,
        reference: `profile of ${reference.source}`,
        current: cur.label,
        rowCount: { reference: reference.rowCount, current: rows },
        schema,
        columns,
        verdict: worst([schema.verdict, ...columns.map((c) => c.verdict)]),
      };
    } finally {
      await dropValueCounts(con, vc);
    }
  });
}

async function numericVsProfile(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
  ref: ColumnProfile,
  refRows: number,
  cfg: CompiledDriftConfig,
): Promise<ColumnDrift> {
  const rules = cfg.rulesFor(col.name);
  const [c] = await numericSummaries(con, vc, col);
  const refCounts = sideCounts(refRows, ref.nullCount);
  const curCounts = sideCounts(vc.sides[0].rowCount, c.nullCount);
  const stats: ColumnDrift["stats"] = {
    missingRateChange: judge(
      "missingRateChange",
      curCounts.missingRate - refCounts.missingRate,
      rules.missingRateChange,
    ),
  };
  const refHist = ref.histogram!;
  const [hc] = await histograms(con, vc, col, refHist.edges);
  const nRef = refHist.counts.reduce((a, b) => a + b, 0);
  const nCur = hc.counts.reduce((a, b) => a + b, 0);
  let ks: ColumnDrift["ks"];
  if (nRef > 0 && nCur > 0) {
    stats.psi = judge("psi", populationStabilityIndex(refHist.counts, hc.counts), rules.psi);
    stats.jsDistance = judge("jsDistance", jensenShannonDistance(refHist.counts, hc.counts), rules.jsDistance);
    const { d, w } = binnedCdfDistances(refHist.edges, refHist.counts, hc.counts);
    const test = ksTwoSamplePValue(d, nRef, nCur);
    ks = { ...test, nReference: nRef, nCurrent: nCur };
    stats.ksStatistic = judge("ksStatistic", test.statistic, rules.ksStatistic);
    stats.ksPValue = judge("ksPValue", test.pValue, rules.ksPValue);
    stats.wasserstein = judge("wasserstein", w, rules.wasserstein);
  }
  return finish({
    name: col.name,
    kind: "numeric",
    type: { reference: ref.type, current: col.type },
    reference: refCounts,
    current: curCounts,
    stats,
    ks,
    chart: { kind: "histogram", edges: refHist.edges, reference: refHist.counts, current: hc.counts },
    approximate: true,
    verdict: "pass",
  });
}

/** KS and Wasserstein between two histograms on shared edges, each bin's mass at its centre. */
export function binnedCdfDistances(
  edges: readonly number[],
  a: readonly number[],
  b: readonly number[],
): { d: number; w: number } {
  const na = a.reduce((x, y) => x + y, 0);
  const nb = b.reduce((x, y) => x + y, 0);
  let ca = 0;
  let cb = 0;
  let d = 0;
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    ca += a[i];
    cb += b[i];
    const diff = Math.abs(ca / na - cb / nb);
    d = Math.max(d, diff);
    if (i < a.length - 1) w += diff * ((edges[i + 2] - edges[i]) / 2);
  }
  return { d, w };
}

async function categoricalVsProfile(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
  ref: ColumnProfile,
  refRows: number,
  cfg: CompiledDriftConfig,
): Promise<ColumnDrift> {
  const rules = cfg.rulesFor(col.name);
  const [c] = await categoricalSummaries(con, vc, col);
  const refCounts = sideCounts(refRows, ref.nullCount);
  const curCounts = sideCounts(vc.sides[0].rowCount, c.nullCount);
  const stats: ColumnDrift["stats"] = {
    missingRateChange: judge(
      "missingRateChange",
      curCounts.missingRate - refCounts.missingRate,
      rules.missingRateChange,
    ),
  };
  const top = ref.topK!;
  const labels = top.values.map((v) => v.value);
  const found = await countsOf(con, vc, col, 0, labels);
  const refVec = [...top.values.map((v) => v.count), top.otherCount];
  const shown = labels.reduce((a, l) => a + (found.get(l) ?? 0), 0);
  const curVec = [...labels.map((l) => found.get(l) ?? 0), c.count - shown];
  // Drop the "(other)" bucket when both sides leave it empty, so it does not count as a category.
  const keep = refVec.map((_, i) => i < labels.length || refVec[i] + curVec[i] > 0);
  const rv = refVec.filter((_, i) => keep[i]);
  const cv = curVec.filter((_, i) => keep[i]);
  let chiSquare: ColumnDrift["chiSquare"];
  let categories: ColumnDrift["categories"];
  if (c.count > 0 && rv.reduce((a, b) => a + b, 0) > 0) {
    const nRef = rv.reduce((a, b) => a + b, 0);
    const expected = rv.map(
      (r) => (c.count * (r + CHI_SQUARE_PSEUDOCOUNT)) / (nRef + CHI_SQUARE_PSEUDOCOUNT * rv.length),
    );
    chiSquare = chiSquareTest(cv, expected);
    stats.lInfinity = judge("lInfinity", lInfinityDistance(rv, cv), rules.lInfinity);
    stats.jsDistance = judge("jsDistance", jensenShannonDistance(rv, cv), rules.jsDistance);
    stats.chiSquarePValue = judge("chiSquarePValue", chiSquare.pValue, rules.chiSquarePValue);
    if (top.otherDistinct === 0) {
      // The profile lists every reference category, so unseen current values are truly new.
      const fresh = await unseenValues(con, vc, col, labels);
      stats.newCategoryRate = judge("newCategoryRate", fresh.rows / c.count, rules.newCategoryRate);
      const vanished = labels.filter((l) => !found.has(l));
      categories = {
        newCount: fresh.count,
        vanishedCount: vanished.length,
        newExamples: fresh.examples,
        vanishedExamples: vanished.slice(0, 20),
      };
    }
  }
  return finish({
    name: col.name,
    kind: "categorical",
    type: { reference: ref.type, current: col.type },
    reference: refCounts,
    current: curCounts,
    stats,
    chiSquare,
    categories,
    approximate: true,
    verdict: "pass",
    chart: { kind: "categories", labels: [...labels, OTHER].filter((_, i) => keep[i]), reference: rv, current: cv },
  });
}

async function unseenValues(
  con: DuckDBConnection,
  vc: ValueCounts,
  col: CountedColumn,
  known: string[],
): Promise<{ count: number; rows: number; examples: string[] }> {
  const notIn = known.length ? `AND q NOT IN (${known.map(sqlString).join(", ")})` : "";
  const rows = await queryRows(
    con,
    `SELECT q, n, count(*) OVER () AS k, ` +
      `sum(n) OVER () AS r FROM ${columnRowsSql(vc, col)} WHERE q IS NOT NULL ${notIn} ORDER BY n DESC, q LIMIT 20`,
  );
  return { count: toNumber(rows[0]?.k) ?? 0, rows: toNumber(rows[0]?.r) ?? 0, examples: rows.map((r) => String(r.q)) };
}
