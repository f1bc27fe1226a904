/**
 * The queue executor: the scheduler's ready tasks go to BullMQ queues on Redis (one per pool or
 * capability), `trainyard worker`s run them, and each result comes back from the task fence in
 * the metadata database, where exactly one pickup of each dispatch commits it. QueueEvents
 * brings results and live events promptly; a poll of the fences covers whatever Redis lost.
 * The parts: job-handover.ts hands tasks over, pending-tasks.ts settles their results,
 * queue-recovery.ts reattaches a resumed run and polls the fences, step-queues.ts opens the queues.
 */
import { TrainyardError } from "../core/errors.js";
import type { ArtifactIO } from "../engine/artifact-io.js";
import type { ExecutorContext } from "../engine/executor-registry.js";
import {
  decodeStepTask,
  encodeStepTaskResult,
  type Executor,
  type StepTask,
  type StepTaskEvent,
  type StepTaskResult,
} from "../engine/step-task.js";
import { afterRecordedAttempts } from "../engine/task-handover.js";
import type { MetadataStore } from "../store/metadata-store.js";
import type { TaskFence, TaskFenceStore } from "../store/task-fence.js";
import { taskFenceFor } from "../store/task-fence-for.js";
import { JobHandover } from "./job-handover.js";
import { type PendingTask, PendingTasks } from "./pending-tasks.js";
import { jobIdFor, queueOptions, type QueueOptions, queueStoreLabel } from "./queue-options.js";
import { earlierDispatch, FencePoll } from "./queue-recovery.js";
import { StepQueues } from "./step-queues.js";
import { TaskDurations } from "./task-batches.js";

export class QueueExecutor implements Executor {
  /** Workers fetch and verify a task's inputs themselves (task-worker.ts). */
  readonly fetchesInputs = true;
  readonly name = "queue";
  readonly capacity: number;
  /** Submitted tasks without a result yet, by step run and by job. */
  private readonly pending: PendingTasks;
  private readonly queues: StepQueues;
  private readonly handover: JobHandover;
  private readonly poll: FencePoll;

  private constructor(
    opts: QueueOptions,
    private readonly fences: TaskFenceStore,
    /** The run's fences when this executor started: a resumed run reattaches to them. */
    private readonly earlier: Map<string, TaskFence>,
    durations: TaskDurations,
    /** The run's concurrency, and the one it was given (--concurrency, the config) if any. */
    concurrency: { run: number; chosen?: number },
    io: ArtifactIO,
    private readonly metadata: Pick<MetadataStore, "listAttempts">,
  ) {
    this.capacity = opts.capacity;
    this.pending = new PendingTasks(fences, durations);
    this.queues = new StepQueues(opts, this.pending);
    this.handover = new JobHandover(this.pending, this.queues, fences, durations, concurrency, io);
    this.poll = new FencePoll(this.pending, fences, this.queues, this.handover);
    this.pending.resend = async (jobId, entries) => {
      // The given-up job keeps its id until removed; the same id then carries the same tasks again.
      await (await this.queues.of(entries[0].queue)).queue.remove(jobId);
      await this.handover.addJobs([entries]);
    };
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
      {
        run: Math.max(1, ctx.concurrency),
        chosen: ctx.chosenConcurrency === undefined ? undefined : Math.max(1, ctx.chosenConcurrency),
      },
      ctx.env.io,
      ctx.env.metadata,
    );
  }

  /** The queue holds what workers cannot take yet; an exclusive step still waits for an idle run. */
  hasRoom(task?: StepTask): boolean {
    if (task?.exclusive) return this.pending.size === 0;
    return this.pending.size < this.capacity;
  }

  async submit(task: StepTask, onEvent: (event: StepTaskEvent) => void): Promise<StepTaskResult> {
    // Read again: the worker may have committed since the run's fences were listed.
    const fence = this.earlier.has(task.stepRunId) ? await this.fences.get(task.stepRunId) : undefined;
    this.earlier.delete(task.stepRunId);
    const { result: committed, current } = earlierDispatch(fence, task);
    if (committed) return committed;
    // An earlier dispatch not reattached to (it computes something else, or it failed) may have started
    // attempts the step run's record does not count: it may even run still, until its heartbeat is refused.
    const dispatched = current
      ? decodeStepTask(current.task)
      : fence
        ? await afterRecordedAttempts(this.metadata, task)
        : task;
    const jobId = current?.jobId ?? jobIdFor(task.stepRunId, task.attemptId);
    let entry!: PendingTask;
    const result = new Promise<StepTaskResult>((resolve) => {
      entry = { task: dispatched, jobId, queue: task.queue, onEvent, resolve, checkedAt: Date.now() };
      this.pending.add(entry);
    });
    try {
      await this.handover.hand({ entry, reattached: !!current });
    } catch (err) {
      this.pending.forget(entry);
      throw handoverError(err, task, this.queues.opts);
    }
    this.poll.start();
    return result;
  }

  cancel(stepRunId: string, reason: string): void {
    const entry = this.pending.byStepRun.get(stepRunId);
    if (!entry) return;
    const result: StepTaskResult = { status: "cancelled", attemptId: entry.task.attemptId, attempts: 0, reason };
    // The worker holding it sees its heartbeat refused and stops the step's process tree.
    void this.fences
      .settle(stepRunId, entry.task.attemptId, encodeStepTaskResult(result), Date.now())
      .then(async (settled) => {
        if (!settled) return this.pending.readFence(entry);
        this.pending.settle(entry, result);
        // A batch's job stays while another of its tasks is still to run.
        if (this.pending.byJob.has(entry.jobId)) return;
        const { queue } = await this.queues.of(entry.queue);
        await (await queue.getJob(entry.jobId))?.remove().catch(() => undefined);
      })
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    this.poll.stop();
    await this.queues.close();
    await this.fences.close();
  }
}

/**
 * A hand-over the queue store refused, as the step's error: which step, which store, and what to do.
 * The step's fence stays open, so `trainyard resume` hands it over again under the same job id.
 * Before, a full Redis failed the step with its bare reply, as though the step's own code had.
 */
export function handoverError(err: unknown, task: StepTask, opts: QueueOptions): unknown {
  if (err instanceof TrainyardError) return err;
  const message = (err as Error)?.message ?? String(err);
  const where = `the queue store at ${queueStoreLabel(opts)}`;
  const fields = { step: task.stepId, runId: task.runId, field: "executor" };
  if (/^OOM command not allowed/.test(message))
    return new TrainyardError(
      "QUEUE_FULL",
      `step "${task.stepId}" was not handed to queue "${task.queue}": ${where} is out of memory (${message})`,
      { cause: err, ...fields },
    );
  return new TrainyardError(
    "QUEUE_UNAVAILABLE",
    `step "${task.stepId}" was not handed to queue "${task.queue}": ${where} refused it (${message})`,
    { cause: err, hint: "once the queue store is back, `trainyard resume <run>` hands over the steps left", ...fields },
  );
}
