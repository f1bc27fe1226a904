/** The authoring API: what a pipeline module imports. */
// zod, re-exported so that a pipeline's params need no import beyond `trainyard`.
export { z } from "zod";
export { pipeline, Pipeline, isPipeline } from "./core/pipeline.js";
export type { PipelineOptions, StepSpec, MapSpec, CommandStepSpec } from "./core/pipeline.js";
export type { StepRef, StepContext, StepOptions, RetryPolicy, CommandContext, MetricOptions } from "./core/step.js";
export type {
  Dataset,
  FileArtifact,
  DirectoryArtifact,
  ModelArtifact,
  ArtifactHandle,
  ArtifactKind,
} from "./core/artifacts.js";
export { Fatal, Rejected, StepError, TrainyardError, isFatal, isRejected, isTrainyardError } from "./core/errors.js";
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
export type { ArtifactsConfig, ExecutorConfig, MetadataConfig } from "./core/config.js";
export { digestOfValue } from "./core/artifacts.js";
export { formatModelRef, parseModelRef, type ModelRef } from "./core/model-ref.js";

// What `await ctx.services()` gives a step: the running Trainyard's stores, registry and queries.
// Type-only: the runtime entry point still loads nothing beyond core.
export type { StepServices } from "./core/step.js";
export type { TrainyardServices } from "./engine/step-services.js";
export type { TrainyardQuery, RunPage, RunQuery, StepLogChunk, ArtifactLineageView } from "./engine/query.js";
export type { RunDetail, StepDetail, CacheDecision, RunTrigger } from "./engine/run-detail.js";
export type { ModelDetail, VersionDetail } from "./engine/registry-views.js";
export type { ArtifactLineage, ModelLineage } from "./engine/lineage-query.js";
export type { MetricSeries, MetricValue, MetricFilter } from "./engine/run-metrics.js";
export type { RunComparison, ComparisonRow, ComparedRun } from "./engine/run-comparison.js";
export type { PlanResult, PlannedStep } from "./engine/planner.js";
export type { ArtifactStore } from "./store/artifact-store.js";
export type {
  ArtifactRecord,
  ArtifactRecordStore,
  AttemptRecord,
  LineageEdge,
  LogLine,
  MetadataStore,
  RunFilter,
  RunRecord,
  RunStatus,
  RunStore,
  StatIndexStore,
  StepRunRecord,
  StepRunStore,
  StepStatus,
} from "./store/metadata-store.js";
export type {
  AliasChange,
  AliasEvent,
  AliasPin,
  AliasRecord,
  DeployHookResult,
  GateVerdict,
  ModelSummary,
  ModelVersionRecord,
  PinPolicy,
  PredictionLogEntry,
  RegisterVersionInput,
  RegistryStore,
} from "./store/registry-store.js";

// Content digests name their scheme (`sha256:<hex>`, `sha256-blocks-8m:<hex>`, `sha256-tree:<hex>`; docs/digests.md).
export {
  DIGEST_PATTERN,
  DIGEST_SCHEMES,
  type DigestScheme,
  formatDigest,
  isDigest,
  type ParsedDigest,
  parseDigest,
} from "./core/digest-format.js";
