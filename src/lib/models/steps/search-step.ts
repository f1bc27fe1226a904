/**
 * Hyperparameter search on the engine's map step, one cached map item per trial, on a given
 * training/validation pair or on one dataset it samples and splits itself.
 */
import type { Dataset, Pipeline, StepOptions, StepRef } from "../../../index.js";
import { splitStep } from "../../data/ingest-steps.js";
import { sampleStep } from "../../data/steps/sql-steps.js";
import { rocAuc } from "../../evaluate/ranking-metrics.js";
import { logLoss } from "../../evaluate/probability-metrics.js";
import { rmse } from "../../evaluate/regression-metrics.js";
import type { FittedFeatures } from "../../features/feature-spec.js";
import { ModelError } from "../model-error.js";
import type { Task } from "../model.js";
import { fitAlgorithm, type Algorithm } from "./algorithm.js";
import { readLabeled } from "./training-data.js";

const LIB_VERSION = "model-steps/1";
type Passthrough = Pick<StepOptions, "retry" | "timeout" | "pool" | "isolate" | "version" | "description">;

export interface SearchStepOptions extends Passthrough {
  /** Rows each trial trains on (with `valid`); or give `data` instead of both. */
  train?: StepRef<Dataset>;
  /** Rows each trial is scored on. */
  valid?: StepRef<Dataset>;
  /**
   * One dataset to search on, instead of `train` and `valid`: sampled down to `rows` (step
   * `<id>-data`), then split at random (step `<id>-split`) into training and validation rows.
   */
  data?: StepRef<Dataset>;
  /** With `data`: rows to search on, or the name of a param holding the number. @default every row */
  rows?: number | string;
  /** With `data`: the share of rows held out to score the trials. @default 0.25 */
  validFraction?: number;
  /** With `data`: seed of the sample and of the split. @default 42 */
  seed?: number;
  features: StepRef<FittedFeatures>;
  label: string;
  /** @default inferred from the label, as `train` does */
  task?: Task;
  /** Fixed options of every trial. */
  algorithm: Algorithm;
  /** Values to try per hyperparameter. */
  space: Record<string, readonly (number | string | boolean)[]>;
  /** "grid" tries every combination; `{ random, seed }` samples that many. @default "grid" */
  strategy?: "grid" | { random: number; seed?: number };
  /** Validation metric that picks the best trial. @default auc (binary), log_loss (multiclass), rmse (regression) */
  metric?: "auc" | "log_loss" | "rmse";
}

export interface SearchResult {
  best: Record<string, unknown>;
  metric: string;
  bestScore: number;
  trials: Array<{ params: Record<string, unknown>; score: number; seconds: number }>;
}

/**
 * Hyperparameter search on the engine's map step: `<id>.trials` lists the candidates, `<id>`
 * trains and scores each (each trial cached on its own), `<id>.best` picks the best.
 */
export function search(p: Pipeline<any>, id: string, opts: SearchStepOptions): StepRef<SearchResult> {
  const {
    train: given,
    valid: givenValid,
    data,
    rows,
    validFraction = 0.25,
    seed = 42,
    features: feats,
    label,
    task,
    algorithm,
    space,
    strategy = "grid",
    metric,
    ...options
  } = opts;
  const { train: trainData, valid } = searchSplit(p, id, {
    train: given,
    valid: givenValid,
    data,
    rows,
    validFraction,
    seed,
  });
  const candidates = p.step(`${id}.trials`, {
    description: "hyperparameter candidates",
    config: { space, strategy },
    run: () => candidateList(space, strategy),
  });
  const trials = p.map(`${id}`, {
    description: `score ${metric ?? "the default metric"} of each candidate on the validation split`,
    ...options,
    version: `${LIB_VERSION}${options.version ? `+${options.version}` : ""}`,
    over: candidates,
    inputs: { train: trainData, valid, features: feats },
    config: { label, task, algorithm, metric },
    run: async (ctx, params, { train, valid, features }) => {
      const data = await readLabeled(train, features, label, task);
      if (data.inferred) ctx.log(`task: ${data.task} (${data.inferred}; set \`task\` to override)`);
      const held = await readLabeled(valid, features, label, data.task, data.classes);
      const started = performance.now();
      const model = fitAlgorithm(
        { ...algorithm, ...params } as Algorithm,
        data.task,
        data.x,
        data.y,
        data.classes?.length ?? 2,
      );
      const seconds = (performance.now() - started) / 1000;
      const chosenMetric = metric ?? defaultMetric(data.task);
      const score = scoreTrial(chosenMetric, data.task, held.y, model.predict(held.x));
      ctx.log(`${JSON.stringify(params)}: ${chosenMetric} ${score.toFixed(5)} (${seconds.toFixed(2)}s)`);
      // Each trial's score is tracked as a metric of its own map item.
      if (Number.isFinite(score)) ctx.metric(chosenMetric, score, { goal: chosenMetric === "auc" ? "max" : "min" });
      ctx.metric("fit_seconds", seconds);
      return { params, score, seconds, metric: chosenMetric };
    },
  });
  return p.step(`${id}.best`, {
    description: `pick the best candidate by ${metric ?? "the default metric"}`,
    inputs: { trials },
    config: { metric },
    run: (_ctx, { trials }) => {
      if (!trials.length)
        throw new ModelError("INVALID_OPTION", `search "${id}" has no candidates`, {
          hint: "give at least one value per hyperparameter in `space`",
        });
      const used = trials[0].metric;
      const higher = used === "auc";
      const best = trials.reduce((a, b) => (higher ? (b.score > a.score ? b : a) : b.score < a.score ? b : a));
      return {
        best: best.params,
        metric: used,
        bestScore: best.score,
        trials: trials.map(({ metric: _m, ...t }) => t),
      };
    },
  });
}

type SearchMetric = "auc" | "log_loss" | "rmse";

function defaultMetric(task: Task): SearchMetric {
  return task === "regression" ? "rmse" : task === "multiclass" ? "log_loss" : "auc";
}

/** A trial's validation score; multiclass log loss reads the rows x classes probability matrix. */
function scoreTrial(metric: SearchMetric, task: Task, y: Float64Array, pred: Float64Array): number {
  if (metric === "auc") return rocAuc(y, pred);
  if (metric === "rmse") return rmse(y, pred);
  if (task !== "multiclass") return logLoss(y, pred);
  const k = pred.length / y.length;
  let loss = 0;
  for (let i = 0; i < y.length; i++) loss -= Math.log(Math.max(1e-15, pred[i * k + y[i]]));
  return loss / y.length;
}

/** Every combination (grid) or a seeded sample of them (random). */
export function candidateList(
  space: Record<string, readonly (number | string | boolean)[]>,
  strategy: "grid" | { random: number; seed?: number },
): Array<Record<string, number | string | boolean>> {
  let combos: Array<Record<string, number | string | boolean>> = [{}];
  for (const [key, values] of Object.entries(space))
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  if (strategy === "grid") return combos;
  let s = (strategy.seed ?? 0) >>> 0;
  const rand = () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296;
  const pool = [...combos];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, Math.min(strategy.random, pool.length));
}

/** The trials' training and validation rows: given, or sampled and split from `data`. */
function searchSplit(
  p: Pipeline<any>,
  id: string,
  opts: Pick<SearchStepOptions, "train" | "valid" | "data" | "rows"> & { validFraction: number; seed: number },
): { train: StepRef<Dataset>; valid: StepRef<Dataset> } {
  if (opts.train && opts.valid && !opts.data) return { train: opts.train, valid: opts.valid };
  if (!opts.data || opts.train || opts.valid) {
    throw new ModelError("INVALID_OPTION", `search "${id}" needs either \`train\` and \`valid\`, or \`data\``, {
      hint: 'e.g. { data: split.pick("train"), rows: 50000 } samples and splits the rows itself',
    });
  }
  const sample =
    opts.rows === undefined
      ? opts.data
      : sampleStep(p, `${id}-data`, { input: opts.data, rows: opts.rows, seed: opts.seed });
  const split = splitStep(p, `${id}-split`, {
    input: sample,
    split: { method: "random", testFraction: opts.validFraction, seed: opts.seed },
  });
  return { train: split.pick("train"), valid: split.pick("test") };
}
