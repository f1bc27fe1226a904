import { numericSignature } from "../feature-matrix.js";
import { GbdtModel } from "../gbdt/gbdt-model.js";
import type { GbdtObjective } from "../gbdt/gbdt-options.js";
import { buildEnsemble, type TreeNodes } from "../gbdt/tree-ensemble.js";
import { ModelError } from "../model-error.js";

/**
 * Imports a model saved by XGBoost (>= 1.6) with `booster.save_model("m.json")` and scores it
 * natively. XGBoost semantics carried over: features and thresholds are float32 (`x < split`
 * goes left), NaN follows `default_left`, the margin starts at base_score (as log-odds for
 * logistic objectives), and tree i adds to class `tree_info[i]`.
 */
export interface XgboostJson {
  learner: {
    feature_names?: string[];
    gradient_booster: { name: string; model: { trees: XgboostTree[]; tree_info: number[] } };
    learner_model_param: { base_score: string; num_class: string; num_feature: string };
    objective: { name: string };
  };
  version?: number[];
}

interface XgboostTree {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: number[] | boolean[];
  split_type?: number[];
  tree_param: { num_nodes: string };
}

const OBJECTIVES: Record<string, GbdtObjective> = {
  "binary:logistic": "binary:logistic",
  "reg:logistic": "binary:logistic",
  "reg:squarederror": "reg:squarederror",
  "reg:linear": "reg:squarederror",
  "multi:softprob": "multi:softprob",
  "multi:softmax": "multi:softprob",
};

export function isXgboostJson(value: unknown): value is XgboostJson {
  return typeof value === "object" && value !== null && "learner" in value;
}

/** `featureNames` overrides the names saved in the model (XGBoost saves none for numpy input: f0, f1, ...). */
export function importXgboostJson(input: string | XgboostJson, featureNames?: string[]): GbdtModel {
  const json: unknown = typeof input === "string" ? JSON.parse(input) : input;
  if (!isXgboostJson(json)) {
    throw new ModelError("INVALID_MODEL_JSON", "not an XGBoost JSON model (no `learner`)", {
      hint: 'save the booster with booster.save_model("model.json") (JSON, not the binary .ubj/.model format)',
    });
  }
  const { learner } = json;
  if (learner.gradient_booster.name !== "gbtree") {
    throw new ModelError("INVALID_MODEL_JSON", `unsupported booster "${learner.gradient_booster.name}"`, {
      hint: "only gbtree boosters can be imported",
    });
  }
  const objective = OBJECTIVES[learner.objective.name];
  if (objective === undefined) {
    throw new ModelError("INVALID_MODEL_JSON", `unsupported XGBoost objective "${learner.objective.name}"`, {
      hint: `supported: ${Object.keys(OBJECTIVES).join(", ")}`,
    });
  }
  const param = learner.learner_model_param;
  const numFeature = Number(param.num_feature);
  const numClasses = objective === "multi:softprob" ? Number(param.num_class) : 1;
  const baseScore = Math.fround(Number(param.base_score));
  const base = objective === "binary:logistic" ? Math.log(baseScore / (1 - baseScore)) : baseScore;
  const { trees, tree_info: treeInfo } = learner.gradient_booster.model;
  const nodes: TreeNodes[] = trees.map((t, i) => {
    if (t.split_type?.some((s) => s !== 0)) {
      throw new ModelError("INVALID_MODEL_JSON", `tree ${i} has categorical splits`, {
        hint: "retrain without enable_categorical",
      });
    }
    const n = Number(t.tree_param.num_nodes);
    return {
      output: treeInfo[i] ?? 0,
      feature: t.split_indices.slice(0, n),
      // JSON holds the float32 values in short decimal form; round back to the exact float32.
      threshold: t.split_conditions.slice(0, n).map(Math.fround),
      defaultLeft: Array.from({ length: n }, (_, j) => Boolean(t.default_left[j])),
      left: t.left_children.slice(0, n),
      right: t.right_children.slice(0, n),
      // A leaf's value is stored in split_conditions.
      value: t.split_conditions.slice(0, n).map((v, j) => (t.left_children[j] < 0 ? Math.fround(v) : 0)),
    };
  });
  const names =
    featureNames ??
    (learner.feature_names?.length ? learner.feature_names : Array.from({ length: numFeature }, (_, j) => `f${j}`));
  if (names.length !== numFeature) {
    throw new ModelError("FEATURE_MISMATCH", `model has ${numFeature} features but ${names.length} names were given`, {
      hint: "pass one name per feature, in training order",
    });
  }
  const ensemble = buildEnsemble(
    nodes,
    numClasses,
    Array.from({ length: numClasses }, () => base),
    true,
  );
  return new GbdtModel(objective, numClasses, numericSignature(names), ensemble);
}
