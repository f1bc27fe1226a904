/**
 * Runs side by side: their params, metrics and tags in one table, the rows where the runs differ
 * first. Each metric has two rows, its best value by its goal and its final (last) value, which
 * differ whenever training overshot. A map step's metrics (search trials) compare by their best item.
 * The CLI's `runs compare` and the web UI's compare view both print this table.
 */
import type { MetricGoal } from "../store/metric-records.js";
import type { MetadataStore, RunRecord, RunStatus } from "../store/metadata-store.js";
import { isBetter, runMetricSeries, runTags } from "./run-metrics.js";

export interface ComparedRun {
  id: string;
  pipeline: string;
  status: RunStatus;
  createdAt: number;
}

export interface ComparisonRow {
  kind: "param" | "metric" | "tag";
  /** A param or tag name; a metric as `step.name`, or `step[best].name` for a map step's best item. */
  key: string;
  /** A metric row: each run's best value by `goal`, or the last value it recorded. */
  measure?: MetricMeasure;
  /** One value per run, in the order of `runs`; undefined where a run has none. */
  values: unknown[];
  /** A metric row: the training step or epoch each value was recorded at; null where none was given. */
  at?: Array<number | null>;
  /** True when not every run has the same value. */
  differs: boolean;
  goal?: MetricGoal;
  /** A metric row: the index of the run with the best value (by `goal`). */
  best?: number;
}

export type MetricMeasure = "best" | "final";

export interface RunComparison {
  runs: ComparedRun[];
  /** Rows where the runs differ first; in each half params, then metrics, then tags. */
  rows: ComparisonRow[];
}

export async function compareRuns(metadata: MetadataStore, runs: RunRecord[]): Promise<RunComparison> {
  const rows = new Map<string, ComparisonRow>();
  const row = (kind: ComparisonRow["kind"], key: string, measure?: MetricMeasure): ComparisonRow => {
    const id = `${kind}\u0000${key}\u0000${measure ?? ""}`;
    let r = rows.get(id);
    if (!r) {
      r = { kind, key, values: new Array(runs.length).fill(undefined), differs: false };
      if (measure) Object.assign(r, { measure, at: new Array(runs.length).fill(null) });
      rows.set(id, r);
    }
    return r;
  };
  for (const [i, run] of runs.entries()) {
    for (const [key, value] of Object.entries(run.params)) row("param", key).values[i] = value;
    for (const s of await runMetricSeries(metadata, run)) {
      const key = s.itemIndex < 0 ? `${s.stepId}.${s.name}` : `${s.stepId}[best].${s.name}`;
      const last = s.points[s.points.length - 1];
      // A map step's row holds its best item: the best of the items' best values, or of their final values.
      for (const [measure, value, at] of [
        ["best", s.best.value, s.best.step],
        ["final", s.final, last.step],
      ] as const) {
        const r = row("metric", key, measure);
        r.goal = s.goal;
        const held = r.values[i] as number | undefined;
        if (held !== undefined && !isBetter(value, held, s.goal)) continue;
        r.values[i] = value;
        r.at![i] = s.itemIndex < 0 && at !== undefined ? at : null;
      }
    }
    for (const [key, value] of Object.entries(await runTags(metadata, run))) row("tag", key).values[i] = value;
  }
  for (const r of rows.values()) {
    const texts = r.values.map((v) => JSON.stringify(v) ?? "undefined");
    r.differs = texts.some((t) => t !== texts[0]);
    if (r.kind === "metric") r.best = bestIndex(r.values, r.goal ?? "max");
  }
  const kinds = ["param", "metric", "tag"];
  const ordered = [...rows.values()].sort(
    (a, b) => Number(b.differs) - Number(a.differs) || kinds.indexOf(a.kind) - kinds.indexOf(b.kind),
  );
  const compared = runs.map(({ id, pipeline, status, createdAt }) => ({ id, pipeline, status, createdAt }));
  return { runs: compared, rows: ordered };
}

function bestIndex(values: unknown[], goal: MetricGoal): number | undefined {
  let best: number | undefined;
  values.forEach((v, i) => {
    if (typeof v !== "number") return;
    if (best === undefined || isBetter(v, values[best] as number, goal)) best = i;
  });
  return best;
}
