/** The authoring API: what a pipeline module imports. */
export { pipeline, Pipeline, isPipeline } from "./core/pipeline.js";
export type { PipelineOptions, StepSpec, MapSpec, CommandStepSpec } from "./core/pipeline.js";
export type { StepRef, StepContext, StepOptions, RetryPolicy, CommandContext } from "./core/step.js";
export type { Dataset, FileArtifact, DirectoryArtifact, ModelArtifact, ArtifactHandle, ArtifactKind } from "./core/artifacts.js";
export { Fatal, Rejected, TrainyardError, isFatal, isRejected, isTrainyardError } from "./core/errors.js";
export { defineConfig } from "./core/config.js";
export type { TrainyardConfig } from "./core/config.js";
export type { ScheduleSpec, FileSensorSpec, MonitorSpec, OverlapPolicy, Duration, Instant } from "./core/triggers.js";
export type { SensorSpec, TriggerDecl } from "./core/triggers.js";
export type {
  SqlSensorSpec,
  SqlSource,
  FunctionSensorSpec,
  FunctionSensorContext,
  FunctionSensorResult,
  FunctionSensorRequest,
  LastRunInfo,
  RunStatusSpec,
  RunEndStatus,
} from "./core/event-triggers.js";
export { schedule, sensor, monitor, onRunStatus } from "./core/config-triggers.js";
