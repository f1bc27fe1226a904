/**
 * The shape of a drift report and the helpers both drift paths (reference dataset, reference
 * profile) share to fill it in.
 */
import type { CompiledDriftConfig, DriftStatistic, StatOutcome, Verdict } from "./drift-config.js";
import { worst } from "./drift-config.js";
import type { SchemaColumn } from "./schema.js";

/**
 * Pseudo-count added to every reference category when deriving chi-square expectations
 * (see drift.ts): keeps expected counts of categories new in the current data above zero.
 */
export const CHI_SQUARE_PSEUDOCOUNT = 0.5;

export interface SideCounts {
  rows: number;
  nullCount: number;
  missingRate: number;
}

export interface DriftChart {
  kind: "histogram" | "categories";
  /** Bin edges (histogram) or category labels (categories). */
  edges?: number[];
  labels?: string[];
  reference: number[];
  current: number[];
}

export interface ColumnDrift {
  name: string;
  kind: "numeric" | "categorical";
  type: { reference: string; current: string };
  reference: SideCounts;
  current: SideCounts;
  stats: Partial<Record<DriftStatistic, StatOutcome>>;
  ks?: { statistic: number; pValue: number; method: "exact" | "asymp"; nReference: number; nCurrent: number };
  chiSquare?: { statistic: number; pValue: number; dof: number };
  categories?: { newCount: number; vanishedCount: number; newExamples: string[]; vanishedExamples: string[] };
  chart?: DriftChart;
  /** True when computed from a reference profile's summaries rather than its rows. */
  approximate: boolean;
  verdict: Verdict;
}

export interface SchemaChange {
  added: SchemaColumn[];
  removed: SchemaColumn[];
  retyped: { name: string; from: string; to: string }[];
  verdict: Verdict;
}

export interface DriftReport {
  kind: "trainyard.drift";
  version: 1;
  reference: string;
  current: string;
  rowCount: { reference: number; current: number };
  schema: SchemaChange;
  columns: ColumnDrift[];
  verdict: Verdict;
}

export function finish(col: ColumnDrift): ColumnDrift {
  col.verdict = worst(Object.values(col.stats).map((s) => s.verdict));
  return col;
}

export function sideCounts(rows: number, nullCount: number): SideCounts {
  return { rows, nullCount, missingRate: rows > 0 ? nullCount / rows : 0 };
}

export function compareSchemas(ref: SchemaColumn[], cur: SchemaColumn[], cfg: CompiledDriftConfig): SchemaChange {
  const curBy = new Map(cur.map((c) => [c.name, c]));
  const refBy = new Map(ref.map((c) => [c.name, c]));
  const added = cur.filter((c) => !refBy.has(c.name));
  const removed = ref.filter((c) => !curBy.has(c.name));
  const retyped = ref.flatMap((c) => {
    const other = curBy.get(c.name);
    return other && other.type !== c.type ? [{ name: c.name, from: c.type, to: other.type }] : [];
  });
  const verdicts: Verdict[] = [];
  if (added.length && cfg.schema.added) verdicts.push(cfg.schema.added);
  if (removed.length && cfg.schema.removed) verdicts.push(cfg.schema.removed);
  if (retyped.length && cfg.schema.retyped) verdicts.push(cfg.schema.retyped);
  return { added, removed, retyped, verdict: worst(verdicts) };
}
