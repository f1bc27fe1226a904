/**
 * gc's bound on finished queue jobs. BullMQ keeps a finished job for its retention (an hour for a
 * completed one, by age only on PostgreSQL; a day for a failed one): a busy queue can hold hundreds of
 * thousands. gc removes, per queue, the completed and the failed jobs beyond the newest `keep` that
 * finished before its grace period, oldest first, through BullMQ's own `Queue.clean` in bounded chunks.
 *
 * Never removed: a job of an in-flight run's uncommitted fence, whose state the executor's check for
 * lost jobs still reads (a failed job's reason; a job gone is added again). Nothing finished after the
 * oldest such job is removed, as `clean` removes by age.
 */
import type { MetadataStore } from "../store/metadata-store.js";
import { taskFenceFor } from "../store/task-fence-for.js";
import { closeWithin, openQueue, type StepQueue, withinReach } from "./queue-backend.js";
import { bullQueueName, type QueueOptions } from "./queue-options.js";

/** Finished jobs of each state kept per queue: Redis's own bound on completed jobs. */
export const DEFAULT_KEEP_FINISHED_JOBS = 10_000;
/** Jobs one `clean` call removes at most. */
export const JOBS_PER_CLEAN = 1000;
/** A job kept for an in-flight run keeps those finished this shortly before it too: `clean` reads the clock again. */
export const KEPT_JOB_MARGIN_MS = 1000;

const FINISHED = ["completed", "failed"] as const;
type FinishedState = (typeof FINISHED)[number];

export interface FinishedJobTrim {
  /** Finished jobs of each state kept per queue, the newest. @default 10,000 */
  keep?: number;
  /** Only jobs that finished longer ago than this are removed (gc's grace). */
  graceMs: number;
  /** Count what would be removed; remove nothing. @default false */
  dryRun?: boolean;
  /** Jobs one clean call removes at most. @default 1000 */
  jobsPerClean?: number;
  /** Queues to trim (pools, as in `--queue`); read from the fences when absent, with `default`. */
  queues?: string[];
}

/** The queues gc trims: `default` and every queue a fence names (read before gc removes fences). */
export async function queuesToTrim(metadata: MetadataStore): Promise<string[]> {
  const fences = await taskFenceFor(metadata).catch(() => undefined);
  try {
    return [...new Set(["default", ...((await fences?.fencedQueues()) ?? [])])].sort();
  } finally {
    await fences?.close();
  }
}

/** Removes (or with `dryRun` counts) the finished jobs beyond the bound on each queue; how many. */
export async function trimFinishedJobs(
  metadata: MetadataStore,
  opts: QueueOptions,
  trim: FinishedJobTrim,
): Promise<number> {
  const queues = trim.queues ?? (await queuesToTrim(metadata));
  const inFlight = new Map<string, string[]>();
  const fences = await taskFenceFor(metadata);
  try {
    for (const j of await fences.inFlightJobs()) {
      if (!inFlight.has(j.queue)) inFlight.set(j.queue, []);
      inFlight.get(j.queue)!.push(j.jobId);
    }
  } finally {
    await fences.close();
  }
  let removed = 0;
  for (const name of queues) {
    const queue = openQueue(bullQueueName(name), opts);
    queue.on("error", () => undefined); // reported once, as QUEUE_UNAVAILABLE
    try {
      await withinReach(queue.waitUntilReady(), name, opts);
      const before = Date.now() - trim.graceMs;
      const kept = await oldestFinished(queue, inFlight.get(name) ?? []);
      const until = Math.min(before, kept === undefined ? before : kept - KEPT_JOB_MARGIN_MS);
      for (const state of FINISHED) removed += await trimState(queue, state, until, trim);
    } finally {
      await closeWithin(queue);
    }
  }
  return removed;
}

/** When the earliest-finished of these jobs finished, if any has. */
async function oldestFinished(queue: StepQueue, jobIds: string[]): Promise<number | undefined> {
  let oldest: number | undefined;
  // A large run has thousands of tasks waiting: their jobs are read a hundred at a time.
  for (let i = 0; i < jobIds.length; i += 100) {
    const jobs = await Promise.all(jobIds.slice(i, i + 100).map((id) => queue.getJob(id)));
    for (const finishedOn of jobs.map((j) => j?.finishedOn))
      if (finishedOn !== undefined) oldest = Math.min(oldest ?? finishedOn, finishedOn);
  }
  return oldest;
}

/** Trims one state's jobs beyond the newest `keep` finished at or before `until`; how many. */
async function trimState(
  queue: StepQueue,
  state: FinishedState,
  until: number,
  trim: FinishedJobTrim,
): Promise<number> {
  const total = (await queue.getJobCounts(state))[state] ?? 0;
  const beyond = total - (trim.keep ?? DEFAULT_KEEP_FINISHED_JOBS);
  if (beyond <= 0) return 0;
  // Of the `beyond` oldest, those finished by `until` (oldest first, so a prefix): found by bisection.
  let [low, high] = [0, beyond];
  while (low < high) {
    const mid = (low + high) >> 1;
    const finishedOn = await finishedOnAt(queue, state, mid);
    if (finishedOn !== undefined && finishedOn <= until) low = mid + 1;
    else high = mid;
  }
  if (trim.dryRun) return low;
  let removed = 0;
  const perClean = trim.jobsPerClean ?? JOBS_PER_CLEAN;
  while (removed < low) {
    const chunk = Math.min(perClean, low - removed);
    // The chunk's newest job bounds the clean, and its limit the count: jobs that finished within a moment of
    // that bound may be taken for one another (clean reads the clock again; PostgreSQL's picks by insertion).
    const newest = await finishedOnAt(queue, state, chunk - 1);
    if (newest === undefined) break;
    const ids = await queue.clean(Math.max(0, Date.now() - Math.min(newest, until)), chunk, state);
    removed += ids.length;
    if (!ids.length) break;
  }
  return removed;
}

/** When the job at `index` among the state's jobs, oldest first, finished. */
async function finishedOnAt(queue: StepQueue, state: FinishedState, index: number): Promise<number | undefined> {
  const [id] = await queue.getRanges([state], index, index, true);
  return id === undefined ? undefined : (await queue.getJob(id))?.finishedOn;
}
