/**
 * What the queue executor gets back after a loss: a resumed run's tasks reattach to their earlier
 * dispatch (the orchestrator was killed), and a poll of the fences settles results whose event was
 * missed and adds again the jobs Redis lost. Apart from the hand-over: it runs only when events fail.
 */
import { decodeStepTask, decodeStepTaskResult, type StepTask, type StepTaskResult } from "../engine/step-task.js";
import type { TaskFence, TaskFenceStore } from "../store/task-fence.js";
import type { JobHandover } from "./job-handover.js";
import type { PendingTasks } from "./pending-tasks.js";
import type { StepQueues } from "./step-queues.js";

/** How often uncommitted tasks are looked up in the fence, and lost jobs in Redis. */
const POLL_MS = 1000;
const JOB_CHECK_MS = 3000;

/**
 * What became of `task`'s earlier dispatch, given its fence as read now: the result it committed,
 * where that stands, or the dispatch still under way, to reattach to. Neither: dispatch it anew.
 */
export function earlierDispatch(
  fence: TaskFence | undefined,
  task: StepTask,
): { result?: StepTaskResult; current?: TaskFence } {
  const reattach = fence && sameWork(fence, task) ? fence : undefined;
  // Committed while no orchestrator was listening (it was killed): the result stands.
  if (reattach?.state === "committed" && reattach.result) {
    const result = decodeStepTaskResult(reattach.result);
    if (result.status === "succeeded" || result.status === "rejected") return { result };
  }
  return { current: reattach && reattach.state !== "committed" ? reattach : undefined };
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

/** Results whose event was missed (Redis restarted), and jobs Redis lost, which are added again. */
export class FencePoll {
  private poll?: NodeJS.Timeout;
  private polling = false;

  constructor(
    private readonly pending: PendingTasks,
    private readonly fences: TaskFenceStore,
    private readonly queues: StepQueues,
    private readonly handover: JobHandover,
  ) {}

  start(): void {
    this.poll ??= setInterval(() => void this.pollOnce(), POLL_MS);
    this.poll.unref();
  }

  stop(): void {
    clearInterval(this.poll);
  }

  private async pollOnce(): Promise<void> {
    if (this.polling || this.pending.size === 0) return;
    this.polling = true;
    try {
      // Only the tasks still waiting are read, not every fence of the run with its task and result.
      for (const fence of await this.fences.committedAmong([...this.pending.byStepRun.keys()])) {
        const entry = this.pending.byStepRun.get(fence.stepRunId);
        if (entry && fence.attemptId === entry.task.attemptId && fence.result)
          this.pending.settle(entry, decodeStepTaskResult(fence.result));
      }
      const now = Date.now();
      for (const [jobId, entries] of [...this.pending.byJob]) {
        const first = entries.values().next().value;
        if (!first || now - first.checkedAt < JOB_CHECK_MS) continue;
        for (const entry of entries) entry.checkedAt = now;
        const { queue } = await this.queues.of(first.queue);
        const state = await queue.getJobState(jobId);
        // A lost batch comes back with the tasks still waiting for a result, under the same job id.
        if (state === "unknown") await this.handover.addJobs([[...entries]]);
        else if (state === "failed") {
          const job = await queue.getJob(jobId);
          await this.pending.onFailed(jobId, job?.failedReason ?? "the queue gave the task up");
        }
      }
    } catch {
      // Redis or the database is away for a moment: the next poll tries again.
    } finally {
      this.polling = false;
    }
  }
}
