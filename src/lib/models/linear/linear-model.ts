import { alignToSignature, type FeatureMatrix, type InputSignature } from "../feature-matrix.js";
import type { Model, ModelJson, Task } from "../model.js";
import { ModelError } from "../model-error.js";

export const LINEAR_FORMAT = "trainyard.linear/v1";

export interface LinearModelJson extends ModelJson {
  format: typeof LINEAR_FORMAT;
  task: Task;
  signature: InputSignature;
  /** One row per output (1 for binary/regression, k for multiclass), on the raw feature scale. */
  coefficients: number[][];
  intercepts: number[];
}

/**
 * A fitted linear model: regression returns x.w + b, binary the sigmoid of it, multiclass the
 * softmax over one (w, b) per class. Coefficients apply to raw (unstandardized) features.
 */
export class LinearModel implements Model {
  readonly format = LINEAR_FORMAT;
  readonly numClasses: number;

  constructor(
    readonly task: Task,
    readonly signature: InputSignature,
    readonly coefficients: Float64Array[],
    readonly intercepts: Float64Array,
  ) {
    this.numClasses = task === "multiclass" ? coefficients.length : 1;
  }

  /** x.w + b per output, class-major. */
  predictLinear(features: FeatureMatrix): Float64Array {
    const cols = alignToSignature(features, this.signature);
    const rows = features.rows;
    const k = this.coefficients.length;
    const out = new Float64Array(rows * k);
    for (let c = 0; c < k; c++) {
      const w = this.coefficients[c];
      const o = out.subarray(c * rows, (c + 1) * rows);
      o.fill(this.intercepts[c]);
      for (let j = 0; j < cols.length; j++) {
        const col = cols[j];
        const wj = w[j];
        if (wj === 0) continue;
        for (let i = 0; i < rows; i++) o[i] += wj * col[i];
      }
    }
    return out;
  }

  predict(features: FeatureMatrix): Float64Array {
    const z = this.predictLinear(features);
    if (this.task === "regression") return z;
    if (this.task === "binary") {
      for (let i = 0; i < z.length; i++) z[i] = 1 / (1 + Math.exp(-z[i]));
      return z;
    }
    const rows = features.rows;
    const k = this.numClasses;
    const out = new Float64Array(rows * k);
    for (let r = 0; r < rows; r++) {
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, z[c * rows + r]);
      let sum = 0;
      for (let c = 0; c < k; c++) sum += out[r * k + c] = Math.exp(z[c * rows + r] - max);
      for (let c = 0; c < k; c++) out[r * k + c] /= sum;
    }
    return out;
  }

  toJSON(): LinearModelJson {
    return {
      format: LINEAR_FORMAT,
      task: this.task,
      signature: this.signature,
      coefficients: this.coefficients.map((w) => Array.from(w)),
      intercepts: Array.from(this.intercepts),
    };
  }

  static fromJSON(json: LinearModelJson): LinearModel {
    if (json.format !== LINEAR_FORMAT || !Array.isArray(json.coefficients) || !json.signature) {
      throw new ModelError("INVALID_MODEL_JSON", `not a ${LINEAR_FORMAT} model`, {
        hint: "pass the object produced by LinearModel.toJSON()",
      });
    }
    return new LinearModel(
      json.task,
      json.signature,
      json.coefficients.map((w) => Float64Array.from(w)),
      Float64Array.from(json.intercepts),
    );
  }
}
