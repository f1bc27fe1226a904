/**
 * Batches metadata writes made while a run executes into one transaction per few milliseconds
 * (COMMIT_WINDOW_MS): thousands of short steps cost a handful of commits, a crash loses at most
 * that window (resume re-runs those steps), and every record is still committed before the
 * process can go idle.
 */
import type { AttemptRecord, LogLine, MetadataStore, StepRunCompletion, StepRunRecord } from "../store/metadata-store.js";

/** One commit per window; per event-loop turn, short command steps each paid their own commit. */
const COMMIT_WINDOW_MS = 25;

export class RecordWriter {
  private saves: StepRunRecord[] = [];
  private attempts: AttemptRecord[] = [];
  private logs: Array<{ stepRunId: string; attempt: number; lines: LogLine[] }> = [];
  private completions: StepRunCompletion[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private failure?: unknown;

  /** `beforeCommit` runs before each commit: the artifact store's sync, so records never outrun content. */
  constructor(
    private readonly metadata: MetadataStore,
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

  complete(completion: StepRunCompletion): void {
    this.completions.push({ ...completion, stepRun: { ...completion.stepRun } });
    this.schedule();
  }

  /** Waits until everything queued so far is committed; rethrows a failed write. */
  async flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    await this.flushing;
    if (this.failure) throw this.failure;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      this.flushing = this.flushing.then(() => this.write());
    }, COMMIT_WINDOW_MS);
  }

  private async write(): Promise<void> {
    const completions = this.completions;
    // Within one window only a record's last state is written: a step that started and finished
    // in it costs one row per record, not one per change.
    const completed = new Set(completions.map((c) => c.stepRun.id));
    const saves = this.saves.filter((r) => !completed.has(r.id));
    const attempts = [...new Map(this.attempts.map((a) => [`${a.stepRunId}\u0000${a.attempt}`, a])).values()];
    const logs = this.logs;
    this.saves = [];
    this.attempts = [];
    this.logs = [];
    this.completions = [];
    try {
      if (!saves.length && !attempts.length && !logs.length && !completions.length) return;
      await this.beforeCommit?.();
      if (this.metadata.writeBatch) return await this.metadata.writeBatch({ stepRuns: saves, attempts, logs, completions });
      if (saves.length) await this.metadata.saveStepRuns(saves);
      for (const a of attempts) await this.metadata.saveAttempt(a);
      for (const l of logs) await this.metadata.appendLogs(l.stepRunId, l.attempt, l.lines);
      if (completions.length) await this.metadata.completeStepRuns(completions);
    } catch (err) {
      this.failure ??= err;
    }
  }
}
