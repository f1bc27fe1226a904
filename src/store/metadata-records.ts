/**
 * The records the metadata stores keep: runs, step runs and their attempts, logs, artifacts,
 * lineage edges and stat entries. Plain data, free of driver types, shared by every backend.
 */
import type { ArtifactKind } from "../core/artifacts.js";
import type { ErrorInfo } from "../core/errors.js";
import type { MetricPoint, RunTag } from "./metric-records.js";
import type { ProcessIdentity } from "./process-identity.js";

export type { MetricGoal, MetricPoint, RunTag } from "./metric-records.js";

/** "interrupted": the run's owner died before it finished; `resume` continues it. */
export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled" | "rejected" | "interrupted";
export type StepStatus =
  | "pending"
  | "running"
  | "succeeded"
  | "failed"
  | "rejected"
  | "skipped"
  | "cancelled"
  | "interrupted";

export interface RunRecord {
  id: string;
  pipeline: string;
  modulePath: string;
  params: Record<string, unknown>;
  profile?: string;
  /** manual, schedule, data, performance, resume, api */
  trigger: string;
  status: RunStatus;
  /** Digest of the pipeline module's code as loaded (its bundle). */
  codeVersion: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  error?: ErrorInfo;
  /** Run options as given (concurrency, force), for resume. */
  options: Record<string, unknown>;
  /**
   * Digest of the pipeline bundle stored as an artifact when the run (or its last resume) started:
   * workers load exactly that code, and gc keeps it while the run is kept.
   */
  bundleDigest?: string;
  /**
   * The pipeline's step ids as the run (or its last resume) planned them: a reader asking for a step
   * the run has not reached yet knows whether it ever will.
   */
  steps?: string[];
  pid?: number;
}

export interface RunFilter {
  pipeline?: string;
  status?: RunStatus;
  /** A trigger kind ("schedule") matches every trigger of that kind ("schedule:nightly"). */
  trigger?: string;
  /** Only runs created at or before this time (ms), for pagination. */
  createdAtMost?: number;
  /** @default 50 */
  limit?: number;
}

/** The one process that owns a run: taken in one transaction, renewed by heartbeats, released at the end. */
export interface RunLease {
  runId: string;
  owner: ProcessIdentity;
  /** Random per claim: a renewal or release by a holder whose lease was taken over changes nothing. */
  token: string;
  acquiredAt: number;
  heartbeatAt: number;
}

/** What determined a step's cache key, kept so that a miss can be explained later. */
export interface KeyComponents {
  engine: string;
  code: string;
  version: string;
  params: Record<string, unknown>;
  inputs: Record<string, string>;
  config?: string;
  files?: Record<string, string>;
  item?: string;
}

export interface StepRunRecord {
  id: string;
  runId: string;
  stepId: string;
  /** -1 for an ordinary step and for a map step's parent; 0.. for map items. */
  itemIndex: number;
  status: StepStatus;
  cacheKey?: string;
  components?: KeyComponents;
  /** True when the outputs were reused from an earlier step run. */
  cached: boolean;
  /** The step run whose outputs were reused. */
  cachedFrom?: string;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  outputDigest?: string;
  error?: ErrorInfo;
  /** Why the step ran, was reused, skipped or cancelled, in words. */
  reason?: string;
}

/** What a history grid shows of a step run. */
export type StepState = Pick<
  StepRunRecord,
  "runId" | "stepId" | "status" | "cached" | "attempts" | "startedAt" | "durationMs"
>;

export interface AttemptRecord {
  stepRunId: string;
  attempt: number;
  status: "running" | "succeeded" | "failed" | "rejected" | "cancelled" | "interrupted";
  startedAt: number;
  finishedAt?: number;
  error?: ErrorInfo;
}

export interface LogLine {
  ts: number;
  stream: "stdout" | "stderr" | "log";
  line: string;
}

export interface ArtifactRecord {
  digest: string;
  kind: ArtifactKind;
  size: number;
  meta: Record<string, unknown>;
  createdAt: number;
  /** True when the bytes live in the metadata store (small JSON values). */
  inline: boolean;
}

export interface LineageEdge {
  stepRunId: string;
  runId: string;
  stepId: string;
  digest: string;
  direction: "in" | "out";
  /** Input name, or "output" / an output field for produced artifacts. */
  name: string;
  /** True when the step run reused this output from the cache rather than producing it. */
  reused: boolean;
}

export interface StatEntry {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  digest: string;
}

/** Everything recorded when a step run ends, written atomically. */
export interface StepRunCompletion {
  stepRun: StepRunRecord;
  artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>;
  lineage: LineageEdge[];
}

/** Records the engine queues while a run executes, committed together. */
export interface RecordBatch {
  stepRuns: StepRunRecord[];
  attempts: AttemptRecord[];
  logs: Array<{ stepRunId: string; attempt: number; lines: LogLine[] }>;
  completions: StepRunCompletion[];
  /** Metric points and run tags steps recorded in the window. */
  metrics?: MetricPoint[];
  tags?: RunTag[];
  /** Artifact records outside any completion: a worker's inline outputs, readable before its run records them. */
  artifacts?: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>;
}
