/** The executor's types: what it is given (environment, run, options) and what it tracks. */
import type { CompiledGraph, CompiledStep } from "../core/graph.js";
import type { MetadataStore, StepRunRecord } from "../store/metadata-store.js";
import type { ArtifactIO } from "./artifact-io.js";
import type { CodeContext } from "./code-context.js";
import type { RunEvent } from "./events.js";
import type { TrainyardServices } from "./step-services.js";
import type { StoreSpec } from "./store-choice.js";
import type { LogLimits } from "./step-log-files.js";
import type { ExecutorConfig } from "../core/config.js";
import type { ExecutorRegistry } from "./executor-registry.js";
import type { ResolvedStep } from "./step-resolution.js";
import type { StepInputRef, StepTask } from "./step-task.js";

export interface ExecutorEnv {
  metadata: MetadataStore;
  io: ArtifactIO;
  /** Directory under which step work directories are created (same file system as the store). */
  workRoot: string;
  home: string;
  /** What steps reach through `ctx.services()`. */
  services?: TrainyardServices;
  /** The same stores by name, for isolated steps' child processes. */
  stores?: StoreSpec;
}

export interface ExecuteInput {
  runId: string;
  pipeline: string;
  graph: CompiledGraph;
  params: Record<string, unknown>;
  moduleDir: string;
  codeContext?: CodeContext;
  /** The bundled module, for isolated steps; absent for pipelines built in-process. */
  bundlePath?: string;
  /** The bundle as stored in the artifact store when the run started (see StepTask.bundleDigest). */
  bundleDigest?: string;
  /** The pipeline module's path, for StepTasks; the module directory when absent. */
  modulePath?: string;
}

export interface ExecuteOptions {
  /** Steps running at once. */
  concurrency: number;
  /** The concurrency the run was given (--concurrency, the config); unset when it is the CPU count. */
  chosenConcurrency?: number;
  /** Recompute instead of reusing the cache: every step (true) or the listed ones. */
  force?: boolean | readonly string[];
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  /** Step runs of this run recorded earlier (resume): succeeded ones are reused. */
  previous?: ReadonlyMap<string, StepRunRecord>;
  /** Caps of the run's log files. @default see LogLimits */
  logs?: Partial<LogLimits>;
  /** Which executor runs the tasks, by name. @default "local" */
  executor?: ExecutorConfig;
  /** Where executor names are looked up. @default defaultExecutors() */
  executors?: ExecutorRegistry;
}

export type NodeStatus =
  | "waiting"
  | "resolving"
  | "queued"
  | "running"
  | "succeeded"
  | "failed"
  | "rejected"
  | "skipped"
  | "cancelled";

export interface Output {
  digest: string;
  value: unknown;
}

export interface Node {
  readonly id: string;
  readonly step: CompiledStep;
  waitingOn: number;
  status: NodeStatus;
  priority: number;
  output?: Output;
  record: StepRunRecord;
  readonly tasks: Set<Task>;
  items?: { total: number; done: number; outputs: Output[]; allCached: boolean; overDigest: string };
}

/** A step (or map item) the scheduler tracks from ready to done. */
export interface Task {
  readonly node: Node;
  readonly itemIndex: number;
  /** Input values by name, for lineage of the artifacts inside them. */
  readonly inputs: Record<string, unknown>;
  readonly inputDigests: Record<string, string>;
  /** The step's resolution: inputs, their references, its params. */
  readonly step: ResolvedStep;
  /** A map item: the list it is taken from. */
  readonly over?: StepInputRef;
  readonly record: StepRunRecord;
  readonly priority: number;
  /** What the executor is (or would be) handed: made once, when the task is first offered. */
  handover?: StepTask;
}
