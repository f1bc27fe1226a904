/**
 * The queue executor's open queues, one BullMQ queue and its event stream per pool or capability:
 * opened on first use and kept for the run, so every hand-over, poll and cancellation of a queue
 * shares one connection and its events reach the tasks awaiting results.
 */
import {
  closeWithin,
  openQueue,
  openQueueEvents,
  queueStoreRisks,
  type StepQueue,
  type StepQueueEvents,
} from "./queue-backend.js";
import { bullQueueName, type QueueOptions } from "./queue-options.js";

/** A queue with its events, as opened for one run. */
export interface OpenedQueue {
  queue: StepQueue;
  events: StepQueueEvents;
}

/** Where a queue's job events go (see pending-tasks.ts). */
export interface QueueEventListener {
  onCompleted(jobId: string, returnvalue: unknown): void;
  onFailed(jobId: string, reason: string): Promise<void>;
  onProgress(jobId: string, data: unknown): void;
}

/** How long a run's end waits for its queues to confirm they closed. */
const CLOSE_WITHIN_MS = 5000;

/** Queue store risks already told on stderr: once per process, not once per run. */
const toldRisks = new Set<string>();

export class StepQueues {
  private readonly queues = new Map<string, Promise<OpenedQueue>>();

  constructor(
    /** Where the queues live, and how jobs are kept there (see completedJobRetention). */
    readonly opts: QueueOptions,
    private readonly listener: QueueEventListener,
  ) {}

  /** The queue called `name` (a pool or capability), opened once. */
  of(name: string): Promise<OpenedQueue> {
    let opened = this.queues.get(name);
    if (!opened) {
      opened = this.open(name);
      this.queues.set(name, opened);
    }
    return opened;
  }

  /**
   * Closes every queue, waiting at most CLOSE_WITHIN_MS: the run's end waits for it, and a connection
   * whose answer was lost could leave a close unconfirmed forever, all its steps done.
   */
  async close(): Promise<void> {
    const opened = (await Promise.all([...this.queues.values()].map((q) => q.catch(() => undefined)))).filter(
      (q) => q !== undefined,
    );
    await Promise.all(
      opened.flatMap((q) => [closeWithin(q.events, CLOSE_WITHIN_MS), closeWithin(q.queue, CLOSE_WITHIN_MS)]),
    );
  }

  private async open(name: string): Promise<OpenedQueue> {
    const queueName = bullQueueName(name);
    const queue = openQueue(queueName, this.opts);
    const events = openQueueEvents(queueName, this.opts);
    queue.on("error", () => undefined); // a Redis restart: the connection retries, the poll catches up
    events.on("error", () => undefined);
    events.on("completed", ({ jobId, returnvalue }) => this.listener.onCompleted(jobId, returnvalue));
    events.on("failed", ({ jobId, failedReason }) => void this.listener.onFailed(jobId, failedReason));
    events.on("progress", ({ jobId, data }) => this.listener.onProgress(jobId, data));
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    // Told aside: the run's hand-overs do not wait for it.
    void queueStoreRisks(queue, this.opts).then(
      (risks) => {
        for (const risk of risks.filter((r) => !toldRisks.has(r))) {
          toldRisks.add(risk);
          process.stderr.write(`trainyard: warning: ${risk}\n`);
        }
      },
      () => undefined,
    );
    return { queue, events };
  }
}
