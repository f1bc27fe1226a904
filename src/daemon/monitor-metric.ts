/**
 * The metrics a monitor can watch, computed by the evaluation library itself (lib/evaluate), and
 * how a served prediction and a late label become the numbers they take.
 */
import { TrainyardError } from "../core/errors.js";
import type { CompiledMonitor } from "../core/triggers.js";
import { accuracy, averagePrecision, brierScore, logLoss, mae, rmse, rocAuc } from "../lib/evaluate/metrics.js";

export interface MonitorMetric {
  /** The name the monitor declared. */
  name: string;
  /** Binary metrics take 0/1 labels and P(positive); regression metrics take numbers. */
  task: "binary" | "regression";
  /** True for scores (AUC, accuracy), false for errors (log loss, RMSE). */
  higherIsBetter: boolean;
  compute(labels: Float64Array, scores: Float64Array): number;
}

const METRICS: Record<string, Omit<MonitorMetric, "name">> = {
  auc: { task: "binary", higherIsBetter: true, compute: rocAuc },
  accuracy: { task: "binary", higherIsBetter: true, compute: (y, p) => accuracy(y, p, 0.5) },
  pr_auc: { task: "binary", higherIsBetter: true, compute: averagePrecision },
  log_loss: { task: "binary", higherIsBetter: false, compute: logLoss },
  brier: { task: "binary", higherIsBetter: false, compute: brierScore },
  rmse: { task: "regression", higherIsBetter: false, compute: rmse },
  mae: { task: "regression", higherIsBetter: false, compute: mae },
};

const ALIASES: Record<string, string> = {
  roc_auc: "auc",
  rocauc: "auc",
  logloss: "log_loss",
  "log-loss": "log_loss",
  prauc: "pr_auc",
  "pr-auc": "pr_auc",
};

/** The metric a monitor names; an unknown one, or a direction never meaning "worse", is an error naming the trigger. */
export function monitorMetric(m: CompiledMonitor): MonitorMetric {
  const lower = m.metric.toLowerCase();
  const key = ALIASES[lower.replaceAll(" ", "")] ?? lower;
  const found = METRICS[key];
  if (!found) {
    const message = `monitor "${m.name}" watches metric "${m.metric}", which it cannot compute`;
    throw new TrainyardError("MONITOR_METRIC", message, {
      trigger: m.name,
      field: "metric",
      hint: `use one of ${Object.keys(METRICS).join(", ")}`,
    });
  }
  const worse = found.higherIsBetter ? "below" : "above";
  if (m.direction !== worse) {
    const what = found.higherIsBetter ? "a score (higher is better)" : "an error (lower is better)";
    const message = `monitor "${m.name}": ${m.metric} is ${what}, so it degrades ${worse} the threshold`;
    throw new TrainyardError("MONITOR_METRIC", message, {
      trigger: m.name,
      field: "direction",
      hint: `declare direction: "${worse}"`,
    });
  }
  return { name: m.metric, ...found };
}

/** The number a served prediction contributes: P(positive) of a binary model, the value of a regression. */
export function predictionScore(output: unknown): number | undefined {
  if (typeof output === "number") return Number.isFinite(output) ? output : undefined;
  if (typeof output !== "object" || output === null) return undefined;
  const o = output as { score?: unknown; value?: unknown };
  const v = typeof o.score === "number" ? o.score : o.value;
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** A label as the metric takes it, or a description of why it cannot be (for the error). */
export function labelValue(raw: unknown, task: MonitorMetric["task"]): number | undefined {
  if (task === "regression") {
    const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
    return typeof n === "number" && Number.isFinite(n) ? n : typeof n === "bigint" ? Number(n) : undefined;
  }
  if (raw === true || raw === 1 || raw === 1n) return 1;
  if (raw === false || raw === 0 || raw === 0n) return 0;
  if (typeof raw === "string") {
    const t = raw.trim().toLowerCase();
    if (t === "1" || t === "true") return 1;
    if (t === "0" || t === "false") return 0;
  }
  return undefined;
}
