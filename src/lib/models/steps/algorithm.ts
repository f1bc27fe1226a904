/** Which trainer a step uses and with which options; hyperparameters are plain JSON. */
import type { GbdtOptions } from "../gbdt/gbdt-options.js";
import { trainGbdt } from "../gbdt/train-gbdt.js";
import type { FeatureMatrix } from "../feature-matrix.js";
import { trainLogistic } from "../linear/train-logistic.js";
import { trainRidge } from "../linear/train-ridge.js";
import type { Model, Task } from "../model.js";

export type GbdtParams = Omit<GbdtOptions, "validation" | "objective" | "numClasses">;

export type Algorithm =
  | ({ kind: "gbdt" } & GbdtParams)
  | { kind: "logistic"; l2?: number; maxIterations?: number }
  | { kind: "ridge"; l2?: number };

/**
 * Options laid over an algorithm given elsewhere (a search's), without naming its `kind` again,
 * e.g. `{ numRounds: 300 }` to refit a searched GBDT with more rounds.
 */
export type AlgorithmOverrides = { kind?: undefined } & (Partial<GbdtParams> | { l2?: number; maxIterations?: number });

/** The algorithm itself when it names its kind, else `overrides` laid over `base`; undefined without a base. */
export function layAlgorithm(
  overrides: Algorithm | AlgorithmOverrides,
  base: Algorithm | undefined,
): Algorithm | undefined {
  if (overrides.kind !== undefined) return overrides as Algorithm;
  return base && ({ ...base, ...overrides } as Algorithm);
}

export function fitAlgorithm(
  algorithm: Algorithm,
  task: Task,
  x: FeatureMatrix,
  y: Float64Array,
  numClasses: number,
  validation?: { features: FeatureMatrix; label: Float64Array },
): Model {
  switch (algorithm.kind) {
    case "gbdt": {
      const { kind: _kind, ...opts } = algorithm;
      const objective =
        task === "binary" ? "binary:logistic" : task === "multiclass" ? "multi:softprob" : "reg:squarederror";
      return trainGbdt(x, y, {
        ...opts,
        objective,
        numClasses: task === "multiclass" ? numClasses : undefined,
        validation,
      });
    }
    case "logistic":
      return trainLogistic(x, y, {
        task: task === "multiclass" ? "multiclass" : "binary",
        l2: algorithm.l2,
        maxIterations: algorithm.maxIterations,
      });
    case "ridge":
      return trainRidge(x, y, { l2: algorithm.l2 });
  }
}
