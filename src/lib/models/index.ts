export { ModelError, type ModelErrorCode } from "./model-error.js";
export type { Model, AsyncModel, ModelJson, Task } from "./model.js";
export { featureMatrix, type FeatureMatrix, type FeatureType, type InputSignature } from "./feature-matrix.js";
export { seededRandom, type Random } from "./random.js";
export { trainGbdt } from "./gbdt/train-gbdt.js";
export type { GbdtOptions, GbdtObjective } from "./gbdt/gbdt-options.js";
export { GbdtModel, GBDT_FORMAT, type GbdtModelJson, type TrainingHistory } from "./gbdt/gbdt-model.js";
export { trainRidge, type RidgeOptions } from "./linear/train-ridge.js";
export { trainLogistic, type LogisticOptions } from "./linear/train-logistic.js";
export { LinearModel, LINEAR_FORMAT, type LinearModelJson } from "./linear/linear-model.js";
export { importXgboostJson } from "./import/xgboost-json.js";
export { OnnxModel, ONNX_FORMAT, type OnnxModelJson, type OnnxModelOptions } from "./import/onnx-model.js";
export { loadModel, loadModelAsync } from "./load-model.js";
// Pipeline steps: features, training, search, evaluation and gates.
export { importModel, type ImportModelOptions } from "./steps/import-step.js";
export { features, train, type FeaturesStepOptions, type TrainStepOptions } from "./steps/train-steps.js";
export { search, candidateList, type SearchStepOptions, type SearchResult } from "./steps/search-step.js";
export type { Algorithm, AlgorithmOverrides, GbdtParams } from "./steps/algorithm.js";
export {
  evaluate,
  type EvaluateOptions,
  type EvaluationReport,
  type DeployedModel,
  type ModelScores,
} from "../evaluate/evaluate-step.js";
export { gates, type GatesResult, type GateSpec, type GateVerdict } from "../gates/index.js";
export type { FeatureSpec, FittedFeatures, TransformSpec } from "../features/feature-spec.js";
export {
  currentModel,
  register,
  deploy,
  type CurrentModelOptions,
  type Registered,
  type RegisterStepOptions,
  type DeployStepOptions,
} from "../registry/registry-steps.js";
