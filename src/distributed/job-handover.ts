/**
 * Hands tasks to the queue: steps that became ready together get their fences opened in one
 * statement, short ones share jobs (task-batches.ts), then one bulk add per queue. Apart from the
 * executor because it alone decides what a job carries; the poll re-adds lost jobs through it.
 */
import { GroupedCalls } from "../core/grouped-calls.js";
import type { ArtifactIO } from "../engine/artifact-io.js";
import { encodeStepTask, type StepInputRef } from "../engine/step-task.js";
import type { TaskFenceStore } from "../store/task-fence.js";
import type { PendingTask, PendingTasks } from "./pending-tasks.js";
import { addStepJobs, completedJobRetention } from "./queue-backend.js";
import { bullPriority } from "./queue-options.js";
import type { StepQueues } from "./step-queues.js";
import { batchJobId, JOBS_PER_SLOT, planBatches, type TaskDurations } from "./task-batches.js";
import type { TaskJobData } from "./task-job.js";
import { WorkerSlots } from "./worker-slots.js";

/** A task to hand to the queue: new (its fence is opened), or reattached to its earlier dispatch's job. */
export interface Dispatch {
  entry: PendingTask;
  reattached: boolean;
}

/** Small inputs travel inside the task: the worker skips a metadata read per input. */
function encodedTask(entry: PendingTask, io: ArtifactIO): string {
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

export class JobHandover {
  private readonly slots = new WorkerSlots();
  /** Steps that became ready together are dispatched with one fence statement and one bulk add per queue. */
  private readonly dispatches = new GroupedCalls<Dispatch, void>(async (group) => {
    await this.dispatch(group);
    return group.map(() => undefined);
  });

  constructor(
    private readonly pending: PendingTasks,
    private readonly queues: StepQueues,
    private readonly fences: TaskFenceStore,
    private readonly durations: TaskDurations,
    /** The run's concurrency (steps it may run at once), and the one it was given if any (see slotsFor). */
    private readonly concurrency: { run: number; chosen?: number },
    private readonly io: ArtifactIO,
  ) {}

  /** Hands one task over, with the others handed over in the same turn. */
  hand(dispatch: Dispatch): Promise<void> {
    return this.dispatches.call(dispatch);
  }

  /**
   * Hands a group of tasks to the queue: tasks known to be short share jobs (task-batches.ts),
   * their fences name the job, then one bulk add per queue. A reattached task goes back to its job.
   */
  private async dispatch(group: Dispatch[]): Promise<void> {
    const reattached = new Map<string, PendingTask[]>();
    for (const { entry } of group.filter((d) => d.reattached)) {
      const job = reattached.get(entry.jobId);
      if (job) job.push(entry);
      else reattached.set(entry.jobId, [entry]);
    }
    const fresh = group.filter((d) => !d.reattached).map((d) => d.entry);
    const jobsFree = (await this.slotsFor(fresh)) * JOBS_PER_SLOT - this.pending.byJob.size;
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
    for (const job of jobs) for (const entry of job) this.pending.track(entry);
    await this.addJobs(jobs);
  }

  /**
   * Steps that can run at once: the slots of the workers on these tasks' queues (as they list
   * themselves), within the concurrency the run was given; a run given none is not capped by the
   * orchestrator's CPUs, which say nothing of the workers'. The run's concurrency while no worker is listed.
   */
  private async slotsFor(entries: PendingTask[]): Promise<number> {
    let slots = 0;
    for (const name of new Set(entries.map((e) => e.queue)))
      slots += await this.slots.on(name, (await this.queues.of(name)).queue);
    if (!slots) return this.concurrency.run;
    return this.concurrency.chosen === undefined ? slots : Math.min(slots, this.concurrency.chosen);
  }

  /** One add per queue (see addStepJobs). The same job id twice is one job: re-adding never duplicates a task. */
  async addJobs(jobs: PendingTask[][]): Promise<void> {
    const byQueue = new Map<string, PendingTask[][]>();
    for (const job of jobs) {
      const group = byQueue.get(job[0].queue);
      if (group) group.push(job);
      else byQueue.set(job[0].queue, [job]);
    }
    for (const [name, group] of byQueue) {
      const { queue } = await this.queues.of(name);
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
            removeOnComplete: completedJobRetention(this.queues.opts),
            removeOnFail: { age: 24 * 3600 },
          },
        })),
      );
    }
  }
}
