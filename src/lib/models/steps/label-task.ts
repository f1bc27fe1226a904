/**
 * What a label column asks for when the pipeline does not say: text with two values or 0/1
 * numbers is binary, text with more values is multiclass, other numbers are regression. The
 * training steps log the inferred task and why, so a surprising guess is one line to override.
 */
import type { ColumnArrays } from "../../data/duck.js";
import { ModelError } from "../model-error.js";
import type { Task } from "../model.js";

type LabelColumn = ColumnArrays["columns"][string];

export interface InferredTask {
  task: Task;
  /** Why, in words, for the step's log. */
  reason: string;
}

export function inferTask(col: LabelColumn, label: string): InferredTask {
  if (col.kind === "categorical") {
    const classes = classesOf(col);
    if (classes.length < 2) {
      throw new ModelError(
        "SINGLE_CLASS_LABEL",
        `label "${label}" has ${classes.length === 0 ? "no values" : `a single class (${classes[0]})`} ` +
          "in the training rows",
        {
          column: label,
          hint: "a classifier needs at least two classes; widen the training window or check the label",
        },
      );
    }
    const shown = classes.length <= 8 ? classes.join(", ") : `${classes.slice(0, 8).join(", ")}, ...`;
    if (classes.length === 2) {
      return {
        task: "binary",
        reason: `label "${label}" is text with 2 classes (${shown}); "${classes[1]}" is the positive class`,
      };
    }
    return { task: "multiclass", reason: `label "${label}" is text with ${classes.length} classes (${shown})` };
  }
  let binary = true;
  let seen = 0;
  for (const v of col.values) {
    if (v !== v) continue;
    seen++;
    if (v !== 0 && v !== 1) {
      binary = false;
      break;
    }
  }
  if (seen === 0) {
    throw new ModelError("NAN_LABEL", `label "${label}" is missing in every training row`, {
      column: label,
      hint: "check the label column and the split",
    });
  }
  return binary
    ? { task: "binary", reason: `label "${label}" holds only 0 and 1` }
    : { task: "regression", reason: `label "${label}" is numeric with values other than 0 and 1` };
}

/**
 * Label values as class indices in `classes` order (NaN for a value not among them), so that
 * training and evaluation agree whatever order the held-out rows list their values in.
 */
export function encodeLabel(col: LabelColumn, classes: readonly (string | number)[]): Float64Array {
  if (col.kind === "categorical") {
    const index = new Map(classes.map((c, i) => [String(c), i]));
    const remap = col.dictionary.map((d) => index.get(d) ?? NaN);
    return Float64Array.from(col.codes, (c) => (c < 0 ? NaN : remap[c]));
  }
  const index = new Map(classes.map((c, i) => [Number(c), i]));
  return Float64Array.from(col.values, (v) => index.get(v) ?? NaN);
}

/** The classes of a classification label in model order: sorted text values, or sorted numbers. */
export function classesOf(col: LabelColumn): (string | number)[] {
  if (col.kind === "categorical") {
    const present = new Set<number>();
    for (const c of col.codes) if (c >= 0) present.add(c);
    // The dictionary is sorted by DuckDB: keep its order for the classes present.
    return col.dictionary.filter((_, k) => present.has(k));
  }
  return [...new Set(col.values)].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
}
