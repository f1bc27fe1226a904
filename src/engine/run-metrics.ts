/**
 * Reads of experiment tracking: a run's metric series per step (and map item), each with its
 * final and best value (best honours the metric's goal: a loss is best at its lowest), and the
 * run's tags. A step the run reused from the cache shows the metrics of the step run it reused.
 */
import { metricGoal, type MetricGoal, type MetricPoint } from "../store/metric-records.js";
import type { RunRecord, StepRunRecord, StepRunStore } from "../store/metadata-store.js";

export interface MetricValue {
  value: number;
  /** The training step or epoch, when the step recorded one. */
  step?: number;
  ts: number;
}

export interface MetricSeries {
  stepId: string;
  /** -1 for an ordinary step, 0.. for a map item (a search trial). */
  itemIndex: number;
  name: string;
  goal: MetricGoal;
  /** In the order they were recorded, from the step run's last attempt that recorded any. */
  points: MetricValue[];
  /** The last value recorded. */
  final: number;
  /** The best value by `goal`, and where it was recorded. */
  best: MetricValue;
  /** True when the run reused the step, and these are the metrics of `fromStepRun`. */
  reused: boolean;
  fromStepRun: string;
}

export interface MetricFilter {
  /** Only this step's series. */
  step?: string;
  /** Only this metric's series. */
  metric?: string;
  /** Leave out map items (search trials): only ordinary steps' series. */
  stepsOnly?: boolean;
}

/** The step run whose records stand for this one: the one it reused, or itself. */
function sourceOf(sr: StepRunRecord): string {
  return sr.cached && sr.cachedFrom ? sr.cachedFrom : sr.id;
}

export async function runMetricSeries(
  metadata: StepRunStore,
  run: RunRecord,
  filter: MetricFilter = {},
): Promise<MetricSeries[]> {
  const stepRuns = (await metadata.listStepRuns(run.id)).filter(
    (s) => (!filter.step || s.stepId === filter.step) && (!filter.stepsOnly || s.itemIndex < 0),
  );
  // Two step runs of one run may stand on one source (map items with equal keys).
  const bySource = new Map<string, StepRunRecord[]>();
  for (const s of stepRuns) bySource.set(sourceOf(s), [...(bySource.get(sourceOf(s)) ?? []), s]);
  const points = await metadata.listMetrics([...bySource.keys()]);
  const groups = new Map<string, MetricPoint[]>();
  for (const p of points) {
    if (filter.metric && p.name !== filter.metric) continue;
    const key = `${p.stepRunId}\u0000${p.name}`;
    const list = groups.get(key);
    if (list) list.push(p);
    else groups.set(key, [p]);
  }
  const series: MetricSeries[] = [];
  for (const list of groups.values()) {
    // A retried step's earlier attempts stopped short: its last attempt's values stand.
    const lastAttempt = Math.max(...list.map((p) => p.attempt));
    const kept = list.filter((p) => p.attempt === lastAttempt);
    const first = kept[0];
    const goal = metricGoal(first.name, kept.find((p) => p.goal)?.goal);
    const values = kept.map(toValue);
    const best = values.reduce((a, b) => (isBetter(b.value, a.value, goal) ? b : a));
    const final = values[values.length - 1].value;
    for (const sr of bySource.get(first.stepRunId)!) {
      const reused = sr.id !== first.stepRunId;
      const { stepId, itemIndex } = sr;
      series.push({
        stepId,
        itemIndex,
        name: first.name,
        goal,
        points: values,
        final,
        best,
        reused,
        fromStepRun: first.stepRunId,
      });
    }
  }
  return series;
}

/** The run's tags: the last value set for each key, by any of its steps (reused ones included). */
export async function runTags(metadata: StepRunStore, run: RunRecord): Promise<Record<string, string>> {
  const sources = (await metadata.listStepRuns(run.id)).map(sourceOf);
  const tags = (await metadata.listTags(sources)).sort((a, b) => a.ts - b.ts);
  return Object.fromEntries(tags.map((t) => [t.key, t.value]));
}

/** Whether `a` is better than `b` for a metric with this goal. */
export function isBetter(a: number, b: number, goal: MetricGoal): boolean {
  return goal === "min" ? a < b : a > b;
}

function toValue(p: MetricPoint): MetricValue {
  return p.step === undefined ? { value: p.value, ts: p.ts } : { value: p.value, step: p.step, ts: p.ts };
}
