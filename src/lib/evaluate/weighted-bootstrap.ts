/**
 * Paired bootstrap for large held-out sets. Resampling 500k rows a thousand times and re-sorting
 * for AUC each time is far too slow, so this uses the Poisson bootstrap: each resample gives
 * every row a Poisson(1) count, and weighted metrics are computed in O(n) over one shared sort
 * order. Both models see the same weights in a resample, which is what makes it paired.
 */

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
  const ones = new Uint8Array(n).fill(1);
  // AUC walks each model's scores in sorted order; the orders, labels and tie groups are laid out
  // once, so a resample is a sequential pass plus one gather of the weights.
  const sortedA = metric === "auc" ? sortedLayout(y, candidate) : undefined;
  const sortedB = metric === "auc" ? sortedLayout(y, baseline) : undefined;
  const score = (pred: ArrayLike<number>, w: Uint8Array, layout?: SortedLayout) =>
    layout ? weightedAuc(layout, w) : weightedMetric(metric, y, pred, w);
  const mean = score(candidate, ones, sortedA) - score(baseline, ones, sortedB);
  const w = new Uint8Array(n);
  const diffs: number[] = [];
  let state = ((opts.seed ?? 0) ^ 0x9e3779b9) >>> 0 || 1;
  for (let s = 0; s < resamples; s++) {
    for (let i = 0; i < n; i++) {
      // xorshift32, then Poisson(1) by inverse CDF against a precomputed table.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const k = POISSON1_BY_HIGH_BITS[state >>> 16];
      if (k !== 255) w[i] = k;
      else {
        const u = (state >>> 0) / 4294967296;
        let j = 0;
        while (j < POISSON1_CDF.length && u > POISSON1_CDF[j]) j++;
        w[i] = j;
      }
    }
    const d = score(candidate, w, sortedA) - score(baseline, w, sortedB);
    if (Number.isFinite(d)) diffs.push(d);
  }
  diffs.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  const at = (q: number) => diffs[Math.min(diffs.length - 1, Math.max(0, Math.floor(q * (diffs.length - 1))))];
  return { metric, mean, low: at(alpha), high: at(1 - alpha), confidence, samples: diffs.length };
}

/** P(K <= k) for K ~ Poisson(1), k = 0..11; beyond that the mass is below 1e-9. */
const POISSON1_CDF = (() => {
  const out: number[] = [];
  let p = Math.exp(-1);
  let cdf = p;
  for (let k = 0; k < 12; k++) {
    out.push(cdf);
    p /= k + 1;
    cdf += p;
  }
  return Float64Array.from(out);
})();

/**
 * The draw for each value of the top 16 bits of the uniform, where that whole cell falls in one
 * Poisson bucket (255 where a bucket boundary cuts the cell: those few use the CDF).
 */
const POISSON1_BY_HIGH_BITS = (() => {
  const table = new Uint8Array(65536);
  const bucket = (u: number) => {
    let k = 0;
    while (k < POISSON1_CDF.length && u > POISSON1_CDF[k]) k++;
    return k;
  };
  for (let h = 0; h < 65536; h++) {
    const lo = bucket(h / 65536);
    const hi = bucket((h + 1) / 65536 - 2 ** -32);
    table[h] = lo === hi ? lo : 255;
  }
  return table;
})();

interface SortedLayout {
  /** Row index at each sorted position. */
  order: Int32Array;
  /** Label at each sorted position. */
  label: Uint8Array;
  /** 1 where a new group of tied scores starts. */
  groupStart: Uint8Array;
}

function sortedLayout(y: ArrayLike<number>, score: ArrayLike<number>): SortedLayout {
  const order = sortOrder(score);
  const n = order.length;
  const label = new Uint8Array(n);
  const groupStart = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    label[j] = y[order[j]] === 1 ? 1 : 0;
    groupStart[j] = j === 0 || score[order[j]] !== score[order[j - 1]] ? 1 : 0;
  }
  return { order, label, groupStart };
}

/** Weighted Mann-Whitney AUC: ties share half credit, as in the unweighted form. */
function weightedAuc(l: SortedLayout, w: Uint8Array): number {
  const n = l.order.length;
  let negBelow = 0;
  let pos = 0;
  let neg = 0;
  let area = 0;
  let tiePos = 0;
  let tieNeg = 0;
  for (let j = 0; j < n; j++) {
    if (l.groupStart[j] === 1) {
      area += tiePos * (negBelow + tieNeg / 2);
      negBelow += tieNeg;
      pos += tiePos;
      neg += tieNeg;
      tiePos = 0;
      tieNeg = 0;
    }
    const wi = w[l.order[j]];
    if (l.label[j] === 1) tiePos += wi;
    else tieNeg += wi;
  }
  area += tiePos * (negBelow + tieNeg / 2);
  pos += tiePos;
  neg += tieNeg;
  return pos > 0 && neg > 0 ? area / (pos * neg) : NaN;
}

function sortOrder(score: ArrayLike<number>): Int32Array {
  const idx = new Int32Array(score.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => score[a] - score[b]);
}

export function weightedMetric(
  metric: WeightedMetric,
  y: ArrayLike<number>,
  pred: ArrayLike<number>,
  w: ArrayLike<number>,
  order?: Int32Array,
): number {
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
