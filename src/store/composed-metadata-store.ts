/**
 * A metadata store made of its concerns: each call goes to the focused store that owns it. The
 * backends build one of these over one shared database, so callers that need every concern keep
 * a single object while the engine's modules can take only the focused interface they use.
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
import type { ArtifactRecordStore, MetadataStore, RunStore, StatIndexStore, StepRunStore } from "./metadata-store.js";
import type { MetricPoint, RunTag } from "./metric-records.js";

/** The step run store with its optional reads, which every built-in backend has. */
export type FullStepRunStore = StepRunStore & Required<Pick<StepRunStore, "listStepStates" | "hasStepRun">>;

export abstract class ComposedMetadataStore implements MetadataStore {
  abstract readonly backend: string;

  constructor(
    readonly runStore: RunStore,
    readonly stepRunStore: FullStepRunStore,
    readonly artifactRecords: ArtifactRecordStore,
    readonly statIndex: StatIndexStore,
  ) {}

  abstract close(): Promise<void>;

  upsertPipeline(name: string, modulePath: string): Promise<void> {
    return this.runStore.upsertPipeline(name, modulePath);
  }
  listPipelines(): Promise<Array<{ name: string; modulePath: string; updatedAt: number }>> {
    return this.runStore.listPipelines();
  }
  createRun(run: RunRecord): Promise<void> {
    return this.runStore.createRun(run);
  }
  updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    return this.runStore.updateRun(id, patch);
  }
  getRun(idOrPrefix: string): Promise<RunRecord | undefined> {
    return this.runStore.getRun(idOrPrefix);
  }
  listRuns(filter?: RunFilter): Promise<RunRecord[]> {
    return this.runStore.listRuns(filter);
  }
  deleteRuns(runIds: string[]): Promise<void> {
    return this.runStore.deleteRuns(runIds);
  }
  claimRunLease(lease: RunLease, replacing?: string): Promise<RunLease> {
    return this.runStore.claimRunLease(lease, replacing);
  }
  getRunLease(runId: string): Promise<RunLease | undefined> {
    return this.runStore.getRunLease(runId);
  }
  renewRunLease(runId: string, token: string, now: number): Promise<boolean> {
    return this.runStore.renewRunLease(runId, token, now);
  }
  releaseRunLease(runId: string, token: string): Promise<void> {
    return this.runStore.releaseRunLease(runId, token);
  }
  markRunInterrupted(runId: string, deadToken: string, finishedAt: number): Promise<boolean> {
    return this.runStore.markRunInterrupted(runId, deadToken, finishedAt);
  }

  saveStepRuns(records: StepRunRecord[]): Promise<void> {
    return this.stepRunStore.saveStepRuns(records);
  }
  completeStepRuns(completions: StepRunCompletion[]): Promise<void> {
    return this.stepRunStore.completeStepRuns(completions);
  }
  writeBatch(batch: RecordBatch): Promise<void> {
    return this.stepRunStore.writeBatch(batch);
  }
  listStepRuns(runId: string): Promise<StepRunRecord[]> {
    return this.stepRunStore.listStepRuns(runId);
  }
  listStepStates(runIds: string[]): Promise<StepState[]> {
    return this.stepRunStore.listStepStates(runIds);
  }
  getStepRun(id: string): Promise<StepRunRecord | undefined> {
    return this.stepRunStore.getStepRun(id);
  }
  hasStepRun(id: string): Promise<boolean> {
    return this.stepRunStore.hasStepRun(id);
  }
  findByCacheKey(cacheKey: string): Promise<StepRunRecord | undefined> {
    return this.stepRunStore.findByCacheKey(cacheKey);
  }
  hasStepResults(): Promise<boolean> {
    return this.stepRunStore.hasStepResults();
  }
  previousStepRun(
    pipeline: string,
    stepId: string,
    itemIndex: number,
    beforeRunCreatedAt: number,
    excludeRunId: string,
  ): Promise<StepRunRecord | undefined> {
    return this.stepRunStore.previousStepRun(pipeline, stepId, itemIndex, beforeRunCreatedAt, excludeRunId);
  }
  stepDurations(pipeline: string): Promise<Map<string, number>> {
    return this.stepRunStore.stepDurations(pipeline);
  }
  saveAttempt(attempt: AttemptRecord): Promise<void> {
    return this.stepRunStore.saveAttempt(attempt);
  }
  listAttempts(stepRunId: string): Promise<AttemptRecord[]> {
    return this.stepRunStore.listAttempts(stepRunId);
  }
  appendLogs(stepRunId: string, attempt: number, lines: LogLine[]): Promise<void> {
    return this.stepRunStore.appendLogs(stepRunId, attempt, lines);
  }
  getLogs(stepRunId: string, attempt?: number): Promise<Array<LogLine & { attempt: number }>> {
    return this.stepRunStore.getLogs(stepRunId, attempt);
  }
  appendMetrics(points: MetricPoint[], tags?: RunTag[]): Promise<void> {
    return this.stepRunStore.appendMetrics(points, tags);
  }
  listMetrics(stepRunIds: string[]): Promise<MetricPoint[]> {
    return this.stepRunStore.listMetrics(stepRunIds);
  }
  listTags(stepRunIds: string[]): Promise<RunTag[]> {
    return this.stepRunStore.listTags(stepRunIds);
  }

  putArtifacts(artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>): Promise<void> {
    return this.artifactRecords.putArtifacts(artifacts);
  }
  getArtifact(digestOrPrefix: string): Promise<ArtifactRecord | undefined> {
    return this.artifactRecords.getArtifact(digestOrPrefix);
  }
  getInlineBytes(digest: string): Promise<Uint8Array | undefined> {
    return this.artifactRecords.getInlineBytes(digest);
  }
  listArtifacts(): Promise<ArtifactRecord[]> {
    return this.artifactRecords.listArtifacts();
  }
  deleteArtifacts(digests: string[]): Promise<void> {
    return this.artifactRecords.deleteArtifacts(digests);
  }
  lineageOf(digest: string): Promise<LineageEdge[]> {
    return this.artifactRecords.lineageOf(digest);
  }
  lineageOfStepRun(stepRunId: string): Promise<LineageEdge[]> {
    return this.artifactRecords.lineageOfStepRun(stepRunId);
  }
  digestsUsedByRuns(runIds: string[]): Promise<Set<string>> {
    return this.artifactRecords.digestsUsedByRuns(runIds);
  }
  pinnedDigests(): Promise<Set<string>> {
    return this.artifactRecords.pinnedDigests();
  }

  getStat(path: string): Promise<StatEntry | undefined> {
    return this.statIndex.getStat(path);
  }
  putStat(entry: StatEntry): Promise<void> {
    return this.statIndex.putStat(entry);
  }
}
