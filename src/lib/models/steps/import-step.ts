/**
 * A model trained elsewhere (XGBoost JSON or ONNX, e.g. by a Python command step) becomes a
 * model bundle in one step: the features it was trained on, its task and classes, checked by
 * loading it through the serving code before the bundle is stored.
 */
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Dataset, FileArtifact, ModelArtifact, Pipeline, StepOptions, StepRef } from "../../../index.js";
import { readColumns } from "../../data/duck.js";
import { datasetSource } from "../../data/steps/quality-steps.js";
import type { FittedFeatures } from "../../features/feature-spec.js";
import { fitFeatures } from "../../features/fit-features.js";
import { BUNDLE_FORMAT, writeModelBundle, type EstimatorFile } from "../../serving/model-bundle.js";
import { loadPredictor } from "../../serving/predictor.js";
import { importXgboostJson } from "../import/xgboost-json.js";
import { ModelError } from "../model-error.js";
import type { Task } from "../model.js";
import { classesOf } from "./label-task.js";

export interface ImportModelOptions extends Pick<StepOptions, "retry" | "timeout" | "version" | "description"> {
  /** `xgboost-json`: from `booster.save_model("model.json")`; `onnx`: a graph with one float input [rows, features]. */
  format: "xgboost-json" | "onnx";
  /** The model file, e.g. a command step's output. */
  model: StepRef<FileArtifact> | StepRef<ModelArtifact>;
  /**
   * The columns the model was trained on, in training order (read raw, as numbers), or fitted
   * features whose outputs it was trained on.
   */
  features: readonly string[] | StepRef<FittedFeatures>;
  /** The label column the model predicts. */
  label: string;
  /** @default from the XGBoost objective; required for ONNX */
  task?: Task;
  /** Class values in the model's output order. @default the sorted label values of `data` ([0, 1] for a 0/1 label) */
  classes?: readonly (string | number)[];
  /** The training data: types the feature columns and lists the classes. */
  data?: StepRef<Dataset>;
  /** ONNX: the graph's input and output names. @default the first of each */
  onnx?: { inputName?: string; outputName?: string };
}

/** Imports a model trained outside Trainyard into a bundle the evaluate step and the model server load. */
export function importModel(p: Pipeline<any>, id: string, opts: ImportModelOptions): StepRef<ModelArtifact> {
  const { format, model, features, label, task, classes, data, onnx, ...options } = opts;
  const inputs = { model, ...(Array.isArray(features) ? {} : { features }), ...(data ? { data } : {}) } as {
    model: StepRef<FileArtifact>;
    features?: StepRef<FittedFeatures>;
    data?: StepRef<Dataset>;
  };
  return p.step(id, {
    description: options.description ?? `import a ${format} model`,
    ...options,
    version: `import-model/1${options.version ? `+${options.version}` : ""}`,
    inputs,
    config: { format, features: Array.isArray(features) ? features : undefined, label, task, classes, onnx },
    run: async (ctx, input) => {
      const file = (input.model as FileArtifact).path;
      const train = input.data as Dataset | undefined;
      const fitted =
        (input.features as FittedFeatures | undefined) ??
        (await passthroughFeatures(features as readonly string[], train));
      const names = fitted.outputs.map((o) => o.name);
      let modelTask = task;
      if (format === "xgboost-json") {
        const xgb = parseXgboost(file);
        const trainedOn = xgb.learner?.feature_names;
        if (trainedOn?.length && JSON.stringify(trainedOn) !== JSON.stringify(names)) {
          throw new ModelError(
            "FEATURE_MISMATCH",
            `the XGBoost model was trained on ${JSON.stringify(trainedOn)}, ` +
              `but features lists ${JSON.stringify(names)}`,
            {
              hint: "list `features` in the order the training script passed the columns",
            },
          );
        }
        const native = importXgboostJson(JSON.stringify(xgb), names);
        if (modelTask !== undefined && modelTask !== native.task) {
          throw new ModelError(
            "INVALID_OPTION",
            `task is "${modelTask}" but the XGBoost objective makes a ${native.task} model`,
            { hint: "leave task out to take it from the objective" },
          );
        }
        modelTask = native.task;
      } else if (modelTask === undefined) {
        throw new ModelError(
          "INVALID_OPTION",
          "importing an ONNX model needs `task` (binary, multiclass or regression)",
          { hint: "an ONNX graph does not say what its outputs mean" },
        );
      }
      const classList = modelTask === "regression" ? undefined : await classesFor(modelTask, label, classes, train);
      const dir = join(ctx.workdir, "model");
      mkdirSync(dir, { recursive: true });
      const estimator: EstimatorFile =
        format === "onnx"
          ? { format: "onnx", file: "model.onnx", ...onnx }
          : { format: "xgboost-json", file: "model.json" };
      copyFileSync(file, join(dir, estimator.file));
      writeModelBundle(dir, {
        format: BUNDLE_FORMAT,
        task: modelTask,
        label,
        ...(classList ? { classes: classList } : {}),
        features: fitted,
        estimator,
        training: {
          importedFrom: format,
          runId: ctx.runId,
          modelDigest: (input.model as FileArtifact).digest,
          ...(train ? { trainDigest: train.digest } : {}),
        },
      });
      // Loaded through the serving code now, so a mismatch (classes, features) fails here, not in production.
      await loadPredictor(dir);
      ctx.log(
        `imported a ${format} ${modelTask} model on ${names.length} features` +
          (classList ? `, classes ${classList.join(", ")}` : ""),
      );
      return ctx.model(dir, { format: BUNDLE_FORMAT, task: modelTask, estimator: format, label });
    },
  });
}

function parseXgboost(file: string): { learner?: { feature_names?: string[] } } {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new ModelError("INVALID_MODEL_JSON", `the model file is not XGBoost JSON: ${(cause as Error).message}`, {
      hint: 'save it with booster.save_model("model.json") (the .json name selects the JSON format)',
      cause,
    });
  }
}

/** Raw columns as the model's inputs: typed by the training data when given, numbers otherwise. */
async function passthroughFeatures(columns: readonly string[], train: Dataset | undefined): Promise<FittedFeatures> {
  if (!columns.length)
    throw new ModelError("INVALID_OPTION", "`features` is empty", {
      hint: "list the columns the model was trained on, in order",
    });
  if (train)
    return fitFeatures(datasetSource(train), {
      transforms: columns.map((column) => ({ kind: "passthrough" as const, column })),
    });
  return {
    version: 1,
    inputs: columns.map((name) => ({ name, type: "number" as const, nullable: true })),
    transforms: columns.map((column) => ({ kind: "passthrough" as const, column, output: column })),
    outputs: columns.map((name) => ({ name, type: "numeric" as const })),
    trainingRows: 0,
  };
}

async function classesFor(
  task: Task,
  label: string,
  given: readonly (string | number)[] | undefined,
  train: Dataset | undefined,
): Promise<(string | number)[]> {
  if (given) return [...given];
  if (train) {
    const col = (await readColumns(datasetSource(train), [label])).columns[label];
    return task === "binary" && col.kind !== "categorical" ? [0, 1] : classesOf(col);
  }
  if (task === "binary") return [0, 1];
  throw new ModelError(
    "INVALID_OPTION",
    `a multiclass import needs \`classes\` (in the model's output order) or the training \`data\` to list them`,
    {
      column: label,
      hint: 'pass data: <the training split>, or classes: ["a", "b", "c"]',
    },
  );
}
