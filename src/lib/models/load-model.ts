import { GBDT_FORMAT, GbdtModel, type GbdtModelJson } from "./gbdt/gbdt-model.js";
import { importXgboostJson, isXgboostJson } from "./import/xgboost-json.js";
import { ONNX_FORMAT, OnnxModel, type OnnxModelJson } from "./import/onnx-model.js";
import { LINEAR_FORMAT, LinearModel, type LinearModelJson } from "./linear/linear-model.js";
import type { AsyncModel, Model } from "./model.js";
import { ModelError } from "./model-error.js";

/**
 * Turns `model.toJSON()` (or its JSON text) back into a model, dispatching on `format`. An XGBoost
 * JSON model (no `format`, a `learner` object) is imported as a GBDT model. ONNX models need
 * `loadModelAsync` because onnxruntime loads asynchronously.
 */
export function loadModel(json: unknown): Model {
  const value: unknown = typeof json === "string" ? JSON.parse(json) : json;
  if (isXgboostJson(value)) return importXgboostJson(value);
  const format = typeof value === "object" && value !== null ? (value as { format?: unknown }).format : undefined;
  switch (format) {
    case GBDT_FORMAT:
      return GbdtModel.fromJSON(value as GbdtModelJson);
    case LINEAR_FORMAT:
      return LinearModel.fromJSON(value as LinearModelJson);
    case ONNX_FORMAT:
      throw new ModelError("UNKNOWN_FORMAT", "ONNX models load asynchronously", { hint: "use loadModelAsync(json)" });
    default:
      throw new ModelError("UNKNOWN_FORMAT", `unknown model format ${JSON.stringify(format)}`, {
        hint: `expected one of ${[GBDT_FORMAT, LINEAR_FORMAT, ONNX_FORMAT].join(", ")} or an XGBoost JSON model`,
      });
  }
}

export async function loadModelAsync(json: unknown): Promise<Model | AsyncModel> {
  const value: unknown = typeof json === "string" ? JSON.parse(json) : json;
  if (typeof value === "object" && value !== null && (value as { format?: unknown }).format === ONNX_FORMAT) {
    return OnnxModel.fromJSON(value as OnnxModelJson);
  }
  return loadModel(value);
}
