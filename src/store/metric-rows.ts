/** Rows of the metrics and run_tags tables, shared by the SQLite and PostgreSQL stores. */
import type { MetricGoal, MetricPoint, RunTag } from "./metric-records.js";

type Row = Record<string, any>;

export const METRIC_COLUMNS = [
  "step_run_id",
  "run_id",
  "step_id",
  "item_index",
  "attempt",
  "name",
  "value",
  "step",
  "goal",
  "ts",
];
export const TAG_COLUMNS = ["step_run_id", "run_id", "key", "value", "ts"];

export function metricValues(m: MetricPoint): unknown[] {
  return [
    m.stepRunId,
    m.runId,
    m.stepId,
    m.itemIndex,
    m.attempt,
    m.name,
    m.value,
    m.step ?? null,
    m.goal ?? null,
    m.ts,
  ];
}

export function tagValues(t: RunTag): unknown[] {
  return [t.stepRunId, t.runId, t.key, t.value, t.ts];
}

export function rowToMetric(r: Row): MetricPoint {
  const m: MetricPoint = {
    stepRunId: r.step_run_id,
    runId: r.run_id,
    stepId: r.step_id,
    itemIndex: Number(r.item_index),
    attempt: Number(r.attempt),
    name: r.name,
    value: Number(r.value),
    ts: Number(r.ts),
  };
  if (r.step !== null && r.step !== undefined) m.step = Number(r.step);
  if (r.goal) m.goal = r.goal as MetricGoal;
  return m;
}

export function rowToTag(r: Row): RunTag {
  return { stepRunId: r.step_run_id, runId: r.run_id, key: r.key, value: r.value, ts: Number(r.ts) };
}
