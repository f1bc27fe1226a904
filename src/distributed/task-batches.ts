/**
 * Task batches: tasks known to be short that become ready together travel to a worker as one
 * queue job, so the queue's per-job round trips (add, fetch, finish, completion event) are paid
 * once per batch. The engine still decides readiness and caching per step: each task of a batch
 * keeps its own fence, commit and result.
 */
import type { StepTask } from "../engine/step-task.js";

/** A step whose recorded duration is under this may share a job with others. */
export const SHORT_TASK_MS = 50;
/** Tasks per batch at most: a batch never holds much work back from an idle worker. */
export const MAX_BATCH = 16;
/**
 * Jobs kept in flight per worker slot while batching: one. A batch's own tasks keep its slot busy while the
 * next job is fetched, and every job costs a fetch, a claim, a commit and a finish (docs/performance.md).
 */
export const JOBS_PER_SLOT = 1;

/**
 * Which steps are known to be short: the median of their recorded runs (the metadata's step
 * durations), or what this run observed of them (items of a map, a retried step). A step with
 * neither is never taken for short: it may be a ten-minute training.
 */
export class TaskDurations {
  /** The longest duration observed in this run, per step. */
  private readonly observed = new Map<string, number>();

  constructor(private readonly recorded: ReadonlyMap<string, number>) {}

  isShort(task: StepTask): boolean {
    if (task.exclusive) return false;
    const ms = this.observed.get(task.stepId) ?? this.recorded.get(task.stepId);
    return ms !== undefined && ms < SHORT_TASK_MS;
  }

  /** A task of `stepId` ran `ms` on a worker (an older worker: from its start there to its result here). */
  observe(stepId: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.observed.set(stepId, Math.max(ms, this.observed.get(stepId) ?? 0));
  }
}

/**
 * Splits tasks handed over together into jobs: a task not known to be short goes alone; short
 * ones are batched per queue (never across queues), neighbours in priority together, in as many
 * jobs as `jobsFree` allows (so parallelism is kept) but no bigger than MAX_BATCH. Jobs come out
 * highest priority first within each queue.
 */
export function planBatches<T extends { task: StepTask }>(
  items: T[],
  isShort: (task: StepTask) => boolean,
  jobsFree: number,
): T[][] {
  const jobs: T[][] = [];
  const shortByQueue = new Map<string, T[]>();
  for (const item of items) {
    if (!isShort(item.task)) {
      jobs.push([item]);
      continue;
    }
    const group = shortByQueue.get(item.task.queue);
    if (group) group.push(item);
    else shortByQueue.set(item.task.queue, [item]);
  }
  const free = Math.max(1, Math.floor(jobsFree / Math.max(1, shortByQueue.size)));
  for (const group of shortByQueue.values()) {
    group.sort((a, b) => b.task.priority - a.task.priority);
    const count = Math.min(group.length, Math.max(free, Math.ceil(group.length / MAX_BATCH)));
    // Sizes differ by one at most: `count` jobs over `group.length` tasks.
    const base = Math.floor(group.length / count);
    let extra = group.length % count;
    for (let at = 0; at < group.length; ) {
      const size = base + (extra-- > 0 ? 1 : 0);
      jobs.push(group.slice(at, at + size));
      at += size;
    }
  }
  return jobs;
}

/** The id of a batch's job: its first task's own job id, marked, so a resumed orchestrator finds it again. */
export function batchJobId(firstTaskJobId: string): string {
  return `batch~${firstTaskJobId}`;
}
