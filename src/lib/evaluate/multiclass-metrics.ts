import { checkSameLength, MetricInputError } from "./metric-input.js";

/**
 * Multiclass metrics. Probabilities are a row-major `rows x k` matrix (what multiclass models'
 * `predict` returns); labels are class indices 0..k-1.
 */
export function argmaxRows(proba: ArrayLike<number>, k: number): Int32Array {
  const rows = proba.length / k;
  if (!Number.isInteger(rows))
    throw new MetricInputError(
      `${proba.length} probabilities is not a multiple of ${k} classes`,
      "pass a rows x k matrix",
    );
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[r * k + c] > proba[r * k + best]) best = c;
    out[r] = best;
  }
  return out;
}

export function multiclassAccuracy(yTrue: ArrayLike<number>, predicted: ArrayLike<number>): number {
  checkSameLength(yTrue, predicted);
  let hit = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === predicted[i]) hit++;
  return hit / yTrue.length;
}

/** As sklearn's log_loss with a probability matrix: rows are clipped then renormalized. */
export function multiclassLogLoss(yTrue: ArrayLike<number>, proba: ArrayLike<number>, k: number): number {
  checkSameLength(yTrue, { length: proba.length / k });
  const eps = 2.220446049250313e-16;
  let sum = 0;
  for (let r = 0; r < yTrue.length; r++) {
    let z = 0;
    for (let c = 0; c < k; c++) z += Math.min(Math.max(proba[r * k + c], eps), 1 - eps);
    const y = yTrue[r];
    if (!(Number.isInteger(y) && y >= 0 && y < k))
      throw new MetricInputError(`label ${y} at row ${r} is not a class in 0..${k - 1}`, "encode classes as 0..k-1");
    sum -= Math.log(Math.min(Math.max(proba[r * k + y], eps), 1 - eps) / z);
  }
  return sum / yTrue.length;
}

/** Unweighted mean of per-class F1 over the classes present in labels or predictions (sklearn average="macro"). */
export function macroF1(yTrue: ArrayLike<number>, predicted: ArrayLike<number>): number {
  checkSameLength(yTrue, predicted);
  const classes = new Set<number>();
  for (let i = 0; i < yTrue.length; i++) {
    classes.add(yTrue[i]);
    classes.add(predicted[i]);
  }
  let total = 0;
  for (const c of classes) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < yTrue.length; i++) {
      const t = yTrue[i] === c;
      const p = predicted[i] === c;
      if (t && p) tp++;
      else if (p) fp++;
      else if (t) fn++;
    }
    total += 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return total / classes.size;
}
