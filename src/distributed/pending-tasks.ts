/**
 * The queue executor's tasks awaiting a result, by step run and by the job carrying them, and how
 * each is settled: by its job's events (completed, failed, progress) or by its fence. Apart from
 * the hand-over because results arrive by several roads and only the first may settle a task.
 */
import {
  decodeStepTaskResult,
  encodeStepTaskResult,
  type StepTask,
  type StepTaskEvent,
  type StepTaskResult,
} from "../engine/step-task.js";
import type { TaskFenceStore } from "../store/task-fence.js";
import type { QueueEventListener } from "./step-queues.js";
import type { TaskDurations } from "./task-batches.js";
import { type BatchJobResult, type BatchProgress, lostTaskResult, type ProgressBatch } from "./task-job.js";

/** How many times a job that no worker took is sent again before its tasks fail as lost (see onFailed). */
const UNDELIVERED_RESENDS = 3;

export interface PendingTask {
  task: StepTask;
  /** The job carrying it: its own, or its batch's. */
  jobId: string;
  queue: string;
  onEvent: (event: StepTaskEvent) => void;
  resolve(result: StepTaskResult): void;
  /** When the job's state in Redis was last checked (the poll re-adds a job Redis lost). */
  checkedAt: number;
  /** The task as JSON, made once: its fence and its job carry the same text. */
  encoded?: string;
}

export class PendingTasks implements QueueEventListener {
  /** Submitted tasks without a result yet, by step run. */
  readonly byStepRun = new Map<string, PendingTask>();
  /** The same, by the job carrying them (a batch's job carries several). */
  readonly byJob = new Map<string, Set<PendingTask>>();

  /** Sends a job that no worker took out again (the executor's, see onFailed). */
  resend?: (jobId: string, entries: PendingTask[]) => Promise<void>;
  /** How many times each job was sent again. */
  private readonly resent = new Map<string, number>();

  constructor(
    private readonly fences: TaskFenceStore,
    private readonly durations: TaskDurations,
  ) {}

  get size(): number {
    return this.byStepRun.size;
  }

  add(entry: PendingTask): void {
    this.byStepRun.set(entry.task.stepRunId, entry);
  }

  /** Files `entry` under the job carrying it, once its job is planned. */
  track(entry: PendingTask): void {
    const job = this.byJob.get(entry.jobId);
    if (job) job.add(entry);
    else this.byJob.set(entry.jobId, new Set([entry]));
  }

  onCompleted(jobId: string, returnvalue: unknown): void {
    const entries = this.byJob.get(jobId);
    if (!entries) return;
    const text = typeof returnvalue === "string" ? returnvalue : JSON.stringify(returnvalue);
    const batch = jobId.startsWith("batch~") ? parseJson<BatchJobResult>(text) : undefined;
    for (const entry of [...entries]) {
      const id = entry.task.stepRunId;
      // A batch's last events travel with its end, ahead of the results they precede.
      for (const event of batch?.tasks?.[id] ?? []) entry.onEvent(event);
      const encoded = batch ? batch.results?.[id] : text;
      // Not a result (a superseded pickup's note, a result sent as progress that never arrived): the fence decides.
      if (!this.settleEncoded(entry, encoded)) void this.readFence(entry);
    }
  }

  /**
   * BullMQ gave the job up (stalled more than once: its workers died); the fence records its tasks as
   * failed. A job none of whose tasks any worker claimed was lost on its way to the workers, not by a
   * worker running it: a fetch whose answer was lost leaves the job taken by nobody until its lock
   * runs out, which BullMQ counts as a stall. Such a job goes out again, up to UNDELIVERED_RESENDS times.
   */
  async onFailed(jobId: string, reason: string): Promise<void> {
    const entries = [...(this.byJob.get(jobId) ?? [])];
    const fences = await Promise.all(entries.map((e) => this.fences.get(e.task.stepRunId).catch(() => undefined)));
    const resends = this.resent.get(jobId) ?? 0;
    const unclaimed = fences.every(
      (f, i) => f && f.state === "queued" && !f.claim && f.attemptId === entries[i].task.attemptId,
    );
    if (this.resend && entries.length && unclaimed && resends < UNDELIVERED_RESENDS) {
      this.resent.set(jobId, resends + 1);
      // Refused when it is no longer given up (sent again already, and taken): the poll looks again.
      await this.resend(jobId, entries).catch(() => undefined);
      return;
    }
    for (const [i, entry] of entries.entries()) {
      const fence = fences[i];
      const lost = lostTaskResult(entry.task, reason, fence?.worker);
      const settled = await this.fences
        .settle(entry.task.stepRunId, entry.task.attemptId, encodeStepTaskResult(lost), Date.now())
        .catch(() => false);
      if (settled) this.settle(entry, lost);
      else await this.readFence(entry);
    }
  }

  onProgress(jobId: string, data: unknown): void {
    const entries = this.byJob.get(jobId);
    if (!entries || !data || typeof data !== "object") return;
    if (Array.isArray((data as ProgressBatch).events)) {
      for (const entry of entries) for (const event of (data as ProgressBatch).events) entry.onEvent(event);
      return;
    }
    const batch = data as BatchProgress;
    for (const entry of [...entries]) {
      const id = entry.task.stepRunId;
      for (const event of batch.tasks?.[id] ?? []) entry.onEvent(event);
      if (batch.results?.[id] !== undefined) this.settleEncoded(entry, batch.results[id]);
    }
  }

  /** Settles `entry` with an encoded result from a worker; false when it is not one. */
  settleEncoded(entry: PendingTask, encoded: string | undefined): boolean {
    if (encoded === undefined) return false;
    try {
      const result = decodeStepTaskResult(encoded);
      if (typeof result.status !== "string" || result.attemptId !== entry.task.attemptId) return false;
      this.settle(entry, result);
      return true;
    } catch {
      return false;
    }
  }

  async readFence(entry: PendingTask): Promise<void> {
    const fence = await this.fences.get(entry.task.stepRunId).catch(() => undefined);
    if (fence?.state === "committed" && fence.attemptId === entry.task.attemptId && fence.result)
      this.settle(entry, decodeStepTaskResult(fence.result));
  }

  settle(entry: PendingTask, result: StepTaskResult): void {
    if (this.byStepRun.get(entry.task.stepRunId) !== entry) return;
    this.forget(entry);
    // Its run time on the worker (both ends on the worker's clock), else its start there to its result here.
    if (result.status === "succeeded" && result.startedAt)
      this.durations.observe(entry.task.stepId, (result.finishedAt ?? Date.now()) - result.startedAt);
    entry.resolve(result);
  }

  forget(entry: PendingTask): void {
    if (this.byStepRun.get(entry.task.stepRunId) === entry) this.byStepRun.delete(entry.task.stepRunId);
    const job = this.byJob.get(entry.jobId);
    job?.delete(entry);
    if (job?.size === 0) this.byJob.delete(entry.jobId);
  }
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
