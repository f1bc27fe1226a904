/**
 * What a compare view picks from and plots: a pipeline's runs with their params and final
 * metrics (one page at a time), and a run's search trials (a map step's items: params and scores).
 */
import type { MetricGoal } from "../store/metric-records.js";
import type { MetadataStore, RunRecord, RunStatus } from "../store/metadata-store.js";
import type { ArtifactIO } from "./artifact-io.js";
import { runMetricSeries } from "./run-metrics.js";

export interface RunSummary {
  id: string;
  pipeline: string;
  status: RunStatus;
  trigger: string;
  createdAt: number;
  finishedAt?: number;
  params: Record<string, unknown>;
  /** Final value of each ordinary step's metric, keyed `step.name` as in a comparison. */
  metrics: Record<string, number>;
}

export interface RunSummaryPage {
  pipeline: string;
  runs: RunSummary[];
  /** Goal of each metric key that appears on this page. */
  goals: Record<string, MetricGoal>;
  nextCursor?: string;
}

export async function summarizeRuns(
  metadata: MetadataStore,
  pipeline: string,
  page: { runs: RunRecord[]; nextCursor?: string },
): Promise<RunSummaryPage> {
  const goals: Record<string, MetricGoal> = {};
  const runs: RunSummary[] = [];
  for (const run of page.runs) {
    const metrics: Record<string, number> = {};
    // Map items (search trials) are left out: a picker row shows the run, the trials chart its items.
    for (const s of await runMetricSeries(metadata, run, { stepsOnly: true })) {
      const key = `${s.stepId}.${s.name}`;
      metrics[key] = s.final;
      goals[key] = s.goal;
    }
    const { id, status, trigger, createdAt, finishedAt, params } = run;
    runs.push({ id, pipeline: run.pipeline, status, trigger, createdAt, finishedAt, params, metrics });
  }
  return { pipeline, runs, goals, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
}

export interface SearchTrial {
  item: number;
  /** The trial's hyperparameters: its output's `params`, else the scalar fields of its output. */
  params: Record<string, number | string | boolean>;
  /** Final value of each metric the trial recorded (its score, fit time...). */
  metrics: Record<string, number>;
}

export interface TrialSet {
  /** The map step. */
  step: string;
  goals: Record<string, MetricGoal>;
  trials: SearchTrial[];
}

/** Every map step of the run whose items recorded metrics, with each item's params and scores. */
export async function searchTrials(
  src: { metadata: MetadataStore; io: ArtifactIO },
  run: RunRecord,
): Promise<TrialSet[]> {
  const series = (await runMetricSeries(src.metadata, run)).filter((s) => s.itemIndex >= 0);
  const sets = new Map<string, TrialSet & { byItem: Map<number, SearchTrial> }>();
  for (const s of series) {
    let set = sets.get(s.stepId);
    if (!set) sets.set(s.stepId, (set = { step: s.stepId, goals: {}, trials: [], byItem: new Map() }));
    let trial = set.byItem.get(s.itemIndex);
    if (!trial) set.byItem.set(s.itemIndex, (trial = { item: s.itemIndex, params: {}, metrics: {} }));
    trial.metrics[s.name] = s.final;
    set.goals[s.name] = s.goal;
  }
  const stepRuns = await src.metadata.listStepRuns(run.id);
  for (const set of sets.values()) {
    for (const trial of set.byItem.values()) {
      const sr = stepRuns.find((r) => r.stepId === set.step && r.itemIndex === trial.item);
      trial.params = sr?.outputDigest ? await trialParams(src, sr.outputDigest) : {};
    }
    set.trials = [...set.byItem.values()].sort((a, b) => a.item - b.item);
  }
  return [...sets.values()].map(({ step, goals, trials }) => ({ step, goals, trials }));
}

async function trialParams(src: { metadata: MetadataStore; io: ArtifactIO }, digest: string) {
  const art = await src.metadata.getArtifact(digest);
  // Only small JSON outputs kept in the store are read: a trial that returns a model file has no params here.
  if (!art?.inline) return {};
  const value = await src.io.load(digest).catch(() => undefined);
  if (!value || typeof value !== "object") return {};
  const record = value as Record<string, unknown>;
  const source =
    record.params && typeof record.params === "object" ? (record.params as Record<string, unknown>) : record;
  const params: Record<string, number | string | boolean> = {};
  for (const [k, v] of Object.entries(source)) {
    if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") params[k] = v;
  }
  return params;
}
