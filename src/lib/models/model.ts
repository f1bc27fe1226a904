import type { FeatureMatrix, InputSignature } from "./feature-matrix.js";

/** What a model predicts; decides the shape of `predict`'s output. */
export type Task = "binary" | "multiclass" | "regression";

/**
 * A trained model. `predict` returns:
 * - binary: P(label = 1) per row;
 * - multiclass: a row-major `rows x numClasses` matrix of class probabilities;
 * - regression: the predicted value per row.
 */
export interface Model {
  readonly format: string;
  readonly task: Task;
  /** 1 for binary and regression. */
  readonly numClasses: number;
  readonly signature: InputSignature;
  predict(features: FeatureMatrix): Float64Array;
  /** A plain JSON value with a `format` field; `loadModel` turns it back into a model. */
  toJSON(): ModelJson;
}

/** Models scored by an external runtime (ONNX) can only predict asynchronously. */
export interface AsyncModel {
  readonly format: string;
  readonly task: Task;
  readonly numClasses: number;
  readonly signature: InputSignature;
  predict(features: FeatureMatrix): Promise<Float64Array>;
  toJSON(): ModelJson;
}

export interface ModelJson {
  format: string;
  [key: string]: unknown;
}
