import { ModelError } from "./model-error.js";

/** Validates labels against the training rows; shared by every trainer so messages agree. */
export function checkLabels(label: ArrayLike<number>, rows: number, featureCount: number): void {
  if (rows === 0 || featureCount === 0) {
    throw new ModelError(
      "EMPTY_TRAINING_SET",
      rows === 0 ? "the training set has no rows" : "the training set has no features",
      {
        hint: "check the upstream filter/split step; training needs at least one row and one feature",
      },
    );
  }
  if (label.length !== rows) {
    throw new ModelError("LENGTH_MISMATCH", `label has ${label.length} rows but the features have ${rows}`, {
      column: "label",
      hint: "features and label must come from the same rows, in the same order",
    });
  }
  for (let i = 0; i < label.length; i++) {
    if (Number.isNaN(label[i])) {
      throw new ModelError("NAN_LABEL", `label is NaN at row ${i}`, {
        column: "label",
        hint: "drop rows with a missing label before training",
      });
    }
  }
}

/** Binary labels must be 0/1 and contain both classes. */
export function checkBinaryLabels(label: ArrayLike<number>): void {
  let zeros = 0;
  let ones = 0;
  for (let i = 0; i < label.length; i++) {
    const v = label[i];
    if (v === 0) zeros++;
    else if (v === 1) ones++;
    else {
      throw new ModelError("INVALID_LABEL", `binary label must be 0 or 1, got ${v} at row ${i}`, {
        column: "label",
        hint: "encode the positive class as 1 and the negative class as 0",
      });
    }
  }
  if (zeros === 0 || ones === 0) {
    throw new ModelError(
      "SINGLE_CLASS_LABEL",
      `label has a single class (${ones === 0 ? 0 : 1}) in all ${label.length} rows`,
      {
        column: "label",
        hint: "a classifier needs both classes; widen the training window or check the label definition",
      },
    );
  }
}

/** Multiclass labels must be integers 0..k-1; returns k. */
export function countClasses(label: ArrayLike<number>, numClasses?: number): number {
  let max = -1;
  const seen = new Set<number>();
  for (let i = 0; i < label.length; i++) {
    const v = label[i];
    if (!Number.isInteger(v) || v < 0) {
      throw new ModelError(
        "INVALID_LABEL",
        `multiclass label must be an integer class index >= 0, got ${v} at row ${i}`,
        {
          column: "label",
          hint: "encode classes as 0, 1, ..., k-1",
        },
      );
    }
    seen.add(v);
    if (v > max) max = v;
  }
  if (seen.size < 2) {
    throw new ModelError("SINGLE_CLASS_LABEL", `label has a single class (${max}) in all ${label.length} rows`, {
      column: "label",
      hint: "a classifier needs at least two classes in the training rows",
    });
  }
  const k = numClasses ?? max + 1;
  if (max >= k) {
    throw new ModelError("INVALID_LABEL", `label ${max} is out of range for ${k} classes`, {
      column: "label",
      hint: "set numClasses to the number of classes or re-encode the labels",
    });
  }
  return k;
}
