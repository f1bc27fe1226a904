/**
 * Paired bootstrap for large held-out sets. Resampling 500k rows a thousand times and re-sorting
 * for AUC each time is far too slow, so this uses the Poisson bootstrap: each resample gives
 * every row a Poisson(1) count, and weighted metrics are computed in O(n) over one shared sort
 * order. Both models see the same weights in a resample, which is what makes it paired.
 */
import { seededRandom } from "../models/random.js";

export type WeightedMetric = "auc" | "log_loss" | "accuracy" | "brier" | "rmse" | "mae";

export interface WeightedInterval {
  metric: WeightedMetric;
  /** metric(candidate) - metric(baseline) on the full data. */
  mean: number;
  low: number;
  high: number;
  confidence: number;
  samples: number;
}

export function pairedPoissonBootstrap(
  y: ArrayLike<number>,
  candidate: ArrayLike<number>,
  baseline: ArrayLike<number>,
  metric: WeightedMetric,
  opts: { resamples?: number; confidence?: number; seed?: number } = {},
): WeightedInterval {
  const n = y.length;
  const resamples = opts.resamples ?? 200;
  const confidence = opts.confidence ?? 0.95;
  const rand = seededRandom(opts.seed ?? 0);
  const ones = new Float64Array(n).fill(1);
  const orderA = metric === "auc" ? sortOrder(candidate) : undefined;
  const orderB = metric === "auc" ? sortOrder(baseline) : undefined;
  const score = (pred: ArrayLike<number>, w: Float64Array, order?: Int32Array) => weightedMetric(metric, y, pred, w, order);
  const mean = score(candidate, ones, orderA) - score(baseline, ones, orderB);
  const w = new Float64Array(n);
  const diffs: number[] = [];
  for (let s = 0; s < resamples; s++) {
    for (let i = 0; i < n; i++) w[i] = poisson1(rand.next());
    const d = score(candidate, w, orderA) - score(baseline, w, orderB);
    if (Number.isFinite(d)) diffs.push(d);
  }
  diffs.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  const at = (q: number) => diffs[Math.min(diffs.length - 1, Math.max(0, Math.floor(q * (diffs.length - 1))))];
  return { metric, mean, low: at(alpha), high: at(1 - alpha), confidence, samples: diffs.length };
}

/** Inverse-CDF sample of Poisson(1) from one uniform draw. */
function poisson1(u: number): number {
  let k = 0;
  let p = Math.exp(-1);
  let cdf = p;
  while (u > cdf && k < 20) {
    k++;
    p /= k;
    cdf += p;
  }
  return k;
}

function sortOrder(score: ArrayLike<number>): Int32Array {
  const idx = new Int32Array(score.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => score[a] - score[b]);
}

export function weightedMetric(metric: WeightedMetric, y: ArrayLike<number>, pred: ArrayLike<number>, w: ArrayLike<number>, order?: Int32Array): number {
  const n = y.length;
  if (metric === "auc") {
    // Walk scores ascending; ties share half credit, as in the unweighted Mann-Whitney form.
    const o = order ?? sortOrder(pred);
    let negBelow = 0;
    let pos = 0;
    let neg = 0;
    let area = 0;
    for (let i = 0; i < n; ) {
      let j = i;
      let tiePos = 0;
      let tieNeg = 0;
      const s = pred[o[i]];
      while (j < n && pred[o[j]] === s) {
        const k = o[j];
        if (y[k] === 1) tiePos += w[k];
        else tieNeg += w[k];
        j++;
      }
      area += tiePos * (negBelow + tieNeg / 2);
      negBelow += tieNeg;
      pos += tiePos;
      neg += tieNeg;
      i = j;
    }
    return pos > 0 && neg > 0 ? area / (pos * neg) : NaN;
  }
  let sum = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    const t = y[i];
    const p = pred[i];
    let loss: number;
    switch (metric) {
      case "log_loss": {
        const q = Math.min(1 - 1e-15, Math.max(1e-15, p));
        loss = -(t * Math.log(q) + (1 - t) * Math.log(1 - q));
        break;
      }
      case "accuracy":
        loss = (p >= 0.5 ? 1 : 0) === t ? 1 : 0;
        break;
      case "brier":
        loss = (p - t) ** 2;
        break;
      case "mae":
        loss = Math.abs(p - t);
        break;
      default:
        loss = (p - t) ** 2;
    }
    sum += wi * loss;
    total += wi;
  }
  const m = sum / total;
  return metric === "rmse" ? Math.sqrt(m) : m;
}
