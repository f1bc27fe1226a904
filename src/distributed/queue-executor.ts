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
  type StepInputRef,
  type StepTask,
  type StepTaskEvent,
  type StepTaskResult,
} from "../engine/step-task.js";
import type { ArtifactIO } from "../engine/artifact-io.js";
import type { TaskFence, TaskFenceStore } from "../store/task-fence.js";
import { taskFenceFor } from "../store/task-fence-for.js";
import {
  addStepJobs,
  completedJobRetention,
  openQueue,
  openQueueEvents,
  type StepQueue,
  type StepQueueEvents,
} from "./queue-backend.js";
import { bullPriority, bullQueueName, jobIdFor, queueOptions, type QueueOptions } from "./queue-options.js";
import { batchJobId, JOBS_PER_SLOT, planBatches, TaskDurations } from "./task-batches.js";
import { WorkerSlots } from "./worker-slots.js";
import {
  type BatchJobResult,
  type BatchProgress,
  lostTaskResult,
  type ProgressBatch,
  type TaskJobData,
} from "./task-job.js";

interface Pending {
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

/** Small inputs travel inside the task: the worker skips a metadata read per input. */
function encodedTask(entry: Pending, io: ArtifactIO): string {
  if (entry.encoded !== undefined) return entry.encoded;
  const { task } = entry;
  const withBytes = (ref: StepInputRef): StepInputRef => {
    const bytes = ref.inline === undefined ? io.smallManifest(ref.digest) : undefined;
    return bytes ? { ...ref, inline: Buffer.from(bytes).toString("base64") } : ref;
  };
  const inputs = Object.fromEntries(Object.entries(task.inputs).map(([name, ref]) => [name, withBytes(ref)]));
  entry.encoded = encodeStepTask({ ...task, inputs, over: task.over && withBytes(task.over) });
  return entry.encoded;
}

/** A task to hand to the queue: new (its fence is opened), or reattached to its earlier dispatch's job. */
interface Dispatch {
  entry: Pending;
  reattached: boolean;
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
  /** Submitted tasks without a result yet, by step run. */
  private readonly pending = new Map<string, Pending>();
  /** The same, by the job carrying them (a batch's job carries several). */
  private readonly jobs = new Map<string, Set<Pending>>();
  private poll?: NodeJS.Timeout;
  private readonly slots = new WorkerSlots();
  private polling = false;
  /** Steps that became ready together are dispatched with one fence statement and one bulk add per queue. */
  private readonly dispatches = new GroupedCalls<Dispatch, void>(async (group) => {
    await this.dispatch(group);
    return group.map(() => undefined);
  });

  private constructor(
    private readonly opts: QueueOptions,
    private readonly fences: TaskFenceStore,
    /** The run's fences when this executor started: a resumed run reattaches to them. */
    private readonly earlier: Map<string, TaskFence>,
    private readonly durations: TaskDurations,
    /** The run's concurrency: steps it may run at once, whatever the workers have. */
    private readonly concurrency: number,
    private readonly io: ArtifactIO,
  ) {
    this.capacity = opts.capacity;
  }

  static async create(ctx: ExecutorContext): Promise<QueueExecutor> {
    const opts = queueOptions(ctx.spec);
    const fences = await taskFenceFor(ctx.env.metadata);
    // One read per run rather than one per task: a new run has none.
    const [listed, recorded] = await Promise.all([
      fences.listRun(ctx.run.runId),
      ctx.env.metadata.stepDurations(ctx.run.pipeline),
    ]);
    const earlier = new Map(listed.map((f) => [f.stepRunId, f]));
    return new QueueExecutor(
      opts,
      fences,
      earlier,
      new TaskDurations(recorded),
      Math.max(1, ctx.concurrency),
      ctx.env.io,
    );
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
    let entry!: Pending;
    const result = new Promise<StepTaskResult>((resolve) => {
      entry = { task: dispatched, jobId, queue: task.queue, onEvent, resolve, checkedAt: Date.now() };
      this.pending.set(task.stepRunId, entry);
    });
    try {
      await this.dispatches.call({ entry, reattached: !!current });
    } catch (err) {
      this.forget(entry);
      throw err;
    }
    this.startPolling();
    return result;
  }

  cancel(stepRunId: string, reason: string): void {
    const entry = this.pending.get(stepRunId);
    if (!entry) return;
    const result: StepTaskResult = { status: "cancelled", attemptId: entry.task.attemptId, attempts: 0, reason };
    // The worker holding it sees its heartbeat refused and stops the step's process tree.
    void this.fences
      .settle(stepRunId, entry.task.attemptId, encodeStepTaskResult(result), Date.now())
      .then(async (settled) => {
        if (!settled) return this.readFence(entry);
        this.settle(entry, result);
        // A batch's job stays while another of its tasks is still to run.
        if (this.jobs.has(entry.jobId)) return;
        const { queue } = await this.queueOf(entry.queue);
        await (await queue.getJob(entry.jobId))?.remove().catch(() => undefined);
      })
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.poll);
    const opened = await Promise.all([...this.queues.values()].map((q) => q.catch(() => undefined)));
    await Promise.all(opened.map(async (q) => Promise.all([q?.events.close(), q?.queue.close()])));
    await this.fences.close();
  }

  /**
   * Hands a group of tasks to the queue: tasks known to be short share jobs (task-batches.ts),
   * their fences name the job, then one bulk add per queue. A reattached task goes back to its job.
   */
  private async dispatch(group: Dispatch[]): Promise<void> {
    const reattached = new Map<string, Pending[]>();
    for (const { entry } of group.filter((d) => d.reattached)) {
      const job = reattached.get(entry.jobId);
      if (job) job.push(entry);
      else reattached.set(entry.jobId, [entry]);
    }
    const fresh = group.filter((d) => !d.reattached).map((d) => d.entry);
    const jobsFree = (await this.slotsFor(fresh)) * JOBS_PER_SLOT - this.jobs.size;
    const planned = planBatches(fresh, (task) => this.durations.isShort(task), jobsFree);
    for (const job of planned) {
      if (job.length === 1) continue;
      const batchId = batchJobId(job[0].jobId);
      for (const entry of job) entry.jobId = batchId;
    }
    await this.fences.openMany(
      fresh.map((entry) => {
        const { stepRunId, runId, attemptId, queue } = entry.task;
        return { stepRunId, runId, attemptId, jobId: entry.jobId, queue, task: encodedTask(entry, this.io) };
      }),
      Date.now(),
    );
    const jobs = [...reattached.values(), ...planned];
    for (const job of jobs) for (const entry of job) this.track(entry);
    await this.addJobs(jobs);
  }

  /**
   * Steps that can run at once: the slots of the workers on these tasks' queues (as they list
   * themselves), within the run's concurrency; the run's concurrency while no worker is listed.
   */
  private async slotsFor(entries: Pending[]): Promise<number> {
    let slots = 0;
    for (const name of new Set(entries.map((e) => e.queue)))
      slots += await this.slots.on(name, (await this.queueOf(name)).queue);
    return slots ? Math.min(slots, this.concurrency) : this.concurrency;
  }

  private track(entry: Pending): void {
    const job = this.jobs.get(entry.jobId);
    if (job) job.add(entry);
    else this.jobs.set(entry.jobId, new Set([entry]));
  }

  /** One bulk add per queue. The same job id twice is one job: re-adding never duplicates a task. */
  private async addJobs(jobs: Pending[][]): Promise<void> {
    const byQueue = new Map<string, Pending[][]>();
    for (const job of jobs) {
      const group = byQueue.get(job[0].queue);
      if (group) group.push(job);
      else byQueue.set(job[0].queue, [job]);
    }
    for (const [name, group] of byQueue) {
      const { queue } = await this.queueOf(name);
      await addStepJobs(
        queue,
        group.map((job) => ({
          name: job.length === 1 ? job[0].task.stepId : `${job[0].task.stepId} and ${job.length - 1} more`,
          data: (job[0].jobId.startsWith("batch~")
            ? { tasks: job.map((entry) => encodedTask(entry, this.io)) }
            : { task: encodedTask(job[0], this.io) }) satisfies TaskJobData,
          opts: {
            jobId: job[0].jobId,
            priority: bullPriority(Math.max(...job.map((e) => e.task.priority))),
            attempts: 1,
            removeOnComplete: completedJobRetention(this.opts),
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
    const entries = this.jobs.get(jobId);
    if (!entries) return;
    const text = typeof returnvalue === "string" ? returnvalue : JSON.stringify(returnvalue);
    const batch = jobId.startsWith("batch~") ? parseJson<BatchJobResult>(text)?.results : undefined;
    for (const entry of [...entries]) {
      const encoded = batch ? batch[entry.task.stepRunId] : text;
      // Not a result (a superseded pickup's note): the fence decides.
      if (!this.settleEncoded(entry, encoded)) void this.readFence(entry);
    }
  }

  /** BullMQ gave the job up (stalled more than once: its workers died); the fence records its tasks as failed. */
  private async onFailed(jobId: string, reason: string): Promise<void> {
    for (const entry of [...(this.jobs.get(jobId) ?? [])]) {
      const fence = await this.fences.get(entry.task.stepRunId).catch(() => undefined);
      const lost = lostTaskResult(entry.task, reason, fence?.worker);
      const settled = await this.fences
        .settle(entry.task.stepRunId, entry.task.attemptId, encodeStepTaskResult(lost), Date.now())
        .catch(() => false);
      if (settled) this.settle(entry, lost);
      else await this.readFence(entry);
    }
  }

  private onProgress(jobId: string, data: unknown): void {
    const entries = this.jobs.get(jobId);
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
  private settleEncoded(entry: Pending, encoded: string | undefined): boolean {
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

  private async readFence(entry: Pending): Promise<void> {
    const fence = await this.fences.get(entry.task.stepRunId).catch(() => undefined);
    if (fence?.state === "committed" && fence.attemptId === entry.task.attemptId && fence.result)
      this.settle(entry, decodeStepTaskResult(fence.result));
  }

  private settle(entry: Pending, result: StepTaskResult): void {
    if (this.pending.get(entry.task.stepRunId) !== entry) return;
    this.forget(entry);
    // Its run time on the worker (both ends on the worker's clock), else its start there to its result here.
    if (result.status === "succeeded" && result.startedAt)
      this.durations.observe(entry.task.stepId, (result.finishedAt ?? Date.now()) - result.startedAt);
    entry.resolve(result);
  }

  private forget(entry: Pending): void {
    if (this.pending.get(entry.task.stepRunId) === entry) this.pending.delete(entry.task.stepRunId);
    const job = this.jobs.get(entry.jobId);
    job?.delete(entry);
    if (job?.size === 0) this.jobs.delete(entry.jobId);
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
      // Only the tasks still waiting are read, not every fence of the run with its task and result.
      for (const fence of await this.fences.committedAmong([...this.pending.keys()])) {
        const entry = this.pending.get(fence.stepRunId);
        if (entry && fence.attemptId === entry.task.attemptId && fence.result)
          this.settle(entry, decodeStepTaskResult(fence.result));
      }
      const now = Date.now();
      for (const [jobId, entries] of [...this.jobs]) {
        const first = entries.values().next().value;
        if (!first || now - first.checkedAt < JOB_CHECK_MS) continue;
        for (const entry of entries) entry.checkedAt = now;
        const { queue } = await this.queueOf(first.queue);
        const state = await queue.getJobState(jobId);
        // A lost batch comes back with the tasks still waiting for a result, under the same job id.
        if (state === "unknown") await this.addJobs([[...entries]]);
        else if (state === "failed") {
          const job = await queue.getJob(jobId);
          await this.onFailed(jobId, job?.failedReason ?? "the queue gave the task up");
        }
      }
    } catch {
      // Redis or the database is away for a moment: the next poll tries again.
    } finally {
      this.polling = false;
    }
  }
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
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
