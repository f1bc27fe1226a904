/**
 * What a step hands in as a metric or a tag, checked once for both ways in: `ctx.metric` and
 * the JSON lines a command appends to $TRAINYARD_METRICS. A bad one is described, never thrown:
 * a typo in a metric call must not fail an hour of training.
 */
import type { MetricOptions } from "../core/step.js";

export interface MetricInput {
  name: string;
  value: number;
  step?: number;
  goal?: "max" | "min";
}

/** A problem with a metric, in words; undefined when it can be recorded. */
export function metricProblem(name: unknown, value: unknown, opts: MetricOptions = {}): string | undefined {
  if (typeof name !== "string" || !name.trim() || name.length > 200)
    return "its name must be a non-empty string of at most 200 characters";
  if (typeof value !== "number" || !Number.isFinite(value))
    return `metric "${name}" has the value ${JSON.stringify(value) ?? String(value)}, not a finite number`;
  if (opts.step !== undefined && (typeof opts.step !== "number" || !Number.isFinite(opts.step))) {
    return `metric "${name}" has the step ${JSON.stringify(opts.step)}, not a number`;
  }
  if (opts.goal !== undefined && opts.goal !== "max" && opts.goal !== "min")
    return `metric "${name}" has the goal ${JSON.stringify(opts.goal)}; use "max" or "min"`;
  return undefined;
}

export function tagProblem(key: unknown, value: unknown): string | undefined {
  if (typeof key !== "string" || !key.trim() || key.length > 200)
    return "a tag's key must be a non-empty string of at most 200 characters";
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean")
    return `tag "${key}" must have a string value`;
  return undefined;
}

/** A parsed $TRAINYARD_METRICS line: metrics and tags, or what is wrong with it. */
export type MetricsLine = { metrics: MetricInput[]; tags: Array<[string, string]> } | { problem: string };

export const METRICS_LINE_FORMS =
  '{"name": "val_auc", "value": 0.71, "step": 3}, {"val_loss": 0.4, "epoch": 3} or {"tag": "model", "value": "gbdt"}';

/**
 * One line of $TRAINYARD_METRICS: `{"name", "value", "step"?, "goal"?}`, a `{"tag", "value"}`, or
 * several metrics at once (`{"loss": 0.4, "acc": 0.8, "step": 3}`, "epoch" read as the step).
 */
export function parseMetricsLine(text: string): MetricsLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { problem: `it is not JSON (${(err as Error).message})` };
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return { problem: "it is not a JSON object" };
  const o = parsed as Record<string, unknown>;
  if ("tag" in o) {
    const problem = tagProblem(o.tag, o.value);
    return problem ? { problem } : { metrics: [], tags: [[String(o.tag), String(o.value)]] };
  }
  if ("name" in o) {
    const opts = { step: o.step as number | undefined, goal: o.goal as MetricOptions["goal"] };
    const problem = metricProblem(o.name, o.value, opts);
    return problem
      ? { problem }
      : { metrics: [{ name: o.name as string, value: o.value as number, ...defined(opts) }], tags: [] };
  }
  const step = (o.step ?? o.epoch) as number | undefined;
  const metrics: MetricInput[] = [];
  for (const [name, value] of Object.entries(o)) {
    if (name === "step" || name === "epoch") continue;
    const problem = metricProblem(name, value, { step });
    if (problem) return { problem };
    metrics.push({ name, value: value as number, ...defined({ step }) });
  }
  return metrics.length ? { metrics, tags: [] } : { problem: "it names no metric" };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
