import { checkSameLength, countPositives, MetricInputError } from "./metric-input.js";

/** Clipping used by sklearn 1.2's log_loss(eps="auto") for float64: machine epsilon. */
const EPS = 2.220446049250313e-16;

/** Mean binary cross-entropy, as sklearn's `log_loss` on (y, p). */
export function logLoss(yTrue: ArrayLike<number>, proba: ArrayLike<number>): number {
  checkSameLength(yTrue, proba);
  countPositives(yTrue);
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = Math.min(Math.max(proba[i], EPS), 1 - EPS);
    sum -= yTrue[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / yTrue.length;
}

/** Mean squared difference between probability and outcome. */
export function brierScore(yTrue: ArrayLike<number>, proba: ArrayLike<number>): number {
  checkSameLength(yTrue, proba);
  countPositives(yTrue);
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) sum += (proba[i] - yTrue[i]) ** 2;
  return sum / yTrue.length;
}

export interface CalibrationBin {
  /** Bin edges over predicted probability: [lower, upper), the last bin includes 1. */
  lower: number;
  upper: number;
  meanPredicted: number;
  observedRate: number;
  count: number;
}

/**
 * Reliability table over `bins` equal-width probability bins (empty bins are omitted, as in
 * sklearn's calibration_curve with strategy="uniform").
 */
export function calibrationTable(yTrue: ArrayLike<number>, proba: ArrayLike<number>, bins = 10): CalibrationBin[] {
  checkSameLength(yTrue, proba);
  countPositives(yTrue);
  if (!(Number.isInteger(bins) && bins >= 1))
    throw new MetricInputError(`bins = ${bins}`, "bins must be an integer >= 1");
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  const count = new Float64Array(bins);
  for (let i = 0; i < yTrue.length; i++) {
    const p = proba[i];
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    sumP[b] += p;
    sumY[b] += yTrue[i];
    count[b]++;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    out.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      meanPredicted: sumP[b] / count[b],
      observedRate: sumY[b] / count[b],
      count: count[b],
    });
  }
  return out;
}
