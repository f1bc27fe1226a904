/**
 * Training steps: fit feature transforms on the training split, and train a model into a bundle
 * (fitted transforms + estimator + signature + training metadata), from scratch or refitting the
 * best trial of a search.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Dataset, ModelArtifact, Pipeline, StepOptions, StepRef } from "../../../index.js";
import { datasetSource } from "../../data/steps/quality-steps.js";
import type { FeatureSpec, FittedFeatures } from "../../features/feature-spec.js";
import { fitFeatures } from "../../features/fit-features.js";
import { BUNDLE_FORMAT, writeModelBundle } from "../../serving/model-bundle.js";
import { ModelError } from "../model-error.js";
import type { Task } from "../model.js";
import { fitAlgorithm, layAlgorithm, type Algorithm, type AlgorithmOverrides } from "./algorithm.js";
import { readLabeled } from "./training-data.js";
import type { SearchResult } from "./search-step.js";
import { callWithParams, paramsReadBy } from "../../params/param-functions.js";
import { upstreamConfig, upstreamInput } from "../../wiring/upstream.js";

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
  /** The fitted feature transforms. @default the search's, when `tuned` is a search */
  features?: StepRef<FittedFeatures>;
  /** The label column. @default the search's, when `tuned` is a search */
  label?: string;
  /**
   * binary (0/1 or two text values), multiclass or regression.
   * @default the search's when `tuned` is one, else inferred from the label: two values binary, more text
   * values multiclass, other numbers regression
   */
  task?: Task;
  /**
   * The algorithm, or a function of the pipeline params (e.g. rounds set per profile). Without a `kind`, its
   * options are laid over the search's algorithm, e.g. `{ numRounds: 300 }`. @default the search's
   */
  algorithm?: Algorithm | AlgorithmOverrides | ((params: Record<string, any>) => Algorithm | AlgorithmOverrides);
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

/** What a search was given, when `tuned` is a search's result: the defaults of a refit of its best trial. */
function searchOptions(p: Pipeline<any>, tuned: StepRef<unknown> | undefined) {
  const trials = tuned && upstreamInput(p, tuned, "trials");
  if (!trials) return {};
  const { label, task, algorithm } = upstreamConfig<{ label: string; task: Task; algorithm: Algorithm }>(p, trials);
  return { label, task, algorithm, features: upstreamInput<FittedFeatures>(p, trials, "features") };
}

/** Trains a model and stores it as a bundle directory the model server can load. */
export function train(p: Pipeline<any>, id: string, opts: TrainStepOptions): StepRef<ModelArtifact> {
  const { train: trainData, params, tuned, valid, ...given } = opts;
  const searched = searchOptions(p, tuned);
  // What is given wins over the search's options; an option given as undefined does not hide them.
  const { features: feats, label, task, algorithm: stated, ...options } = { ...searched, ...definedOnly(given) };
  // Options without a kind tune the search's algorithm; a function's are laid over it when the step runs.
  const algorithm = typeof stated === "object" ? layAlgorithm(stated, searched.algorithm) : stated;
  if (!feats || label === undefined || !algorithm) {
    const missing = [
      !feats && "features",
      label === undefined && "label",
      !algorithm && (stated ? "algorithm.kind (no search to take it from)" : "algorithm"),
    ].filter(Boolean);
    throw new ModelError("INVALID_OPTION", `train step "${id}" needs ${missing.join(", ")}`, {
      hint: "give them, or give `tuned` a search step's result to refit its best trial with the search's options",
    });
  }
  const inputs = { train: trainData, features: feats, ...(tuned ? { tuned } : {}), ...(valid ? { valid } : {}) } as {
    train: StepRef<Dataset>;
    features: StepRef<FittedFeatures>;
    tuned?: StepRef<SearchResult | Record<string, unknown>>;
    valid?: StepRef<Dataset>;
  };
  const read = paramsReadBy(p, id, algorithm, params);
  const kind = typeof algorithm === "function" ? "" : `${algorithm.kind} `;
  return p.step(id, {
    description: task ? `train a ${kind}${task} model` : `train a ${kind}model`,
    ...options,
    version: `${LIB_VERSION}${options.version ? `+${options.version}` : ""}`,
    inputs,
    params: read as never[],
    // A function's source enters the cache key, as the params it reads do.
    config: {
      label,
      task,
      algorithm: typeof algorithm === "function" ? algorithm.toString() : algorithm,
      // What a function's options are laid over.
      ...(typeof algorithm === "function" && searched.algorithm ? { over: searched.algorithm } : {}),
    },
    run: async (ctx, input) => {
      const base =
        typeof algorithm === "function"
          ? layAlgorithm(callWithParams(p, id, algorithm, ctx.params, read), searched.algorithm)
          : algorithm;
      if (!base) {
        throw new ModelError(
          "INVALID_OPTION",
          `train step "${id}": \`algorithm\` returned options without a \`kind\``,
          {
            hint: 'name the kind (e.g. { kind: "gbdt", numRounds: 100 }), or give `tuned` a search to lay them over',
          },
        );
      }
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

/** The options given, without those set to undefined, so they do not hide a search's. */
function definedOnly<T extends object>(opts: T): Partial<T> {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function dirSize(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  return total;
}
