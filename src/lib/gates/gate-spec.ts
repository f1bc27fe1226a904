/**
 * Validation gates, declared in the pipeline: checks on a candidate model, each producing a
 * verdict with its evidence. A failed gate is not a crash: the run ends "rejected" and every
 * side effect downstream (register, deploy) is skipped.
 */

/** Whether larger values of a metric are better. */
export type Direction = "higher" | "lower";

export interface MetricGate {
  kind: "metric";
  /** Name shown in verdicts. @default "<metric> >= <min>" */
  name?: string;
  metric: string;
  min?: number;
  max?: number;
}

export interface RelativeGate {
  kind: "relative";
  name?: string;
  metric: string;
  /** @default "higher" for scores, "lower" for losses (rmse, mae, log_loss, brier) */
  direction?: Direction;
  /** The candidate may be worse than production by at most this much (absolute). */
  maxRegression?: number;
  /** The candidate must improve on production by at least this fraction (0.01 = 1%). */
  minRelativeImprovement?: number;
}

export interface SignificanceGate {
  kind: "significance";
  name?: string;
  metric: string;
  direction?: Direction;
  /** Confidence level of the paired bootstrap interval. @default 0.95 */
  confidence?: number;
  /** "better": the interval of (candidate - production) must exclude 0 on the good side;
   *  "not-worse": its bad end must stay within `margin`. @default "not-worse" */
  require?: "better" | "not-worse";
  /** @default 0 */
  margin?: number;
}

export interface FairnessGate {
  kind: "fairness";
  name?: string;
  /** tpr: true-positive-rate gap; demographic_parity: positive-prediction-rate gap. */
  metric: "tpr" | "demographic_parity";
  /** The column whose groups are compared (e.g. origin airport). */
  column: string;
  /** Compare only the N largest groups. @default 10 */
  topGroups?: number;
  maxGap: number;
}

export interface LatencyGate {
  kind: "latency";
  name?: string;
  /** Bound on the 99th percentile of single-row prediction latency, in ms. */
  p99Ms?: number;
  p50Ms?: number;
}

export interface SizeGate {
  kind: "size";
  name?: string;
  maxBytes: number;
}

export type GateSpec = MetricGate | RelativeGate | SignificanceGate | FairnessGate | LatencyGate | SizeGate;

export type VerdictStatus = "pass" | "fail" | "no-baseline";

export interface GateVerdict {
  gate: string;
  kind: GateSpec["kind"];
  status: VerdictStatus;
  /** One sentence: what was required, what was found, by how much it passed or failed. */
  message: string;
  evidence: Record<string, unknown>;
}

const LOWER_IS_BETTER = new Set(["rmse", "mae", "mape", "log_loss", "logloss", "brier", "brier_score"]);

export function defaultDirection(metric: string): Direction {
  return LOWER_IS_BETTER.has(metric.toLowerCase()) ? "lower" : "higher";
}

export function gateName(spec: GateSpec): string {
  if (spec.name) return spec.name;
  switch (spec.kind) {
    case "metric":
      return [
        spec.min !== undefined ? `${spec.metric} >= ${spec.min}` : "",
        spec.max !== undefined ? `${spec.metric} <= ${spec.max}` : "",
      ]
        .filter(Boolean)
        .join(" and ");
    case "relative":
      return `${spec.metric} vs production`;
    case "significance":
      return `${spec.metric} ${spec.require ?? "not-worse"} than production (bootstrap)`;
    case "fairness":
      return `${spec.metric} gap across ${spec.column}`;
    case "latency":
      return "prediction latency";
    case "size":
      return "model size";
  }
}
