/**
 * The metadata stores, one interface per concern: runs (and their leases), step runs (attempts,
 * logs, metrics), artifact records and lineage, and the file stat index. Each backend implements
 * every concern on one shared database (the registry and the tick ledger join it too), and
 * `MetadataStore` is all four together, as the composition root hands it out. Async everywhere
 * and free of driver types; one conformance suite (test/store/metadata-conformance.ts) runs on
 * every backend.
 */
import type {
  ArtifactRecord,
  AttemptRecord,
  LineageEdge,
  LogLine,
  RecordBatch,
  RunFilter,
  RunLease,
  RunRecord,
  StatEntry,
  StepRunCompletion,
  StepRunRecord,
  StepState,
} from "./metadata-records.js";
import type { MetricPoint, RunTag } from "./metric-records.js";

export type * from "./metadata-records.js";

/** Pipelines, runs and the lease of the one process that owns a run. */
export interface RunStore {
  upsertPipeline(name: string, modulePath: string): Promise<void>;
  /** Pipelines that have run here, with the module they were last run from; newest first. */
  listPipelines(): Promise<Array<{ name: string; modulePath: string; updatedAt: number }>>;

  createRun(run: RunRecord): Promise<void>;
  updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void>;
  /**
   * A run by its id or a prefix of it: an exact id wins, a prefix of one run finds it, undefined
   * when nothing matches, and RUN_AMBIGUOUS (listing the newest matches) when it matches several.
   */
  getRun(idOrPrefix: string): Promise<RunRecord | undefined>;
  /** Newest first (ties in creation order, newest first). */
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** Removes runs with everything recorded of them (step runs, attempts, logs, lineage, metrics, leases). */
  deleteRuns(runIds: string[]): Promise<void>;

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
}

/** Step runs with their attempts, logs and metrics: what the engine records while a run executes. */
export interface StepRunStore {
  /** Inserts or replaces step runs (a step run id is unique). */
  saveStepRuns(records: StepRunRecord[]): Promise<void>;
  /** Writes a finished step run with its artifacts and lineage in one transaction. */
  completeStepRuns(completions: StepRunCompletion[]): Promise<void>;
  /**
   * Writes step runs, attempts, logs, completions and metrics, in that order, in one transaction
   * that holds no lock while the caller awaits anything else (one synchronous transaction, or one
   * statement).
   */
  writeBatch(batch: RecordBatch): Promise<void>;
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
  listAttempts(stepRunId: string): Promise<AttemptRecord[]>;
  appendLogs(stepRunId: string, attempt: number, lines: LogLine[]): Promise<void>;
  getLogs(stepRunId: string, attempt?: number): Promise<Array<LogLine & { attempt: number }>>;

  /** Records metric points and run tags (experiment tracking), in one transaction. */
  appendMetrics(points: MetricPoint[], tags?: RunTag[]): Promise<void>;
  /** Metric points of these step runs, in the order they were recorded. */
  listMetrics(stepRunIds: string[]): Promise<MetricPoint[]>;
  /** Tags set by these step runs, in the order they were set. */
  listTags(stepRunIds: string[]): Promise<RunTag[]>;
}

/** Records of stored artifacts (small JSON values inline) and the lineage edges between step runs and them. */
export interface ArtifactRecordStore {
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
}

/** Digests of input files by (path, size, mtime, inode), so unchanged files are not read again. */
export interface StatIndexStore {
  getStat(path: string): Promise<StatEntry | undefined>;
  putStat(entry: StatEntry): Promise<void>;
}

/** Every metadata concern on one database, as the composition root opens it. */
export interface MetadataStore extends RunStore, StepRunStore, ArtifactRecordStore, StatIndexStore {
  readonly backend: string;
  close(): Promise<void>;
}
