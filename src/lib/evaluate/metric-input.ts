import { TrainyardError } from "../../index.js";

/** Argument checks shared by every metric, so a length mismatch reads the same everywhere. */
export class MetricInputError extends TrainyardError {
  declare readonly code: "METRIC_INPUT";
  declare readonly hint: string;
  constructor(message: string, hint: string) {
    super("METRIC_INPUT", message, { hint });
    this.name = "MetricInputError";
  }
}

export function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what = "predictions"): void {
  if (a.length !== b.length) {
    throw new MetricInputError(
      `labels have ${a.length} rows but ${what} have ${b.length}`,
      "score the same rows you take labels from",
    );
  }
  if (a.length === 0) throw new MetricInputError("no rows to evaluate", "check the evaluation split is not empty");
}

/** Counts positives (label 1) and rejects labels other than 0/1. */
export function countPositives(yTrue: ArrayLike<number>): number {
  let p = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i];
    if (y === 1) p++;
    else if (y !== 0)
      throw new MetricInputError(`binary label must be 0 or 1, got ${y} at row ${i}`, "encode the positive class as 1");
  }
  return p;
}
