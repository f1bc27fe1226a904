/**
 * Experiment tracking records: metric points a step recorded (optionally at a step/epoch index)
 * and tags it set on its run. Both belong to the step run that recorded them, so a run that
 * reused a step reads them through the step run it reused.
 */

/** Which way a metric improves; without one it is inferred from its name (see metricGoal). */
export type MetricGoal = "max" | "min";

export interface MetricPoint {
  stepRunId: string;
  runId: string;
  stepId: string;
  /** -1 for an ordinary step, 0.. for a map item (a search trial). */
  itemIndex: number;
  attempt: number;
  name: string;
  value: number;
  /** The training step or epoch the value belongs to; absent for a single final value. */
  step?: number;
  goal?: MetricGoal;
  /** When it was recorded (ms). */
  ts: number;
}

export interface RunTag {
  stepRunId: string;
  runId: string;
  key: string;
  value: string;
  ts: number;
}

/** Names whose smaller values are better; any other metric is better when larger. */
const LOWER_IS_BETTER_WORDS =
  "loss|logloss|error|err|rmse|mse|mae|mape|brier|latency|p\\d\\d|time|ms|seconds|perplexity|wer|cer";
const LOWER_IS_BETTER = new RegExp(`(^|[_.\\-/ ])(${LOWER_IS_BETTER_WORDS})($|[_.\\-/ ])`, "i");

/** The declared goal of a metric, else the one its name implies ("val_loss": min, "auc": max). */
export function metricGoal(name: string, declared?: MetricGoal): MetricGoal {
  return declared ?? (LOWER_IS_BETTER.test(name) ? "min" : "max");
}
