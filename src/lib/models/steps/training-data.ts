/**
 * Reads a dataset for training or scoring: the feature matrix through the fitted transforms (the
 * same TypeScript code the model server runs) and the label as numbers.
 */
import type { Dataset } from "../../../core/artifacts.js";
import { datasetSource } from "../../data/steps/quality-steps.js";
import { readColumns } from "../../data/duck.js";
import { applyFeatures } from "../../features/apply-features.js";
import type { FittedFeatures, RawColumns } from "../../features/feature-spec.js";
import { readRawColumns } from "../../features/read-raw-columns.js";
import type { FeatureMatrix } from "../feature-matrix.js";
import { ModelError } from "../model-error.js";
import type { Task } from "../model.js";

export interface LabeledMatrix {
  x: FeatureMatrix;
  y: Float64Array;
  raw: RawColumns;
  /** Class values in label order (binary: [0, 1]; multiclass: the sorted categories). */
  classes?: (string | number)[];
}

export async function readLabeled(data: Dataset, features: FittedFeatures, label: string, task: Task, classes?: (string | number)[]): Promise<LabeledMatrix> {
  const source = datasetSource(data);
  const raw = await readRawColumns(source, features);
  const x = applyFeatures(features, raw);
  const col = (await readColumns(source, [label])).columns[label];
  if (task === "multiclass") {
    if (col.kind !== "categorical") {
      const y = (col as { values: Float64Array }).values;
      const found = [...new Set(y)].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
      const order = classes ?? found;
      const index = new Map(order.map((c, i) => [Number(c), i]));
      return { x, raw, classes: order, y: Float64Array.from(y, (v) => index.get(v) ?? NaN) };
    }
    const order = classes ?? col.dictionary;
    const index = new Map(order.map((c, i) => [String(c), i]));
    const remap = col.dictionary.map((d) => index.get(d) ?? NaN);
    return { x, raw, classes: order, y: Float64Array.from(col.codes, (c) => (c < 0 ? NaN : remap[c])) };
  }
  if (col.kind === "categorical") {
    throw new ModelError("INVALID_LABEL", `label "${label}" is text, but a ${task} model needs a numeric label`, {
      column: label,
      hint: task === "binary" ? "derive a 0/1 label in SQL (e.g. CASE WHEN delay > 15 THEN 1 ELSE 0 END) or use task: \"multiclass\"" : "cast the label to a number",
    });
  }
  return { x, raw, y: col.values, classes: task === "binary" ? [0, 1] : undefined };
}
