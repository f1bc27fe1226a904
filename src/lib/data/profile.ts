/**
 * `profileDataset` — the reference statistics of a dataset as plain JSON: per column counts,
 * nulls, distinct values, range, moments, quantiles, a fixed-edge histogram (numbers) or top-k
 * frequencies (text), plus row count and schema. The data is scanned once (value-counts.ts);
 * everything else runs on the small value-count table.
 */
import {
  categoricalSummaries,
  equalWidthEdges,
  histograms,
  numericSummaries,
  topKValues,
  type Histogram,
  type QuantileKey,
  type TopK,
} from "./column-stats.js";
import type { ColumnKind } from "./column-kind.js";
import { DataError } from "./data-error.js";
import { resolveSource, type DataSource } from "./data-source.js";
import { withConnection } from "./duck.js";
import { describeColumns, requireColumns, type SchemaColumn } from "./schema.js";
import { buildValueCounts, dropValueCounts } from "./value-counts.js";

export type { Histogram, TopK, QuantileKey } from "./column-stats.js";

export interface ColumnProfile {
  name: string;
  type: string;
  kind: ColumnKind;
  /** Non-null values (for numbers: including NaN/Infinity, which are also in nonFiniteCount). */
  count: number;
  nullCount: number;
  /** Exact distinct non-null values; null for dates/times and nested types (not grouped). */
  distinctCount: number | null;
  min: number | string | null;
  max: number | string | null;
  mean?: number | null;
  /** Sample standard deviation (ddof = 1). */
  std?: number | null;
  quantiles?: Record<QuantileKey, number | null>;
  nonFiniteCount?: number;
  histogram?: Histogram;
  topK?: TopK;
}

export interface Profile {
  kind: "trainyard.profile";
  version: 1;
  source: string;
  rowCount: number;
  schema: SchemaColumn[];
  columns: ColumnProfile[];
}

export interface ProfileOptions {
  /** Columns to profile. @default all */
  columns?: string[];
  /** Number of equal-width histogram bins between min and max. @default 20 */
  bins?: number;
  /** Fixed histogram edges per column (e.g. a reference profile's), so two profiles share bins. */
  edges?: Record<string, number[]>;
  /** Take histogram edges from this profile for every column it has a histogram for. */
  edgesFrom?: Profile;
  /** How many most frequent values to keep for text columns. @default 20 */
  topK?: number;
}

export async function profileDataset(source: DataSource, opts: ProfileOptions = {}): Promise<Profile> {
  const src = resolveSource(source);
  const bins = opts.bins ?? 20;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new DataError("INVALID_OPTION", `bins must be a positive integer, got ${bins}`, {
      file: src.file,
      hint: "Use e.g. { bins: 20 }.",
    });
  }
  return withConnection(async (con) => {
    const schema = await describeColumns(con, src);
    const columns = opts.columns ? requireColumns(schema, opts.columns, src.file) : schema;
    const vc = await buildValueCounts(con, [src], columns);
    try {
      const out: ColumnProfile[] = [];
      for (const col of columns) {
        const counted = vc.grouped.find((g) => g.name === col.name);
        if (!counted) {
          const range = vc.sides[0]?.ranges[col.name];
          const count = range?.count ?? 0;
          out.push({
            name: col.name,
            type: col.type,
            kind: col.kind,
            count,
            nullCount: (vc.sides[0]?.rowCount ?? 0) - count,
            distinctCount: null,
            min: range?.min ?? null,
            max: range?.max ?? null,
          });
          continue;
        }
        if (col.kind === "numeric") {
          const [s] = await numericSummaries(con, vc, counted);
          const edges = edgesFor(col.name, opts, s.min, s.max, bins, src.file);
          const hist = edges ? (await histograms(con, vc, counted, edges))[0] : undefined;
          out.push({
            name: col.name,
            type: col.type,
            kind: col.kind,
            count: s.count,
            nullCount: s.nullCount,
            distinctCount: s.distinctCount,
            min: s.min,
            max: s.max,
            mean: s.mean,
            std: s.std,
            quantiles: s.quantiles,
            nonFiniteCount: s.nonFiniteCount,
            ...(hist ? { histogram: hist } : {}),
          });
        } else {
          const [s] = await categoricalSummaries(con, vc, counted);
          const [top] = await topKValues(con, vc, counted, opts.topK ?? 20);
          out.push({
            name: col.name,
            type: col.type,
            kind: col.kind,
            count: s.count,
            nullCount: s.nullCount,
            distinctCount: s.distinctCount,
            min: s.min,
            max: s.max,
            topK: top,
          });
        }
      }
      return {
        kind: "trainyard.profile",
        version: 1,
        source: src.label,
        rowCount: vc.sides[0]?.rowCount ?? 0,
        schema,
        columns: out,
      };
    } finally {
      await dropValueCounts(con, vc);
    }
  });
}

function edgesFor(
  name: string,
  opts: ProfileOptions,
  min: number | null,
  max: number | null,
  bins: number,
  file?: string,
): number[] | undefined {
  const given = opts.edges?.[name] ?? opts.edgesFrom?.columns.find((c) => c.name === name)?.histogram?.edges;
  if (given) {
    const ok = given.length >= 2 && given.every((e, i) => Number.isFinite(e) && (i === 0 || e > given[i - 1]));
    if (!ok) {
      throw new DataError(
        "INVALID_OPTION",
        "Histogram edges must be at least two finite, strictly increasing numbers",
        {
          file,
          column: name,
          hint: "Pass the `histogram.edges` of a reference profile unchanged.",
        },
      );
    }
    return given;
  }
  if (min === null || max === null) return undefined;
  return equalWidthEdges(min, max, bins);
}

/** The profile of one column, or a COLUMN_NOT_FOUND error. */
export function profileColumn(profile: Profile, name: string): ColumnProfile {
  const col = profile.columns.find((c) => c.name === name);
  if (!col) {
    throw new DataError("COLUMN_NOT_FOUND", `Column "${name}" is not in the profile`, {
      file: profile.source,
      column: name,
      hint: `Profiled columns: ${profile.columns.map((c) => c.name).join(", ")}.`,
    });
  }
  return col;
}
