import { checkMatrix, checkNotAllConstant, numericSignature, type FeatureMatrix } from "../feature-matrix.js";
import { checkLabels } from "../labels.js";
import { LinearModel } from "./linear-model.js";
import { fitScaling, l2Option } from "./standardize.js";

export interface RidgeOptions {
  /** L2 penalty on standardized coefficients, in the loss (1/2n)||y - Xw - b||^2 + (l2/2)||w||^2. @default 1e-4 */
  l2?: number;
}

/**
 * Ridge regression in closed form: (Z'Z/n + l2 I) w = Z'(y - mean y)/n on standardized features,
 * solved by Cholesky. Exact and deterministic; the p x p system is cheap for tabular widths.
 */
export function trainRidge(x: FeatureMatrix, label: ArrayLike<number>, options: RidgeOptions = {}): LinearModel {
  checkMatrix(x);
  checkLabels(label, x.rows, x.columns.length);
  checkNotAllConstant(x.columns, x.names);
  const l2 = l2Option(options.l2);
  const n = x.rows;
  const p = x.columns.length;
  const s = fitScaling(x.columns, x.names);
  let yMean = 0;
  for (let i = 0; i < n; i++) yMean += label[i];
  yMean /= n;
  const z = x.columns.map((col, j) => Float64Array.from(col, (v) => (v - s.mean[j]) / s.scale[j]));
  const a = new Float64Array(p * p);
  const rhs = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    for (let k = 0; k <= j; k++) {
      let dot = 0;
      const zj = z[j];
      const zk = z[k];
      for (let i = 0; i < n; i++) dot += zj[i] * zk[i];
      a[j * p + k] = a[k * p + j] = dot / n;
    }
    // A tiny ridge keeps zero columns (constant features) from making the system singular.
    a[j * p + j] += l2 + 1e-12;
    let r = 0;
    for (let i = 0; i < n; i++) r += z[j][i] * (label[i] - yMean);
    rhs[j] = r / n;
  }
  const w = solveCholesky(a, rhs, p);
  const coef = new Float64Array(p);
  let intercept = yMean;
  for (let j = 0; j < p; j++) {
    coef[j] = w[j] / s.scale[j];
    intercept -= coef[j] * s.mean[j];
  }
  return new LinearModel("regression", numericSignature(x.names), [coef], Float64Array.of(intercept));
}

/** Solves A x = b for symmetric positive definite A (row-major p x p). */
export function solveCholesky(a: Float64Array, b: Float64Array, p: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * p + j];
      for (let k = 0; k < j; k++) sum -= l[i * p + k] * l[j * p + k];
      l[i * p + j] = i === j ? Math.sqrt(Math.max(sum, 1e-300)) : sum / l[j * p + j];
    }
  }
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= l[i * p + k] * y[k];
    y[i] = sum / l[i * p + i];
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let sum = y[i];
    for (let k = i + 1; k < p; k++) sum -= l[k * p + i] * x[k];
    x[i] = sum / l[i * p + i];
  }
  return x;
}
