/**
 * The queue executor: the scheduler's ready tasks go to BullMQ queues on Redis (one per pool or
 * capability), `trainyard worker`s run them, and each result comes back from the task fence in
 * the metadata database, where exactly one pickup of each dispatch commits it. QueueEvents
 * brings results and live events promptly; a poll of the fences covers whatever Redis lost.
 */
import { GroupedCalls } from "../core/grouped-calls.js";
import type { ExecutorContext } from "../engine/executor-registry.js";
import {
  decodeStepTask,
  decodeStepTaskResult,
  encodeStepTask,
  encodeStepTaskResult,
  type Executor,
  type StepTask,
  type StepTaskEvent,
  type StepTaskResult,
} from "../engine/step-task.js";
import type { OpenFence, TaskFence, TaskFenceStore } from "../store/task-fence.js";
import { taskFenceFor } from "../store/task-fence-for.js";
import { openQueue, openQueueEvents, type StepQueue, type StepQueueEvents } from "./queue-backend.js";
import { bullPriority, bullQueueName, jobIdFor, queueOptions, type QueueOptions } from "./queue-options.js";
import { lostTaskResult, type ProgressBatch, type TaskJobData } from "./task-job.js";

interface Pending {
  task: StepTask;
  jobId: string;
  queue: string;
  onEvent: (event: StepTaskEvent) => void;
  resolve(result: StepTaskResult): void;
  /** When the job's state in Redis was last checked (the poll re-adds a job Redis lost). */
  checkedAt: number;
}

/** How often uncommitted tasks are looked up in the fence, and lost jobs in Redis. */
const POLL_MS = 1000;
const JOB_CHECK_MS = 3000;

export class QueueExecutor implements Executor {
  /** Workers fetch and verify a task's inputs themselves (task-worker.ts). */
  readonly fetchesInputs = true;
  readonly name = "queue";
  readonly capacity: number;
  private readonly queues = new Map<string, Promise<{ queue: StepQueue; events: StepQueueEvents }>>();
  private readonly pending = new Map<string, Pending>();
  private readonly byStepRun = new Map<string, Pending>();
  private poll?: NodeJS.Timeout;
  private polling = false;
  /** Steps that became ready together are dispatched with one fence statement and one bulk add per queue. */
  private readonly fenceOpens = new GroupedCalls<OpenFence, void>(async (fences) => {
    await this.fences.openMany(fences, Date.now());
    return fences.map(() => undefined);
  });
  private readonly jobAdds = new GroupedCalls<{ task: StepTask; jobId: string }, void>(async (jobs) => {
    await this.addJobs(jobs);
    return jobs.map(() => undefined);
  });

  private constructor(
    private readonly opts: QueueOptions,
    private readonly fences: TaskFenceStore,
    private readonly runId: string,
    /** The run's fences when this executor started: a resumed run reattaches to them. */
    private readonly earlier: Map<string, TaskFence>,
  ) {
    this.capacity = opts.capacity;
  }

  static async create(ctx: ExecutorContext): Promise<QueueExecutor> {
    const opts = queueOptions(ctx.spec);
    const fences = await taskFenceFor(ctx.env.metadata);
    // One read per run rather than one per task: a new run has none.
    const earlier = new Map((await fences.listRun(ctx.run.runId)).map((f) => [f.stepRunId, f]));
    return new QueueExecutor(opts, fences, ctx.run.runId, earlier);
  }

  /** The queue holds what workers cannot take yet; an exclusive step still waits for an idle run. */
  hasRoom(task?: StepTask): boolean {
    if (task?.exclusive) return this.pending.size === 0;
    return this.pending.size < this.capacity;
  }

  async submit(task: StepTask, onEvent: (event: StepTaskEvent) => void): Promise<StepTaskResult> {
    // Read again: the worker may have committed since the run's fences were listed.
    const earlier = this.earlier.has(task.stepRunId) ? await this.fences.get(task.stepRunId) : undefined;
    this.earlier.delete(task.stepRunId);
    const reattach = earlier && sameWork(earlier, task) ? earlier : undefined;
    // Committed while no orchestrator was listening (it was killed): the result stands.
    if (reattach?.state === "committed" && reattach.result) {
      const result = decodeStepTaskResult(reattach.result);
      if (result.status === "succeeded" || result.status === "rejected") return result;
    }
    const current = reattach && reattach.state !== "committed" ? reattach : undefined;
    const dispatched = current ? decodeStepTask(current.task) : task;
    const jobId = current?.jobId ?? jobIdFor(task.stepRunId, task.attemptId);
    if (!current) {
      const fence = { jobId, queue: task.queue, task: encodeStepTask(task) };
      await this.fenceOpens.call({ stepRunId: task.stepRunId, runId: task.runId, attemptId: task.attemptId, ...fence });
    }
    const result = new Promise<StepTaskResult>((resolve) => {
      const entry: Pending = { task: dispatched, jobId, queue: task.queue, onEvent, resolve, checkedAt: Date.now() };
      this.pending.set(jobId, entry);
      this.byStepRun.set(task.stepRunId, entry);
    });
    await this.jobAdds.call({ task: dispatched, jobId });
    this.startPolling();
    return result;
  }

  cancel(stepRunId: string, reason: string): void {
    const entry = this.byStepRun.get(stepRunId);
    if (!entry) return;
    const result: StepTaskResult = { status: "cancelled", attemptId: entry.task.attemptId, attempts: 0, reason };
    // The worker holding it sees its heartbeat refused and stops the step's process tree.
    void this.fences
      .settle(stepRunId, entry.task.attemptId, encodeStepTaskResult(result), Date.now())
      .then(async (settled) => {
        if (settled) {
          this.settle(entry.jobId, result);
          const { queue } = await this.queueOf(entry.queue);
          await (await queue.getJob(entry.jobId))?.remove().catch(() => undefined);
        } else await this.readFence(entry);
      })
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.poll);
    const opened = await Promise.all([...this.queues.values()].map((q) => q.catch(() => undefined)));
    await Promise.all(opened.map(async (q) => Promise.all([q?.events.close(), q?.queue.close()])));
    await this.fences.close();
  }

  private async enqueue(task: StepTask, jobId: string): Promise<void> {
    await this.addJobs([{ task, jobId }]);
  }

  /** One bulk add per queue. The same job id twice is one job: re-adding never duplicates a task. */
  private async addJobs(jobs: Array<{ task: StepTask; jobId: string }>): Promise<void> {
    const byQueue = new Map<string, typeof jobs>();
    for (const job of jobs) {
      const group = byQueue.get(job.task.queue);
      if (group) group.push(job);
      else byQueue.set(job.task.queue, [job]);
    }
    for (const [name, group] of byQueue) {
      const { queue } = await this.queueOf(name);
      await queue.addBulk(
        group.map(({ task, jobId }) => ({
          name: task.stepId,
          data: { task: encodeStepTask(task) } satisfies TaskJobData,
          opts: {
            jobId,
            priority: bullPriority(task.priority),
            attempts: 1,
            removeOnComplete: { age: 3600, count: 10_000 },
            removeOnFail: { age: 24 * 3600 },
          },
        })),
      );
    }
  }

  private queueOf(name: string): Promise<{ queue: StepQueue; events: StepQueueEvents }> {
    let opened = this.queues.get(name);
    if (!opened) {
      opened = this.openQueue(name);
      this.queues.set(name, opened);
    }
    return opened;
  }

  private async openQueue(name: string): Promise<{ queue: StepQueue; events: StepQueueEvents }> {
    const queueName = bullQueueName(name);
    const queue = openQueue(queueName, this.opts);
    const events = openQueueEvents(queueName, this.opts);
    queue.on("error", () => undefined); // a Redis restart: the connection retries, the poll catches up
    events.on("error", () => undefined);
    events.on("completed", ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue));
    events.on("failed", ({ jobId, failedReason }) => void this.onFailed(jobId, failedReason));
    events.on("progress", ({ jobId, data }) => this.onProgress(jobId, data));
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return { queue, events };
  }

  private onCompleted(jobId: string, returnvalue: unknown): void {
    const entry = this.pending.get(jobId);
    if (!entry) return;
    const text = typeof returnvalue === "string" ? returnvalue : JSON.stringify(returnvalue);
    try {
      const result = decodeStepTaskResult(text);
      if (typeof result.status === "string") return this.settle(jobId, result);
    } catch {
      // not a result (a superseded pickup's note): the fence decides
    }
    void this.readFence(entry);
  }

  /** BullMQ gave the job up (stalled more than once: its workers died); the fence records it as failed. */
  private async onFailed(jobId: string, reason: string): Promise<void> {
    const entry = this.pending.get(jobId);
    if (!entry) return;
    const fence = await this.fences.get(entry.task.stepRunId).catch(() => undefined);
    const lost = lostTaskResult(entry.task, reason, fence?.worker);
    const settled = await this.fences
      .settle(entry.task.stepRunId, entry.task.attemptId, encodeStepTaskResult(lost), Date.now())
      .catch(() => false);
    if (settled) this.settle(jobId, lost);
    else await this.readFence(entry);
  }

  private onProgress(jobId: string, data: unknown): void {
    const entry = this.pending.get(jobId);
    const batch = data as ProgressBatch | undefined;
    if (!entry || !batch || !Array.isArray(batch.events)) return;
    for (const event of batch.events) entry.onEvent(event);
  }

  private async readFence(entry: Pending): Promise<void> {
    const fence = await this.fences.get(entry.task.stepRunId).catch(() => undefined);
    if (fence?.state === "committed" && fence.attemptId === entry.task.attemptId && fence.result)
      this.settle(entry.jobId, decodeStepTaskResult(fence.result));
  }

  private settle(jobId: string, result: StepTaskResult): void {
    const entry = this.pending.get(jobId);
    if (!entry) return;
    this.pending.delete(jobId);
    if (this.byStepRun.get(entry.task.stepRunId) === entry) this.byStepRun.delete(entry.task.stepRunId);
    entry.resolve(result);
  }

  private startPolling(): void {
    this.poll ??= setInterval(() => void this.pollOnce(), POLL_MS);
    this.poll.unref();
  }

  /** Results whose event was missed (Redis restarted), and jobs Redis lost, which are added again. */
  private async pollOnce(): Promise<void> {
    if (this.polling || this.pending.size === 0) return;
    this.polling = true;
    try {
      const fences = new Map((await this.fences.listRun(this.runId)).map((f) => [f.jobId, f]));
      const now = Date.now();
      for (const entry of [...this.pending.values()]) {
        const fence = fences.get(entry.jobId);
        if (fence?.state === "committed" && fence.result) {
          this.settle(entry.jobId, decodeStepTaskResult(fence.result));
          continue;
        }
        if (now - entry.checkedAt < JOB_CHECK_MS) continue;
        entry.checkedAt = now;
        const { queue } = await this.queueOf(entry.queue);
        const state = await queue.getJobState(entry.jobId);
        if (state === "unknown") await this.enqueue(entry.task, entry.jobId);
        else if (state === "failed") {
          const job = await queue.getJob(entry.jobId);
          await this.onFailed(entry.jobId, job?.failedReason ?? "the queue gave the task up");
        }
      }
    } catch {
      // Redis or the database is away for a moment: the next poll tries again.
    } finally {
      this.polling = false;
    }
  }
}

/** An earlier dispatch may be reattached only when it computes the same thing (same step run and key). */
function sameWork(fence: TaskFence, task: StepTask): boolean {
  try {
    const earlier = decodeStepTask(fence.task);
    return earlier.stepRunId === task.stepRunId && earlier.cacheKey === task.cacheKey && earlier.runId === task.runId;
  } catch {
    return false;
  }
}
