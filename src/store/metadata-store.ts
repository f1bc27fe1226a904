/**
 * The metadata store: runs, step runs and their attempts, logs, artifacts, lineage and the
 * file stat index. Async everywhere and free of driver types, so that SQLite (embedded) and
 * PostgreSQL (at scale) implement it without callers changing. One conformance suite
 * (test/store/metadata-conformance.ts) runs against every backend.
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
}

export interface MetadataStore {
  readonly backend: string;
  close(): Promise<void>;

  upsertPipeline(name: string, modulePath: string): Promise<void>;
  /** Pipelines that have run here, with the module they were last run from; newest first. */
  listPipelines(): Promise<Array<{ name: string; modulePath: string; updatedAt: number }>>;

  createRun(run: RunRecord): Promise<void>;
  updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void>;
  /** Accepts a unique prefix of a run id. */
  getRun(idOrPrefix: string): Promise<RunRecord | undefined>;
  /** Newest first (ties in creation order, newest first). */
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;

  /**
   * Takes a run's lease when the run has none or, with `replacing`, when its lease still has that
   * token (a holder the caller found dead), in one transaction. Returns the lease that holds the
   * run afterwards: `lease` itself when taken, else the current holder's.
   */
  claimRunLease(lease: RunLease, replacing?: string): Promise<RunLease>;
  getRunLease(runId: string): Promise<RunLease | undefined>;
  /** Sets the heartbeat of a lease still held with `token`; false when it was taken over or released. */
  renewRunLease(runId: string, token: string, now: number): Promise<boolean>;
  releaseRunLease(runId: string, token: string): Promise<void>;
  /**
   * Marks a "running" run "interrupted" when its lease still has `deadToken` (a resume that took
   * the lease meanwhile wins). Returns whether the run was marked.
   */
  markRunInterrupted(runId: string, deadToken: string, finishedAt: number): Promise<boolean>;

  /** Inserts or replaces step runs (a step run id is unique). */
  saveStepRuns(records: StepRunRecord[]): Promise<void>;
  /** Writes a finished step run with its artifacts and lineage in one transaction. */
  completeStepRuns(completions: StepRunCompletion[]): Promise<void>;
  listStepRuns(runId: string): Promise<StepRunRecord[]>;
  /** The state of every top-level step of many runs in one read (history grids), without the heavy fields. */
  listStepStates?(runIds: string[]): Promise<StepState[]>;
  getStepRun(id: string): Promise<StepRunRecord | undefined>;
  /** Whether a step run exists, without reading it (a cache hit checks its source is still there). */
  hasStepRun?(id: string): Promise<boolean>;
  /** A succeeded step run with this cache key whose outputs are still stored. */
  findByCacheKey(cacheKey: string): Promise<StepRunRecord | undefined>;
  /** Whether any step run has succeeded: when none has, no cache lookup can hit. */
  hasStepResults(): Promise<boolean>;
  /** The newest step run of a step (and item) in another run of the pipeline, for explanations. */
  previousStepRun(
    pipeline: string,
    stepId: string,
    itemIndex: number,
    beforeRunCreatedAt: number,
    excludeRunId: string,
  ): Promise<StepRunRecord | undefined>;
  /** Median duration in ms of recent successful, non-cached runs of each step of a pipeline. */
  stepDurations(pipeline: string): Promise<Map<string, number>>;

  saveAttempt(attempt: AttemptRecord): Promise<void>;
  /**
   * Writes step runs, attempts, logs and completions, in that order, in one transaction. Optional:
   * without it the engine calls the single-purpose methods (one commit per attempt record).
   */
  writeBatch?(batch: RecordBatch): Promise<void>;
  /**
   * Writes `batch` in a transaction left open, for the caller to commit or roll back once it has
   * made the batch's artifacts durable; undefined when it cannot (a transaction is already open,
   * or the backend has no such thing). Statements this process runs meanwhile join the open
   * transaction.
   */
  stageBatch?(batch: RecordBatch): { commit(): void; rollback(): void } | undefined;
  listAttempts(stepRunId: string): Promise<AttemptRecord[]>;
  appendLogs(stepRunId: string, attempt: number, lines: LogLine[]): Promise<void>;
  getLogs(stepRunId: string, attempt?: number): Promise<Array<LogLine & { attempt: number }>>;

  /** Records metric points and run tags (experiment tracking), in one transaction. */
  appendMetrics(points: MetricPoint[], tags?: RunTag[]): Promise<void>;
  /** Metric points of these step runs, in the order they were recorded. */
  listMetrics(stepRunIds: string[]): Promise<MetricPoint[]>;
  /** Tags set by these step runs, in the order they were set. */
  listTags(stepRunIds: string[]): Promise<RunTag[]>;

  putArtifacts(artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>): Promise<void>;
  getArtifact(digestOrPrefix: string): Promise<ArtifactRecord | undefined>;
  getInlineBytes(digest: string): Promise<Uint8Array | undefined>;
  listArtifacts(): Promise<ArtifactRecord[]>;
  deleteArtifacts(digests: string[]): Promise<void>;
  lineageOf(digest: string): Promise<LineageEdge[]>;
  lineageOfStepRun(stepRunId: string): Promise<LineageEdge[]>;
  /** Digests referenced by any step run of the given runs (inputs and outputs). */
  digestsUsedByRuns(runIds: string[]): Promise<Set<string>>;
  /** Digests that other records pin (e.g. registered model versions), beyond runs. */
  pinnedDigests(): Promise<Set<string>>;
  deleteRuns(runIds: string[]): Promise<void>;

  getStat(path: string): Promise<StatEntry | undefined>;
  putStat(entry: StatEntry): Promise<void>;
}
