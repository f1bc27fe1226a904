/**
 * Batches metadata writes made while a run executes into one transaction per window: thousands
 * of short steps cost a handful of commits, a crash loses at most that window (resume re-runs
 * those steps), and every record is still committed before the process can go idle.
 *
 * Each commit first makes the artifacts it refers to durable (a syncfs); the window is short by
 * default and after a costly step, long while steps complete in bursts (docs/performance.md).
 */
import { crashPoint } from "../core/crash-point.js";
import type {
  ArtifactRecord,
  AttemptRecord,
  LogLine,
  MetricPoint,
  RunTag,
  StepRunCompletion,
} from "../store/metadata-store.js";
import type { RecordBatch, StepRunRecord } from "../store/metadata-store.js";

/**
 * Where batches go: a metadata store, or a store that commits something else in the same statement
 * (a worker's fence commits): `riders` are what `ride` queued before the batch was taken.
 */
export interface RecordSink {
  writeBatch(batch: RecordBatch, riders?: object[]): Promise<void>;
}

const SHORT_WINDOW_MS = 25;
const LONG_WINDOW_MS = 250;
/** A window that committed this many step completions means steps are completing in a burst. */
const BUSY_COMPLETIONS = 8;
/** A step that ran this long is committed within the short window even in a burst. */
const COSTLY_STEP_MS = 1000;

export class RecordWriter {
  private saves: StepRunRecord[] = [];
  private attempts: AttemptRecord[] = [];
  private logs: Array<{ stepRunId: string; attempt: number; lines: LogLine[] }> = [];
  private completions: StepRunCompletion[] = [];
  private metrics: MetricPoint[] = [];
  private tags: RunTag[] = [];
  private artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }> = [];
  private riders: object[] = [];
  /** When the pending commit is due (0: none pending). */
  private due = 0;
  private timer?: NodeJS.Timeout;
  /** The last commit was a burst of completions: batch longer (see the header). */
  private busy = false;
  private flushing: Promise<void> = Promise.resolve();
  /** A write queued behind the current one and not started yet: flushes meanwhile share it. */
  private queued?: Promise<void>;
  private failure?: unknown;

  /** `beforeCommit` runs before each commit: the artifact store's sync, so records never outrun content. */
  constructor(
    private readonly metadata: RecordSink,
    private readonly beforeCommit?: () => Promise<void>,
  ) {}

  saveStepRun(record: StepRunRecord): void {
    this.saves.push({ ...record });
    this.schedule();
  }

  saveAttempt(record: AttemptRecord): void {
    this.attempts.push({ ...record });
    this.schedule();
  }

  appendLogs(stepRunId: string, attempt: number, lines: LogLine[]): void {
    if (!lines.length) return;
    this.logs.push({ stepRunId, attempt, lines });
    this.schedule();
  }

  /** Metrics and tags go out with the next window's commit: visible while their step still runs. */
  appendMetrics(points: MetricPoint[], tags: RunTag[] = []): void {
    if (!points.length && !tags.length) return;
    this.metrics.push(...points);
    this.tags.push(...tags);
    this.schedule();
  }

  /** Artifact records outside a completion (a worker's inline outputs): they commit with the next window. */
  putArtifacts(artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>): void {
    if (!artifacts.length) return;
    this.artifacts.push(...artifacts);
    this.schedule();
  }

  complete(completion: StepRunCompletion): void {
    this.completions.push({ ...completion, stepRun: { ...completion.stepRun } });
    this.schedule((completion.stepRun.durationMs ?? 0) >= COSTLY_STEP_MS);
  }

  /**
   * Hands `rider` to the sink with the next batch taken, which holds everything recorded before this
   * call, and waits for that write; its outcome is the sink's to report (through the rider).
   */
  async ride(rider: object): Promise<void> {
    this.riders.push(rider);
    clearTimeout(this.timer);
    this.due = 0;
    await this.queueWrite();
  }

  /** Waits until everything queued so far is committed; rethrows a failed write. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.due = 0;
    await this.queueWrite();
    if (this.failure) throw this.failure;
  }

  /** The next write takes everything recorded before it starts, so concurrent flushes cost one commit. */
  private queueWrite(): Promise<void> {
    if (!this.queued) {
      const next = this.flushing.then(() => {
        this.queued = undefined;
        return this.write();
      });
      this.queued = next;
      this.flushing = next;
    }
    return this.queued;
  }

  private schedule(urgent = false): void {
    const wait = urgent || !this.busy ? SHORT_WINDOW_MS : LONG_WINDOW_MS;
    const due = Date.now() + wait;
    if (this.due && this.due <= due) return;
    clearTimeout(this.timer);
    this.due = due;
    this.timer = setTimeout(() => {
      this.due = 0;
      void this.queueWrite();
    }, wait);
  }

  private async write(): Promise<void> {
    const completions = this.completions;
    this.busy = completions.length >= BUSY_COMPLETIONS;
    // Within one window only a record's last state is written: a step that started and finished
    // in it costs one row per record, not one per change.
    const completed = new Set(completions.map((c) => c.stepRun.id));
    const saves = this.saves.filter((r) => !completed.has(r.id));
    const attempts = [...new Map(this.attempts.map((a) => [`${a.stepRunId}\u0000${a.attempt}`, a])).values()];
    const logs = this.logs;
    const metrics = this.metrics;
    const tags = this.tags;
    const artifacts = this.artifacts;
    const riders = this.riders;
    this.saves = [];
    this.attempts = [];
    this.logs = [];
    this.completions = [];
    this.metrics = [];
    this.tags = [];
    this.artifacts = [];
    this.riders = [];
    try {
      const rows =
        saves.length +
        attempts.length +
        logs.length +
        completions.length +
        metrics.length +
        tags.length +
        artifacts.length +
        riders.length;
      if (!rows) return;
      const batch = { stepRuns: saves, attempts, logs, completions, metrics, tags, artifacts };
      // Records never outrun content: the artifacts they refer to are made durable first, then the
      // batch commits in one transaction that holds no lock across an await.
      await this.beforeCommit?.();
      crashPoint("before-record-commit");
      await (riders.length ? this.metadata.writeBatch(batch, riders) : this.metadata.writeBatch(batch));
      crashPoint("after-record-commit");
    } catch (err) {
      this.failure ??= err;
    }
  }
}
