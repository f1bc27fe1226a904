import { seededRandom } from "../models/random.js";
import { checkSameLength, MetricInputError } from "./metric-input.js";
import type { Metric } from "./slice-metrics.js";

export interface BootstrapOptions {
  /** Resamples. @default 1000 */
  resamples?: number;
  /** Two-sided confidence level. @default 0.95 */
  confidence?: number;
  /** @default 0 */
  seed?: number;
}

export interface BootstrapInterval {
  /** metric(A) - metric(B) on all rows. */
  difference: number;
  lower: number;
  upper: number;
  confidence: number;
  resamples: number;
  /** Share of resamples where A did not beat B (difference <= 0); small means A is reliably larger. */
  shareNotBetter: number;
}

/**
 * Paired bootstrap of metric(A) - metric(B): both models are scored on the same resampled rows,
 * so row-level difficulty cancels and the interval is much tighter than comparing two separate
 * intervals. Percentile interval; deterministic for a seed. Resamples where the metric is
 * undefined (e.g. one class only) are skipped.
 */
export function pairedBootstrap(
  yTrue: ArrayLike<number>,
  predA: ArrayLike<number>,
  predB: ArrayLike<number>,
  metric: Metric,
  options: BootstrapOptions = {},
): BootstrapInterval {
  checkSameLength(yTrue, predA);
  checkSameLength(yTrue, predB);
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const random = seededRandom(options.seed ?? 0);
  const n = yTrue.length;
  const t = new Float64Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const diffs: number[] = [];
  for (let s = 0; s < resamples; s++) {
    for (let i = 0; i < n; i++) {
      const j = random.int(n);
      t[i] = yTrue[j];
      a[i] = predA[j];
      b[i] = predB[j];
    }
    try {
      diffs.push(metric(t, a) - metric(t, b));
    } catch (error) {
      if (!(error instanceof MetricInputError)) throw error;
    }
  }
  if (diffs.length === 0)
    throw new MetricInputError("the metric was undefined on every resample", "evaluate on more rows");
  diffs.sort((x, y) => x - y);
  const alpha = (1 - confidence) / 2;
  return {
    difference: metric(yTrue, predA) - metric(yTrue, predB),
    lower: quantile(diffs, alpha),
    upper: quantile(diffs, 1 - alpha),
    confidence,
    resamples: diffs.length,
    shareNotBetter: diffs.filter((d) => d <= 0).length / diffs.length,
  };
}

/** Linear interpolation between order statistics (numpy's default). */
function quantile(sorted: number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
