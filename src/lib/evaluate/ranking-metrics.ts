import { checkSameLength, countPositives, MetricInputError } from "./metric-input.js";

/**
 * Threshold-free ranking metrics. Both sort positive and negative scores separately with the
 * native typed-array sort (no comparator, so ~10x faster than sorting row indices) and merge.
 * Ties are handled as sklearn does: rows with equal scores form one threshold, which for ROC AUC
 * is the trapezoid between the points and equals counting a tied (pos, neg) pair as one half.
 */
export function rocAuc(yTrue: ArrayLike<number>, score: ArrayLike<number>): number {
  const { pos, neg } = splitScores(yTrue, score);
  // For each positive, negatives strictly below plus half the tied ones (exact integer sums).
  let below = 0;
  let tied = 0;
  let j = 0;
  let sum = 0;
  for (let i = 0; i < pos.length; i++) {
    const s = pos[i];
    if (i > 0 && s === pos[i - 1]) {
      sum += below + tied / 2;
      continue;
    }
    while (j < neg.length && neg[j] < s) j++;
    below = j;
    let k = j;
    while (k < neg.length && neg[k] === s) k++;
    tied = k - j;
    sum += below + tied / 2;
  }
  return sum / (pos.length * neg.length);
}

/** Average precision as sklearn's `average_precision_score`: sum over thresholds of (R_n - R_n-1) * P_n. */
export function averagePrecision(yTrue: ArrayLike<number>, score: ArrayLike<number>): number {
  const { pos, neg } = splitScores(yTrue, score);
  // Walk thresholds from the highest score down.
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  while (i >= 0) {
    const s = Math.max(pos[i], j >= 0 ? neg[j] : -Infinity);
    let dtp = 0;
    while (i >= 0 && pos[i] === s) {
      i--;
      dtp++;
    }
    while (j >= 0 && neg[j] === s) {
      j--;
      fp++;
    }
    tp += dtp;
    if (dtp > 0) ap += (dtp / pos.length) * (tp / (tp + fp));
  }
  return ap;
}

export interface RocPoint {
  threshold: number;
  fpr: number;
  tpr: number;
}

/** ROC curve at every distinct score (highest first), starting at (0, 0). */
export function rocCurve(yTrue: ArrayLike<number>, score: ArrayLike<number>): RocPoint[] {
  const { pos, neg } = splitScores(yTrue, score);
  const out: RocPoint[] = [{ threshold: Infinity, fpr: 0, tpr: 0 }];
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  while (i >= 0 || j >= 0) {
    const s = Math.max(i >= 0 ? pos[i] : -Infinity, j >= 0 ? neg[j] : -Infinity);
    while (i >= 0 && pos[i] === s) {
      i--;
      tp++;
    }
    while (j >= 0 && neg[j] === s) {
      j--;
      fp++;
    }
    out.push({ threshold: s, fpr: fp / neg.length, tpr: tp / pos.length });
  }
  return out;
}

function splitScores(yTrue: ArrayLike<number>, score: ArrayLike<number>): { pos: Float64Array; neg: Float64Array } {
  checkSameLength(yTrue, score, "scores");
  const p = countPositives(yTrue);
  if (p === 0 || p === yTrue.length) {
    throw new MetricInputError(
      "ranking metrics need both classes in the labels",
      "evaluate on rows that contain positives and negatives",
    );
  }
  const pos = new Float64Array(p);
  const neg = new Float64Array(yTrue.length - p);
  let a = 0;
  let b = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const s = score[i];
    if (Number.isNaN(s))
      throw new MetricInputError(`score is NaN at row ${i}`, "the model produced NaN; check its inputs");
    if (yTrue[i] === 1) pos[a++] = s;
    else neg[b++] = s;
  }
  pos.sort();
  neg.sort();
  return { pos, neg };
}
