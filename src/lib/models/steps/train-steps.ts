/**
 * Training steps: fit feature transforms on the training split, train a model into a bundle
 * (fitted transforms + estimator + signature + training metadata), and search hyperparameters
 * with one cached map item per trial.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Dataset, ModelArtifact, Pipeline, StepOptions, StepRef } from "../../../index.js";
import { datasetSource } from "../../data/steps/quality-steps.js";
import { rocAuc } from "../../evaluate/ranking-metrics.js";
import { logLoss } from "../../evaluate/probability-metrics.js";
import { rmse } from "../../evaluate/regression-metrics.js";
import type { FeatureSpec, FittedFeatures } from "../../features/feature-spec.js";
import { fitFeatures } from "../../features/fit-features.js";
import { BUNDLE_FORMAT, writeModelBundle } from "../../serving/model-bundle.js";
import { ModelError } from "../model-error.js";
import type { Task } from "../model.js";
import { fitAlgorithm, type Algorithm } from "./algorithm.js";
import { readLabeled } from "./training-data.js";
import { callWithParams, paramsReadBy } from "../../params/param-functions.js";

const LIB_VERSION = "model-steps/1";
type Passthrough = Pick<StepOptions, "retry" | "timeout" | "pool" | "isolate" | "version" | "description">;

export interface FeaturesStepOptions extends Passthrough {
  /** The training split: statistics are fitted on it only. */
  train: StepRef<Dataset>;
  spec: FeatureSpec;
}

/** Fits feature transforms on the training split; the fitted state is a JSON artifact. */
export function features(p: Pipeline<any>, id: string, opts: FeaturesStepOptions): StepRef<FittedFeatures> {
  const { train, spec, ...options } = opts;
  return p.step(id, {
    description: "fit feature transforms on the training split",
    ...options,
    version: `${LIB_VERSION}${options.version ? `+${options.version}` : ""}`,
    inputs: { train },
    config: { spec },
    run: async (_ctx, { train }) => fitFeatures(datasetSource(train), spec),
  });
}

export interface TrainStepOptions extends Passthrough {
  train: StepRef<Dataset>;
  features: StepRef<FittedFeatures>;
  label: string;
  /**
   * binary (0/1 or two text values), multiclass or regression.
   * @default inferred from the label: two values binary, more text values multiclass, other numbers regression
   */
  task?: Task;
  /** The algorithm, or a function of the pipeline params (e.g. rounds set per profile). */
  algorithm: Algorithm | ((params: Record<string, any>) => Algorithm);
  /** Pipeline params `algorithm` reads; they enter the step's cache key. @default those it reads on the defaults */
  params?: string[];
  /** A search step's result (its best trial) or hyperparameters; they override `algorithm`'s. */
  tuned?: StepRef<SearchResult> | StepRef<Record<string, unknown>>;
  /** A validation split for early stopping (GBDT). */
  valid?: StepRef<Dataset>;
}

/** The hyperparameters a `tuned` input carries: a search result's best trial, or the values themselves. */
function tunedValues(tuned: SearchResult | Record<string, unknown> | undefined): Record<string, unknown> {
  if (tuned && "best" in tuned && "trials" in tuned) return (tuned as SearchResult).best;
  return tuned ?? {};
}

/** Trains a model and stores it as a bundle directory the model server can load. */
export function train(p: Pipeline<any>, id: string, opts: TrainStepOptions): StepRef<ModelArtifact> {
  const { train: trainData, features: feats, label, task, algorithm, params, tuned, valid, ...options } = opts;
  const inputs = { train: trainData, features: feats, ...(tuned ? { tuned } : {}), ...(valid ? { valid } : {}) } as {
    train: StepRef<Dataset>;
    features: StepRef<FittedFeatures>;
    tuned?: StepRef<SearchResult | Record<string, unknown>>;
    valid?: StepRef<Dataset>;
  };
  const read = typeof algorithm === "function" ? paramsReadBy(p, id, algorithm, params) : [];
  const kind = typeof algorithm === "function" ? "" : `${algorithm.kind} `;
  return p.step(id, {
    description: task ? `train a ${kind}${task} model` : `train a ${kind}model`,
    ...options,
    version: `${LIB_VERSION}${options.version ? `+${options.version}` : ""}`,
    inputs,
    params: read as never[],
    // A function's source enters the cache key, as the params it reads do.
    config: { label, task, algorithm: typeof algorithm === "function" ? algorithm.toString() : algorithm },
    run: async (ctx, input) => {
      const base = typeof algorithm === "function" ? callWithParams(p, id, algorithm, ctx.params, read) : algorithm;
      const chosen = { ...base, ...tunedValues(input.tuned) } as Algorithm;
      const data = await readLabeled(input.train as Dataset, input.features as FittedFeatures, label, task);
      if (data.inferred) ctx.log(`task: ${data.task} (${data.inferred}; set \`task\` to override)`);
      const validation = input.valid
        ? await readLabeled(input.valid as Dataset, input.features as FittedFeatures, label, data.task, data.classes)
        : undefined;
      const started = performance.now();
      const model = fitAlgorithm(
        chosen,
        data.task,
        data.x,
        data.y,
        data.classes?.length ?? 2,
        validation ? { features: validation.x, label: validation.y } : undefined,
      );
      const seconds = (performance.now() - started) / 1000;
      ctx.log(
        `trained ${chosen.kind} on ${data.x.rows} rows x ${data.x.names.length} features in ${seconds.toFixed(2)}s`,
      );
      const dir = join(ctx.workdir, "model");
      writeModelBundle(dir, {
        format: BUNDLE_FORMAT,
        task: data.task,
        label,
        classes: data.classes,
        features: input.features as FittedFeatures,
        estimator: model.toJSON(),
        training: {
          algorithm: chosen,
          rows: data.x.rows,
          features: data.x.names,
          seconds,
          trainDigest: (input.train as Dataset).digest,
          runId: ctx.runId,
        },
      });
      return ctx.model(dir, {
        format: BUNDLE_FORMAT,
        task: data.task,
        algorithm: chosen.kind,
        label,
        rows: data.x.rows,
        bytes: dirSize(dir),
      });
    },
  });
}

export interface SearchStepOptions extends Passthrough {
  train: StepRef<Dataset>;
  valid: StepRef<Dataset>;
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
    train: trainData,
    valid,
    features: feats,
    label,
    task,
    algorithm,
    space,
    strategy = "grid",
    metric,
    ...options
  } = opts;
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

function dirSize(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  return total;
}
