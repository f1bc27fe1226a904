/**
 * trainyard/serving — model bundles (a directory with bundle.json) and the predictor the model
 * server calls per request.
 */
export {
  BUNDLE_FORMAT,
  BUNDLE_FILE,
  BundleError,
  writeModelBundle,
  readModelBundle,
  checkBundle,
  type ModelBundle,
  type EstimatorFile,
} from "./model-bundle.js";
export {
  loadPredictor,
  makePredictor,
  estimatorFromBundle,
  signatureOf,
  type Predictor,
  type Prediction,
} from "./predictor.js";
export { FeatureInputError, isFeatureInputError } from "../features/feature-input-error.js";
