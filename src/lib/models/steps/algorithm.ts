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
