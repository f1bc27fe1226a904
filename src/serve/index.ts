/** The model server: registry aliases over HTTP, hot-reloaded when an alias moves. */
export { ModelServer, SERVE_TIMEOUTS, startModelServer, type ModelServerOptions } from "./model-server.js";
export { ServedModels, type LoadedModel, type ServeTarget, type ServedModelsOptions } from "./served-models.js";
export { ServeMetrics, LATENCY_BUCKETS } from "./serve-metrics.js";
export { PredictionLogger, type PredictionLoggerOptions } from "./prediction-logger.js";
export {
  PredictionLogRetention,
  PREDICTION_LOG_RETENTION,
  type PredictionLogRetentionOptions,
} from "./prediction-log-retention.js";
export { BearerToken, isLoopbackHost, requireTokenBeyondLoopback } from "./serve-access.js";
export {
  defaultPredictorLoader,
  asInputRejection,
  type PredictorLoader,
  type ServedPredictor,
  type InputRejection,
} from "./predictor-port.js";
export { serveHome, type ServeHomeOptions } from "./serve-home.js";
