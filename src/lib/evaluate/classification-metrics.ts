import { checkSameLength, countPositives } from "./metric-input.js";

/**
 * Binary classification metrics at a decision threshold. Inputs are 0/1 labels and predicted
 * probabilities; a row is predicted positive when `p >= threshold` (sklearn's convention for
 * `predict` from `predict_proba` is `p > 0.5`; we use >= so a threshold of 0 means "all positive").
 * Undefined ratios (no predicted positives, ...) are 0, like sklearn's zero_division=0.
 */
export interface ConfusionMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function confusionMatrix(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = 0.5): ConfusionMatrix {
  checkSameLength(yTrue, proba);
  countPositives(yTrue);
  const m: ConfusionMatrix = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < yTrue.length; i++) {
    const predicted = proba[i] >= threshold;
    if (yTrue[i] === 1) predicted ? m.tp++ : m.fn++;
    else predicted ? m.fp++ : m.tn++;
  }
  return m;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

export const accuracyOf = (m: ConfusionMatrix): number => (m.tp + m.tn) / (m.tp + m.tn + m.fp + m.fn);
export const precisionOf = (m: ConfusionMatrix): number => ratio(m.tp, m.tp + m.fp);
export const recallOf = (m: ConfusionMatrix): number => ratio(m.tp, m.tp + m.fn);
export const f1Of = (m: ConfusionMatrix): number => ratio(2 * m.tp, 2 * m.tp + m.fp + m.fn);
/** False positive rate; with recall it describes one point of the ROC curve. */
export const falsePositiveRateOf = (m: ConfusionMatrix): number => ratio(m.fp, m.fp + m.tn);
/** Share of rows predicted positive (the quantity demographic parity compares). */
export const positiveRateOf = (m: ConfusionMatrix): number => (m.tp + m.fp) / (m.tp + m.tn + m.fp + m.fn);

export function accuracy(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = 0.5): number {
  return accuracyOf(confusionMatrix(yTrue, proba, threshold));
}
export function precision(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = 0.5): number {
  return precisionOf(confusionMatrix(yTrue, proba, threshold));
}
export function recall(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = 0.5): number {
  return recallOf(confusionMatrix(yTrue, proba, threshold));
}
export function f1Score(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = 0.5): number {
  return f1Of(confusionMatrix(yTrue, proba, threshold));
}
