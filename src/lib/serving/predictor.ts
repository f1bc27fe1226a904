/**
 * Loads a model bundle into a predictor: raw JSON rows in, predictions out. The request path is
 * validation (rowsToRawColumns) -> the shared feature code (applyFeatures) -> the estimator,
 * so it runs exactly the transforms the model was trained through, and a bad request is a 400
 * (FeatureInputError) before the model is touched.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { applyFeatures } from "../features/apply-features.js";
import type { FittedFeatures, InputType, RawColumns } from "../features/feature-spec.js";
import { rowsToRawColumns, type RowsOptions } from "../features/rows-to-raw-columns.js";
import type { InputSignature } from "../models/feature-matrix.js";
import { importXgboostJson } from "../models/import/xgboost-json.js";
import { OnnxModel } from "../models/import/onnx-model.js";
import { GbdtModel } from "../models/gbdt/gbdt-model.js";
import { LinearModel } from "../models/linear/linear-model.js";
import { loadModelAsync } from "../models/load-model.js";
import type { AsyncModel, Model, ModelJson, Task } from "../models/model.js";
import { BUNDLE_FILE, BundleError, readModelBundle, type EstimatorFile, type ModelBundle } from "./model-bundle.js";
import { smallBatchScorer } from "./small-batch-scorer.js";

export type Prediction =
  | { score: number; label: string | number }
  /** `classes[k]` is the class of `probabilities[k]`. */
  | { label: string | number; classes: (string | number)[]; probabilities: number[] }
  | { value: number };

export interface Predictor {
  readonly task: Task;
  readonly label: string;
  readonly classes?: (string | number)[];
  readonly features: FittedFeatures;
  /** The fields a request row must carry (and may not exceed). */
  readonly inputFields: { name: string; type: InputType; nullable: boolean }[];
  /** Scores JSON rows; throws FeatureInputError (status 400) for a row that does not match the inputs. */
  predictRows(rows: readonly unknown[], options?: RowsOptions): Promise<Prediction[]>;
  /**
   * `predictRows` without the promise, for the library's in-process estimators (GBDT, linear):
   * the model server calls it on its hot path. Absent for ONNX and other asynchronous models.
   */
  readonly predictRowsSync?: (rows: readonly unknown[], options?: RowsOptions) => Prediction[];
  /**
   * Scores raw columns: binary P(positive) per row, multiclass a row-major rows x classes
   * matrix, regression the value per row.
   */
  predictColumns(raw: RawColumns): Promise<Float64Array>;
}

/** Reads `dir/bundle.json` and loads its estimator. */
export async function loadPredictor(dir: string): Promise<Predictor> {
  const bundle = readModelBundle(dir);
  const model = await estimatorFromBundle(bundle, dir);
  return makePredictor(bundle, model, join(dir, BUNDLE_FILE));
}

/** Loads the estimator of a bundle with the models library (inline JSON, ONNX file or XGBoost file). */
export async function estimatorFromBundle(bundle: ModelBundle, dir: string): Promise<Model | AsyncModel> {
  const est = bundle.estimator;
  const file = join(dir, BUNDLE_FILE);
  const numClasses = bundle.task === "multiclass" ? bundle.classes!.length : 1;
  try {
    if (isEstimatorFile(est)) {
      const path = join(dir, est.file);
      if (est.format === "onnx") {
        return await OnnxModel.load(new Uint8Array(readFileSync(path)), {
          task: bundle.task,
          numClasses,
          signature: signatureOf(bundle.features),
          inputName: est.inputName,
          outputName: est.outputName,
        });
      }
      // XGBoost saves no feature names for matrix input: it was trained on the outputs in order.
      return importXgboostJson(
        readFileSync(path, "utf8"),
        bundle.features.outputs.map((o) => o.name),
      );
    }
    return await loadModelAsync(est);
  } catch (cause) {
    throw new BundleError(`cannot load the estimator: ${(cause as Error).message}`, {
      file,
      field: "estimator",
      cause,
      hint:
        (cause as { hint?: string }).hint ?? "check the estimator JSON/file was written by this version of Trainyard",
    });
  }
}

function isEstimatorFile(est: ModelJson | EstimatorFile): est is EstimatorFile {
  return (
    (est.format === "onnx" || est.format === "xgboost-json") && typeof (est as { file?: unknown }).file === "string"
  );
}

export function signatureOf(features: FittedFeatures): InputSignature {
  return { features: features.outputs.map((o) => ({ name: o.name, type: o.type })) };
}

/** Builds a predictor around an already loaded model (e.g. one just trained, before it is written). */
export function makePredictor(bundle: ModelBundle, model: Model | AsyncModel, file = "(in memory)"): Predictor {
  const outputs = new Set(bundle.features.outputs.map((o) => o.name));
  const missing = model.signature.features.filter((f) => !outputs.has(f.name)).map((f) => f.name);
  if (missing.length) {
    throw new BundleError(`the estimator expects features the fitted features do not produce: ${missing.join(", ")}`, {
      file,
      field: "features",
      hint: "train the estimator on applyFeatures(fitted, ...) of the same fitted features stored in the bundle",
    });
  }
  if (model.task !== bundle.task) {
    throw new BundleError(`the estimator is a ${model.task} model but the bundle says ${bundle.task}`, {
      file,
      field: "task",
      hint: "make bundle.task match the trained model",
    });
  }
  const classes = bundle.classes ?? (bundle.task === "binary" ? [0, 1] : undefined);
  if (bundle.task === "multiclass" && model.numClasses !== classes!.length) {
    throw new BundleError(`the estimator has ${model.numClasses} classes but the bundle lists ${classes!.length}`, {
      file,
      field: "classes",
      hint: "list the classes in the order of the model's outputs",
    });
  }
  const { task, features } = bundle;
  // Large batches (evaluation, batch scoring) use both cores where the model can; small ones
  // (a serving request) stay on the synchronous path, which has no hand-off cost.
  const parallel = (model as { predictAsync?: (x: ReturnType<typeof applyFeatures>) => Promise<Float64Array> })
    .predictAsync;
  const predictColumns = async (raw: RawColumns): Promise<Float64Array> => {
    const x = applyFeatures(features, raw);
    return parallel && x.rows >= 50_000 ? parallel.call(model, x) : model.predict(x);
  };
  const inputFields = features.inputs.map((i) => ({ name: i.name, type: i.type, nullable: i.nullable }));
  // Only the library's own in-process models are known to score synchronously; anything else
  // (ONNX, a caller's own AsyncModel) is awaited.
  if (!(model instanceof GbdtModel || model instanceof LinearModel)) {
    return {
      task,
      label: bundle.label,
      classes,
      features,
      inputFields,
      predictColumns,
      async predictRows(rows, options) {
        const raw = rowsToRawColumns(features, rows, options);
        return toPredictions(task, classes, await model.predict(applyFeatures(features, raw)), raw.rows);
      },
    };
  }
  const score = smallBatchScorer(model);
  const predictRowsSync = (rows: readonly unknown[], options?: RowsOptions): Prediction[] => {
    const raw = rowsToRawColumns(features, rows, options);
    return toPredictions(task, classes, score(applyFeatures(features, raw)), raw.rows);
  };
  return {
    task,
    label: bundle.label,
    classes,
    features,
    inputFields,
    predictColumns,
    predictRowsSync,
    async predictRows(rows, options) {
      return predictRowsSync(rows, options);
    },
  };
}

function toPredictions(
  task: Task,
  classes: (string | number)[] | undefined,
  out: Float64Array,
  rows: number,
): Prediction[] {
  const result = new Array<Prediction>(rows);
  if (task === "regression") {
    for (let i = 0; i < rows; i++) result[i] = { value: out[i] };
  } else if (task === "binary") {
    const [negative, positive] = classes!;
    for (let i = 0; i < rows; i++) result[i] = { score: out[i], label: out[i] >= 0.5 ? positive : negative };
  } else {
    const k = classes!.length;
    for (let i = 0; i < rows; i++) {
      const probabilities = Array.from(out.subarray(i * k, (i + 1) * k));
      let best = 0;
      for (let c = 1; c < k; c++) if (probabilities[c] > probabilities[best]) best = c;
      result[i] = { label: classes![best], classes: classes!, probabilities };
    }
  }
  return result;
}
