/**
 * What a team running workers needs to see, per queue: its job counts, the workers listed on it
 * (each worker's name carries its label and slots) and the tasks running now from the task fence,
 * with their claim and heartbeat ages. `trainyard workers` prints it, `GET /api/v1/workers` serves it.
 */
import { decodeStepTask } from "../engine/step-task.js";
import type { Trainyard } from "../engine/trainyard.js";
import type { TaskFence } from "../store/task-fence.js";
import { taskFenceFor } from "../store/task-fence-for.js";
import { closeWithin, openQueue, queueStoreRisks, type StepQueue, withinReach } from "./queue-backend.js";
import { bullQueueName, type QueueOptions, queueStoreLabel } from "./queue-options.js";
import { parseQueueWorkerName, POSTGRES_NAME_BYTES } from "./worker-slots.js";

/** A worker process listed on a queue. */
export interface ListedWorker {
  /** `<hostname>/<worker id>`, as fences name it. */
  label: string;
  /** Steps it runs at once (its --concurrency). */
  slots: number;
  /** The address its connection comes from (Redis only). */
  address?: string;
  /** Seconds since it connected (Redis only). */
  connectedSeconds?: number;
}

/** A task a worker holds now (its fence is in the running state). */
export interface HeldTask {
  runId: string;
  stepId: string;
  /** The map item, for a map step's task. */
  itemIndex?: number;
  stepRunId: string;
  attemptId: string;
  worker?: string;
  claimAgeMs: number;
  heartbeatAgeMs: number;
  /** Its heartbeat is older than the queue's lock: the worker may be gone (the queue then hands it to another). */
  possiblyLost: boolean;
}

export interface QueueJobCounts {
  /** Waiting to be taken, prioritized or paused included. */
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface QueueOverview {
  queue: string;
  counts: QueueJobCounts;
  workers: ListedWorker[];
  /** The slots of the workers listed. */
  slots: number;
  running: HeldTask[];
  /** Tasks wait and no worker is listed: nothing will run them. */
  unattended: boolean;
}

export interface WorkersOverview {
  /** Whether a queue executor is configured; without one, `queues` is empty and `note` says so. */
  queueExecutor: boolean;
  /** Where the queues live, the URL without its password. */
  queueStore?: string;
  /** A worker whose heartbeat is older than this is flagged as possibly lost. */
  lockMs?: number;
  /** When it was gathered (ms since the epoch). */
  at: number;
  queues: QueueOverview[];
  /**
   * One line per queue that has waiting tasks and no worker, and one per setting of the queue store
   * that puts tasks at risk (queueStoreRisks), each with what to do.
   */
  problems: string[];
  note?: string;
}

/** The answer when the config names no queue executor: steps run locally and there are no workers to see. */
export function withoutQueueExecutor(now = Date.now()): WorkersOverview {
  const note =
    'no queue executor is configured: steps run in this process (executor "local"); ' +
    'set executor: { kind: "queue", redis: "redis://..." } in trainyard.config.ts to run them on workers';
  return { queueExecutor: false, at: now, queues: [], problems: [], note };
}

/**
 * The overview of `queues`, or, when none are named, of every queue any fence was opened on plus
 * `default`. Queues are opened for the call and closed after.
 */
export async function gatherWorkersOverview(
  ty: Trainyard,
  opts: QueueOptions,
  queues: string[] = [],
): Promise<WorkersOverview> {
  const fences = await taskFenceFor(ty.metadata);
  try {
    const names = queues.length ? [...new Set(queues)] : [...new Set(["default", ...(await fences.listQueues())])];
    const now = Date.now();
    const running = await fences.listRunning(names);
    const gathered = await Promise.all(
      names.map((name) =>
        overviewOf(
          name,
          opts,
          running.filter((f) => f.queue === name),
          now,
        ),
      ),
    );
    const overviews = gathered.map((g) => g.overview);
    // Every queue lives in the one store: its risks are said once.
    const problems = [...new Set(gathered.flatMap((g) => g.risks))].concat(
      overviews
        .filter((q) => q.unattended)
        .map(
          (q) =>
            `queue "${q.queue}" has ${q.counts.waiting} waiting task(s) and no worker: ` +
            `start one with \`trainyard worker --queue ${q.queue}\``,
        ),
    );
    return {
      queueExecutor: true,
      queueStore: queueStoreLabel(opts),
      lockMs: opts.lockMs,
      at: now,
      queues: overviews,
      problems,
    };
  } finally {
    await fences.close();
  }
}

async function overviewOf(
  name: string,
  opts: QueueOptions,
  held: TaskFence[],
  now: number,
): Promise<{ overview: QueueOverview; risks: string[] }> {
  const queue = openQueue(bullQueueName(name), opts);
  queue.on("error", () => undefined); // reported below, once, as QUEUE_UNAVAILABLE
  try {
    const [counts, workers, risks] = await withinReach(
      Promise.all([queue.getJobCounts(), listWorkers(queue, opts), queueStoreRisks(queue, opts)]),
      name,
      opts,
    );
    const jobCounts: QueueJobCounts = {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.paused ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
    };
    const overview = {
      queue: name,
      counts: jobCounts,
      workers,
      slots: workers.reduce((sum, w) => sum + w.slots, 0),
      running: held.map((f) => heldTask(f, now, opts.lockMs)),
      unattended: jobCounts.waiting > 0 && workers.length === 0,
    };
    return { overview, risks };
  } finally {
    await closeWithin(queue);
  }
}

/** The workers the queue lists, each named with its label and slots (see worker-slots.ts). */
async function listWorkers(queue: StepQueue, opts: QueueOptions): Promise<ListedWorker[]> {
  // PostgreSQL names a connection in at most 63 bytes: a worker's long label may end there.
  const cutAtBytes = opts.postgres ? POSTGRES_NAME_BYTES : undefined;
  const listed = (await queue.getWorkers()) as Array<Record<string, string | undefined>>;
  return listed
    .map((w) => {
      const age = w.age === undefined ? Number.NaN : Number(w.age);
      return {
        ...parseQueueWorkerName(w.rawname ?? "", { cutAtBytes }),
        ...(w.addr ? { address: w.addr } : {}),
        ...(Number.isFinite(age) ? { connectedSeconds: age } : {}),
      };
    })
    .sort((a, b) => a.label.localeCompare(b.label));
}

function heldTask(f: TaskFence, now: number, lockMs: number): HeldTask {
  let stepId = "?";
  let itemIndex = -1;
  try {
    ({ stepId, itemIndex } = decodeStepTask(f.task));
  } catch {
    // A task this version cannot read still shows its run, step run and worker.
    stepId = f.stepRunId.split(":").slice(1).join(":") || f.stepRunId;
  }
  // The claim sets updatedAt; a heartbeat moves only heartbeatAt.
  const heartbeatAgeMs = Math.max(0, now - (f.heartbeatAt ?? f.updatedAt));
  return {
    runId: f.runId,
    stepId,
    ...(itemIndex >= 0 ? { itemIndex } : {}),
    stepRunId: f.stepRunId,
    attemptId: f.attemptId,
    ...(f.worker ? { worker: f.worker } : {}),
    claimAgeMs: Math.max(0, now - f.updatedAt),
    heartbeatAgeMs,
    possiblyLost: heartbeatAgeMs > lockMs,
  };
}
