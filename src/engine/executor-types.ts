/** The executor's types: what it is given (environment, run, options) and what it tracks. */
import type { Cancellation } from "./cancellation.js";
import type { CompiledGraph, CompiledStep } from "../core/graph.js";
import type { MetadataStore, StepRunRecord } from "../store/metadata-store.js";
import type { ArtifactIO } from "./artifact-io.js";
import type { CodeContext } from "./code-context.js";
import type { RunEvent } from "./events.js";
import type { TrainyardServices } from "./step-services.js";
import type { StoreSpec } from "./store-choice.js";
import type { LogLimits } from "./step-log-files.js";

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
}

export interface ExecuteOptions {
  /** Steps running at once. */
  concurrency: number;
  /** Recompute instead of reusing the cache: every step (true) or the listed ones. */
  force?: boolean | readonly string[];
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  /** Step runs of this run recorded earlier (resume): succeeded ones are reused. */
  previous?: ReadonlyMap<string, StepRunRecord>;
  /** Caps of the run's log files. @default see LogLimits */
  logs?: Partial<LogLimits>;
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

export interface Task {
  readonly node: Node;
  readonly itemIndex: number;
  readonly args: unknown[];
  readonly inputs: Record<string, unknown>;
  readonly inputDigests: Record<string, string>;
  /** The params the step declares (picked once, for its cache key and its context). */
  readonly params?: Record<string, unknown>;
  readonly record: StepRunRecord;
  readonly priority: number;
  controller?: Cancellation;
  cancelReason?: string;
  onWorkDone?: () => void;
  /** Started beyond the concurrency limit: its command may wait for a helper shell. */
  staged?: { started(): void };
}
