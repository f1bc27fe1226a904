import {
  accuracyOf,
  confusionMatrix,
  f1Of,
  precisionOf,
  recallOf,
  type ConfusionMatrix,
} from "./classification-metrics.js";
import { brierScore, calibrationTable, logLoss, type CalibrationBin } from "./probability-metrics.js";
import { averagePrecision, rocAuc } from "./ranking-metrics.js";
import { mae, mape, r2, rmse } from "./regression-metrics.js";

export * from "./classification-metrics.js";
export * from "./probability-metrics.js";
export * from "./ranking-metrics.js";
export * from "./multiclass-metrics.js";
export * from "./regression-metrics.js";
export * from "./slice-metrics.js";
export * from "./paired-bootstrap.js";
export { MetricInputError } from "./metric-input.js";

/** Everything an evaluate step reports for a binary classifier, in one plain JSON-able object. */
export interface BinaryReport {
  rows: number;
  positives: number;
  threshold: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  rocAuc: number;
  prAuc: number;
  logLoss: number;
  brier: number;
  confusion: ConfusionMatrix;
  calibration: CalibrationBin[];
}

export function binaryReport(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = 0.5): BinaryReport {
  const confusion = confusionMatrix(yTrue, proba, threshold);
  return {
    rows: yTrue.length,
    positives: confusion.tp + confusion.fn,
    threshold,
    accuracy: accuracyOf(confusion),
    precision: precisionOf(confusion),
    recall: recallOf(confusion),
    f1: f1Of(confusion),
    rocAuc: rocAuc(yTrue, proba),
    prAuc: averagePrecision(yTrue, proba),
    logLoss: logLoss(yTrue, proba),
    brier: brierScore(yTrue, proba),
    confusion,
    calibration: calibrationTable(yTrue, proba),
  };
}

export interface RegressionReport {
  rows: number;
  rmse: number;
  mae: number;
  r2: number;
  mape: number;
}

export function regressionReport(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionReport {
  return {
    rows: yTrue.length,
    rmse: rmse(yTrue, yPred),
    mae: mae(yTrue, yPred),
    r2: r2(yTrue, yPred),
    mape: mape(yTrue, yPred),
  };
}
