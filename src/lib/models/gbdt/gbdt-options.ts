import { availableParallelism } from "node:os";
import type { FeatureMatrix } from "../feature-matrix.js";
import { ModelError } from "../model-error.js";

export type GbdtObjective = "binary:logistic" | "reg:squarederror" | "multi:softprob";

/** Options of `trainGbdt`; names and defaults follow XGBoost where it has the same knob. */
export interface GbdtOptions {
  /** @default "binary:logistic" */
  objective?: GbdtObjective;
  /** Number of classes for multi:softprob. @default max(label) + 1 */
  numClasses?: number;
  /** Boosting rounds (trees per output). @default 100 */
  numRounds?: number;
  /** Shrinkage applied to every leaf. @default 0.3 */
  learningRate?: number;
  /** Depth-wise growth stops at this depth (1..16). @default 6 */
  maxDepth?: number;
  /** Max leaves per tree; 0 = limited by maxDepth only. @default 0 */
  maxLeaves?: number;
  /** Histogram bins per feature (2..256; one is used for missing values when present). @default 256 */
  maxBin?: number;
  /** L2 regularization on leaf weights. @default 1 */
  lambda?: number;
  /** Minimum gain to split (XGBoost min_split_loss). @default 0 */
  gamma?: number;
  /** Minimum hessian sum in a child. @default 1 */
  minChildWeight?: number;
  /** Fraction of rows sampled for each round. @default 1 */
  subsample?: number;
  /** Fraction of features sampled for each tree. @default 1 */
  colsampleByTree?: number;
  /** Seed of every random choice (row/column sampling, binning sample). @default 0 */
  seed?: number;
  /**
   * Threads for the row passes; results are deterministic for a given seed and thread count. @default all cores when
   * rows >= 100000, else 1
   */
  threads?: number;
  /** Held-out rows scored after every round. */
  validation?: { features: FeatureMatrix; label: ArrayLike<number> };
  /** Stop when the validation loss has not improved for this many rounds; keeps the best rounds. @default none */
  earlyStoppingRounds?: number;
  /** Features to record as categorical in the signature (they are split as ordinal codes). @default [] */
  categorical?: string[];
}

export type CompiledGbdtOptions = Required<Omit<GbdtOptions, "validation" | "earlyStoppingRounds" | "numClasses">> &
  Pick<GbdtOptions, "validation" | "earlyStoppingRounds" | "numClasses">;

export function compileGbdtOptions(options: GbdtOptions, rows: number): CompiledGbdtOptions {
  const o: CompiledGbdtOptions = {
    objective: options.objective ?? "binary:logistic",
    numClasses: options.numClasses,
    numRounds: options.numRounds ?? 100,
    learningRate: options.learningRate ?? 0.3,
    maxDepth: options.maxDepth ?? 6,
    maxLeaves: options.maxLeaves ?? 0,
    maxBin: options.maxBin ?? 256,
    lambda: options.lambda ?? 1,
    gamma: options.gamma ?? 0,
    minChildWeight: options.minChildWeight ?? 1,
    subsample: options.subsample ?? 1,
    colsampleByTree: options.colsampleByTree ?? 1,
    seed: options.seed ?? 0,
    threads: options.threads ?? (rows >= 100_000 ? Math.max(1, availableParallelism()) : 1),
    validation: options.validation,
    earlyStoppingRounds: options.earlyStoppingRounds,
    categorical: options.categorical ?? [],
  };
  const check = (ok: boolean, name: string, rule: string, value: unknown): void => {
    if (!ok)
      throw new ModelError("INVALID_OPTION", `option ${name} = ${String(value)} is invalid`, {
        hint: `${name} must be ${rule}`,
      });
  };
  check(
    ["binary:logistic", "reg:squarederror", "multi:softprob"].includes(o.objective),
    "objective",
    "binary:logistic, reg:squarederror or multi:softprob",
    o.objective,
  );
  check(Number.isInteger(o.numRounds) && o.numRounds >= 1, "numRounds", "an integer >= 1", o.numRounds);
  check(o.learningRate > 0, "learningRate", "> 0", o.learningRate);
  check(
    Number.isInteger(o.maxDepth) && o.maxDepth >= 1 && o.maxDepth <= 16,
    "maxDepth",
    "an integer in 1..16",
    o.maxDepth,
  );
  check(
    Number.isInteger(o.maxLeaves) && (o.maxLeaves === 0 || o.maxLeaves >= 2),
    "maxLeaves",
    "0 or an integer >= 2",
    o.maxLeaves,
  );
  check(Number.isInteger(o.maxBin) && o.maxBin >= 2 && o.maxBin <= 256, "maxBin", "an integer in 2..256", o.maxBin);
  check(o.lambda >= 0, "lambda", ">= 0", o.lambda);
  check(o.gamma >= 0, "gamma", ">= 0", o.gamma);
  check(o.minChildWeight >= 0, "minChildWeight", ">= 0", o.minChildWeight);
  check(o.subsample > 0 && o.subsample <= 1, "subsample", "in (0, 1]", o.subsample);
  check(o.colsampleByTree > 0 && o.colsampleByTree <= 1, "colsampleByTree", "in (0, 1]", o.colsampleByTree);
  check(Number.isInteger(o.threads) && o.threads >= 1, "threads", "an integer >= 1", o.threads);
  if (o.earlyStoppingRounds !== undefined) {
    check(
      o.validation !== undefined,
      "earlyStoppingRounds",
      "used together with a validation set",
      o.earlyStoppingRounds,
    );
    check(
      Number.isInteger(o.earlyStoppingRounds) && o.earlyStoppingRounds >= 1,
      "earlyStoppingRounds",
      "an integer >= 1",
      o.earlyStoppingRounds,
    );
  }
  return o;
}
