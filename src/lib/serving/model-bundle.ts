/**
 * A model bundle: the directory a trained model travels in. `bundle.json` holds everything
 * needed to score raw rows (the fitted features, the estimator, the label and its classes);
 * extra files (an ONNX graph, an XGBoost dump, reports) sit beside it. One directory is one
 * artifact, so the registry and the server never have to reassemble a model from parts.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TrainyardError } from "../../index.js";
import type { FittedFeatures } from "../features/feature-spec.js";
import type { ModelJson, Task } from "../models/model.js";

export const BUNDLE_FORMAT = "trainyard-model-bundle/1";
export const BUNDLE_FILE = "bundle.json";

/** An estimator stored as a file next to bundle.json rather than inline. */
export type EstimatorFile =
  | {
      format: "onnx";
      /** Path relative to the bundle directory. */
      file: string;
      /** @default the graph's first input */
      inputName?: string;
      /** @default the graph's first output */
      outputName?: string;
    }
  | { format: "xgboost-json"; file: string };

export interface ModelBundle {
  format: typeof BUNDLE_FORMAT;
  task: Task;
  /** Name of the label column the model predicts. */
  label: string;
  /** Class values in model order: binary [negative, positive], multiclass one per output. @default [0, 1] for binary */
  classes?: (string | number)[];
  features: FittedFeatures;
  /** A models-library JSON model (`model.toJSON()`), or a file in the bundle directory. */
  estimator: ModelJson | EstimatorFile;
  /** Free-form provenance: run id, dataset digests, params, metrics. */
  training: Record<string, unknown>;
}

export class BundleError extends TrainyardError {
  constructor(message: string, fields: { file: string; field?: string; hint: string; cause?: unknown }) {
    super("BUNDLE_INVALID", message, fields);
    this.name = "BundleError";
  }
}

/**
 * Writes `bundle.json` (and `files`, relative paths -> contents) into `dir`. Each file is
 * written under a temporary name and renamed, so a reader never sees half a bundle.json.
 */
export function writeModelBundle(
  dir: string,
  bundle: ModelBundle,
  files: Record<string, string | Uint8Array> = {},
): string {
  const path = join(dir, BUNDLE_FILE);
  checkBundle(bundle, path);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeAtomically(join(dir, name), content);
  writeAtomically(path, JSON.stringify(bundle, null, 2) + "\n");
  return path;
}

export function readModelBundle(dir: string): ModelBundle {
  const path = join(dir, BUNDLE_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new BundleError(`cannot read ${BUNDLE_FILE} in ${dir}`, {
      file: path,
      cause,
      hint: "point at the model directory written by writeModelBundle (it contains bundle.json)",
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new BundleError(`${BUNDLE_FILE} is not valid JSON`, {
      file: path,
      cause,
      hint: "the bundle is corrupt; re-export the model",
    });
  }
  checkBundle(value, path);
  return value;
}

function writeAtomically(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

const TASKS = new Set(["binary", "multiclass", "regression"]);

/** Structural checks with the field at fault, before any estimator is loaded. */
export function checkBundle(value: unknown, file: string): asserts value is ModelBundle {
  const fail = (field: string, message: string, hint: string): never => {
    throw new BundleError(`bundle field "${field}" ${message}`, { file, field, hint });
  };
  if (typeof value !== "object" || value === null)
    fail("(root)", "is not an object", "bundle.json must hold a JSON object");
  const b = value as Partial<ModelBundle>;
  if (b.format !== BUNDLE_FORMAT) fail("format", `is ${JSON.stringify(b.format)}`, `expected "${BUNDLE_FORMAT}"`);
  if (!TASKS.has(b.task as string))
    fail("task", `is ${JSON.stringify(b.task)}`, "use binary, multiclass or regression");
  if (typeof b.label !== "string" || b.label === "")
    fail("label", "must be a non-empty string", "name the label column");
  if (b.classes !== undefined) {
    if (!Array.isArray(b.classes) || b.classes.some((c) => typeof c !== "string" && typeof c !== "number")) {
      fail("classes", "must be a list of strings or numbers", 'e.g. [false, true] as [0, 1] or ["on_time", "late"]');
    }
    if (b.task === "binary" && b.classes!.length !== 2)
      fail(
        "classes",
        `has ${b.classes!.length} entries`,
        "a binary model has exactly two classes: [negative, positive]",
      );
    if (b.task === "multiclass" && b.classes!.length < 2)
      fail("classes", "has fewer than 2 entries", "list one class per model output");
  } else if (b.task === "multiclass") {
    fail("classes", "is missing", "a multiclass bundle must list its classes in model output order");
  }
  const f = b.features as FittedFeatures | undefined;
  if (f?.version !== 1 || !Array.isArray(f.inputs) || !Array.isArray(f.transforms) || !Array.isArray(f.outputs)) {
    fail("features", "is not fitted features (version 1)", "store the result of fitFeatures(...)");
  }
  const e = b.estimator as { format?: unknown; file?: unknown } | undefined;
  if (!e || typeof e !== "object" || (typeof e.format !== "string" && !("learner" in e))) {
    fail("estimator", "has no format", 'store model.toJSON(), or { format: "onnx" | "xgboost-json", file }');
  }
  if (
    (e!.format === "onnx" || e!.format === "xgboost-json") &&
    (typeof e!.file !== "string" || e!.file === "" || /(^|[\\/])\.\.([\\/]|$)/.test(e!.file))
  ) {
    fail("estimator.file", "must be a path inside the bundle directory", 'e.g. "model.onnx"');
  }
  if (typeof b.training !== "object" || b.training === null)
    fail("training", "must be an object", "record provenance here, or {}");
}
