/**
 * Reads a dataset for training or scoring: the feature matrix through the fitted transforms (the
 * same TypeScript code the model server runs) and the label as numbers.
 */
import type { Dataset } from "../../../index.js";
import { datasetSource } from "../../data/steps/quality-steps.js";
import { readColumns } from "../../data/duck.js";
import { applyFeatures } from "../../features/apply-features.js";
import type { FittedFeatures, RawColumns } from "../../features/feature-spec.js";
import { readRawColumns } from "../../features/read-raw-columns.js";
import type { FeatureMatrix } from "../feature-matrix.js";
import { ModelError } from "../model-error.js";
import type { Task } from "../model.js";
import { classesOf, encodeLabel, inferTask } from "./label-task.js";

export interface LabeledMatrix {
  x: FeatureMatrix;
  y: Float64Array;
  raw: RawColumns;
  /** The task given, or inferred from the label. */
  task: Task;
  /** Why the task was inferred; absent when it was given. */
  inferred?: string;
  /** Class values in label order (binary: [negative, positive]; multiclass: the sorted categories). */
  classes?: (string | number)[];
}

/** Reads features and label; without a `task`, infers it from the label (see `inferTask`). */
export async function readLabeled(
  data: Dataset,
  features: FittedFeatures,
  label: string,
  task: Task | undefined,
  classes?: (string | number)[],
): Promise<LabeledMatrix> {
  const source = datasetSource(data);
  const raw = await readRawColumns(source, features);
  const x = applyFeatures(features, raw);
  const col = (await readColumns(source, [label])).columns[label];
  const guess = task === undefined ? inferTask(col, label) : undefined;
  const chosen = task ?? guess!.task;
  const inferred = guess?.reason;
  if (chosen === "regression") {
    if (col.kind === "categorical") {
      throw new ModelError("INVALID_LABEL", `label "${label}" is text, but a regression model needs a numeric label`, {
        column: label,
        hint: 'cast the label to a number, or use task: "multiclass" for classes',
      });
    }
    return { x, raw, task: chosen, inferred, y: col.values };
  }
  if (chosen === "binary" && col.kind !== "categorical") {
    return { x, raw, task: chosen, inferred, y: col.values, classes: [0, 1] };
  }
  const order = classes ?? classesOf(col);
  if (chosen === "binary" && order.length !== 2) {
    throw new ModelError(
      "INVALID_LABEL",
      `label "${label}" has ${order.length} classes, but a binary model needs exactly 2`,
      {
        column: label,
        hint:
          order.length > 2
            ? 'use task: "multiclass" (or leave task out to infer it)'
            : "a classifier needs both classes in the training rows",
      },
    );
  }
  return { x, raw, task: chosen, inferred, classes: order, y: encodeLabel(col, order) };
}
