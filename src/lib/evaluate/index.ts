export * from "./metrics.js";
export { measureLatency, LATENCY_DEFAULTS, type LatencyOptions, type LatencyMeasurement } from "./latency.js";
