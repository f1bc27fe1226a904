import { alignToSignature, type FeatureMatrix, type InputSignature } from "../feature-matrix.js";
import type { Model, ModelJson, Task } from "../model.js";
import { ModelError } from "../model-error.js";
import type { GbdtObjective } from "./gbdt-options.js";
import { defaultPredictThreads, PARALLEL_MIN_ROWS, predictMarginsParallel } from "./predict-pool.js";
import { ensembleFromJson, ensembleToJson, predictMargins, type TreeEnsemble, type TreeJson } from "./tree-ensemble.js";

export const GBDT_FORMAT = "trainyard.gbdt/v1";

/** Per-round validation losses and the round kept, when training had a validation set. */
export interface TrainingHistory {
  metric: string;
  validation: number[];
  bestRound: number;
}

export interface GbdtModelJson extends ModelJson {
  format: typeof GBDT_FORMAT;
  objective: GbdtObjective;
  numClasses: number;
  signature: InputSignature;
  baseMargin: number[];
  /** True for models imported from XGBoost: features are compared as float32. */
  float32: boolean;
  trees: TreeJson[];
}

export interface BatchPredictOptions {
  /** Threads to score with, the calling thread included. @default all available cores */
  threads?: number;
  /** Smaller batches are scored synchronously. @default PARALLEL_MIN_ROWS (50000) */
  minParallelRows?: number;
}

export function taskOf(objective: GbdtObjective): Task {
  return objective === "binary:logistic" ? "binary" : objective === "multi:softprob" ? "multiclass" : "regression";
}

export class GbdtModel implements Model {
  readonly format = GBDT_FORMAT;
  readonly task: Task;

  constructor(
    readonly objective: GbdtObjective,
    readonly numClasses: number,
    readonly signature: InputSignature,
    readonly ensemble: TreeEnsemble,
    readonly history?: TrainingHistory,
  ) {
    this.task = taskOf(objective);
  }

  get numTrees(): number {
    return this.ensemble.roots.length;
  }

  /** Raw margins (log-odds for binary), class-major for multiclass. */
  predictMargin(features: FeatureMatrix): Float64Array {
    return predictMargins(this.ensemble, alignToSignature(features, this.signature), features.rows);
  }

  predict(features: FeatureMatrix): Float64Array {
    const margin = this.predictMargin(features);
    return transformMargins(this.objective, margin, features.rows, this.numClasses);
  }

  /**
   * Batch scoring on worker threads: the same values as `predictMargin`, bit for bit (rows are
   * partitioned, the arithmetic per row is unchanged). Batches under PARALLEL_MIN_ROWS rows, or
   * `threads: 1`, are scored synchronously on the calling thread. The calling thread scores its
   * share of the rows too, so it is busy for most of the call.
   */
  async predictMarginAsync(features: FeatureMatrix, options: BatchPredictOptions = {}): Promise<Float64Array> {
    const columns = alignToSignature(features, this.signature);
    const threads = options.threads ?? defaultPredictThreads();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new ModelError("INVALID_OPTION", `option threads = ${String(threads)} is invalid`, {
        hint: "threads must be an integer >= 1",
      });
    }
    if (threads === 1 || features.rows < (options.minParallelRows ?? PARALLEL_MIN_ROWS)) {
      return predictMargins(this.ensemble, columns, features.rows);
    }
    try {
      return await predictMarginsParallel(this.ensemble, columns, features.rows, threads);
    } catch {
      // A worker failed (or could not start): score here instead; the result is the same.
      return predictMargins(this.ensemble, columns, features.rows);
    }
  }

  /** `predict` for large batches, on worker threads; equal to `predict(features)` exactly. */
  async predictAsync(features: FeatureMatrix, options: BatchPredictOptions = {}): Promise<Float64Array> {
    const margin = await this.predictMarginAsync(features, options);
    return transformMargins(this.objective, margin, features.rows, this.numClasses);
  }

  toJSON(): GbdtModelJson {
    const e = this.ensemble;
    return {
      format: GBDT_FORMAT,
      objective: this.objective,
      numClasses: this.numClasses,
      signature: this.signature,
      baseMargin: e.baseMargin,
      float32: e.float32,
      trees: ensembleToJson(e),
    };
  }

  static fromJSON(json: GbdtModelJson): GbdtModel {
    if (json.format !== GBDT_FORMAT || !json.signature || !Array.isArray(json.baseMargin)) {
      throw new ModelError("INVALID_MODEL_JSON", `not a ${GBDT_FORMAT} model`, {
        hint: "pass the object produced by GbdtModel.toJSON()",
      });
    }
    const outputs = json.objective === "multi:softprob" ? json.numClasses : 1;
    return new GbdtModel(
      json.objective,
      json.numClasses,
      json.signature,
      ensembleFromJson(json.trees, outputs, json.baseMargin, json.float32 === true),
    );
  }
}

/** Margins to the model's output scale; multiclass becomes row-major probabilities. */
export function transformMargins(
  objective: GbdtObjective,
  margin: Float64Array,
  rows: number,
  numClasses: number,
): Float64Array {
  if (objective === "reg:squarederror") return margin;
  if (objective === "binary:logistic") {
    for (let i = 0; i < margin.length; i++) margin[i] = 1 / (1 + Math.exp(-margin[i]));
    return margin;
  }
  const k = numClasses;
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, margin[c * rows + r]);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += out[r * k + c] = Math.exp(margin[c * rows + r] - max);
    for (let c = 0; c < k; c++) out[r * k + c] /= sum;
  }
  return out;
}
