import { checkMatrix, checkNotAllConstant, numericSignature, type FeatureMatrix } from "../feature-matrix.js";
import { checkBinaryLabels, checkLabels, countClasses } from "../labels.js";
import { minimizeLbfgs } from "./lbfgs.js";
import { LinearModel } from "./linear-model.js";
import { fitScaling, standardizedRows, l2Option } from "./standardize.js";

export interface LogisticOptions {
  /** "binary" (labels 0/1) or "multiclass" (softmax over labels 0..k-1). @default "binary" */
  task?: "binary" | "multiclass";
  /**
   * L2 penalty on standardized coefficients: loss = mean log loss + (l2/2)||w||^2; intercepts are not penalized.
   * @default 1e-4
   */
  l2?: number;
  /** @default 500 */
  maxIterations?: number;
  /** @default 1e-8 */
  gradientTolerance?: number;
}

/**
 * L2-regularized logistic regression (binary, or multinomial softmax with one weight vector per
 * class), fitted by L-BFGS on standardized features. Deterministic: no randomness anywhere.
 * Relation to sklearn: its C equals 1 / (n * l2).
 */
export function trainLogistic(x: FeatureMatrix, label: ArrayLike<number>, options: LogisticOptions = {}): LinearModel {
  checkMatrix(x);
  checkLabels(label, x.rows, x.columns.length);
  const task = options.task ?? "binary";
  if (task === "binary") checkBinaryLabels(label);
  const k = task === "binary" ? 1 : countClasses(label);
  checkNotAllConstant(x.columns, x.names);
  const l2 = l2Option(options.l2);
  const n = x.rows;
  const p = x.columns.length;
  const s = fitScaling(x.columns, x.names);
  const z = standardizedRows(x.columns, n, s);
  const y = Float64Array.from(label);
  // Parameters: per output c, p weights then the intercept, at c * (p + 1).
  const width = p + 1;
  const margin = new Float64Array(k);
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = i * p;
      for (let c = 0; c < k; c++) {
        let m = theta[c * width + p];
        for (let j = 0; j < p; j++) m += theta[c * width + j] * z[row + j];
        margin[c] = m;
      }
      if (k === 1) {
        const m = margin[0];
        // log(1 + e^m) computed stably; d/dm = sigmoid(m) - y.
        loss += (m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m))) - y[i] * m;
        const r = 1 / (1 + Math.exp(-m)) - y[i];
        for (let j = 0; j < p; j++) grad[j] += r * z[row + j];
        grad[p] += r;
      } else {
        let max = -Infinity;
        for (let c = 0; c < k; c++) max = Math.max(max, margin[c]);
        let sum = 0;
        for (let c = 0; c < k; c++) sum += Math.exp(margin[c] - max);
        const lse = max + Math.log(sum);
        loss += lse - margin[y[i]];
        for (let c = 0; c < k; c++) {
          const r = Math.exp(margin[c] - lse) - (y[i] === c ? 1 : 0);
          for (let j = 0; j < p; j++) grad[c * width + j] += r * z[row + j];
          grad[c * width + p] += r;
        }
      }
    }
    loss /= n;
    for (let i = 0; i < grad.length; i++) grad[i] /= n;
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < p; j++) {
        const w = theta[c * width + j];
        loss += 0.5 * l2 * w * w;
        grad[c * width + j] += l2 * w;
      }
    }
    return loss;
  };
  const result = minimizeLbfgs(objective, new Float64Array(k * width), {
    maxIterations: options.maxIterations,
    gradientTolerance: options.gradientTolerance,
  });
  const coefficients: Float64Array[] = [];
  const intercepts = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const w = new Float64Array(p);
    let b = result.x[c * width + p];
    for (let j = 0; j < p; j++) {
      w[j] = result.x[c * width + j] / s.scale[j];
      b -= w[j] * s.mean[j];
    }
    coefficients.push(w);
    intercepts[c] = b;
  }
  return new LinearModel(task, numericSignature(x.names), coefficients, intercepts);
}
