/**
 * `trainyard worker`: takes step tasks from BullMQ queues, runs each with this machine's local
 * executor (same runners as a local run) on the pipeline bundle the run planned with, and
 * commits the result through the task fence, so only the current pickup of the current dispatch
 * ever lands. While a step runs, BullMQ renews the job's lock and the worker heartbeats the
 * fence; a refused heartbeat (taken over, cancelled) stops the step. The parts: task-pickups.ts
 * claims, runs and commits a task; worker-jobs.ts answers a job of one task or a batch.
 */
import { randomBytes } from "node:crypto";
import type { Job } from "bullmq";
import { sha256Digest } from "../core/digest-format.js";
import type { Trainyard } from "../engine/trainyard.js";
import type { TaskFenceStore } from "../store/task-fence.js";
import { taskFenceFor } from "../store/task-fence-for.js";
import { openWorker, queueStoreRisks, type StepWorker } from "./queue-backend.js";
import { bullQueueName, type QueueOptions } from "./queue-options.js";
import { StepSlots } from "./step-slots.js";
import { queueWorkerName } from "./worker-slots.js";
import { WorkerLogRetention } from "./worker-log-retention.js";
import { WorkerRuns } from "./worker-runs.js";
import { RecordsWithCommits } from "./records-with-commits.js";
import { JOBS_PER_SLOT } from "./task-batches.js";
import { type TaskJobData, workerLabel } from "./task-job.js";
import { type TaskNotice, TaskPickups } from "./task-pickups.js";
import { runBatchJob, runTaskJob } from "./worker-jobs.js";

export interface TaskWorkerOptions extends QueueOptions {
  /** Queues (pools, capabilities) this worker takes tasks from. @default ["default"] */
  queues: string[];
  /** Tasks it runs at once. @default 1 */
  concurrency: number;
  /** Its id in fences and errors. @default a random one */
  workerId?: string;
  /** Told of each task as it starts and ends (the CLI prints a line). */
  onTask?: TaskNotice;
  /** How long its log files of a run stay in its home (see worker-log-retention.ts). @default 30 days */
  keepLogsMs?: number;
  /** Told of each run whose log files it removed, and why. */
  onLogsRemoved?: (runId: string, why: string) => void;
}

export class TaskWorker {
  readonly workerId: string;
  /** `<hostname>/<worker id>`, as fences and errors name it. */
  readonly label: string;
  private readonly workers: StepWorker<TaskJobData, string>[] = [];
  private readonly runs: WorkerRuns;
  private readonly slots: StepSlots;
  private readonly pickups: TaskPickups;
  private fences!: TaskFenceStore;
  /** Whether the last job taken was a batch (see takeAsManyAsSlotsAllow). */
  private batches = false;
  private readonly logRetention: WorkerLogRetention;

  constructor(
    private readonly trainyard: Trainyard,
    private readonly opts: TaskWorkerOptions,
  ) {
    this.workerId = opts.workerId ?? `w-${randomBytes(4).toString("hex")}`;
    this.label = workerLabel(this.workerId);
    // A task's fence commit rides with its run's records (one statement where the fence store can).
    this.runs = new WorkerRuns(
      trainyard,
      opts.concurrency,
      new RecordsWithCommits(trainyard.metadata, () => this.fences),
    );
    this.slots = new StepSlots(opts.concurrency);
    this.pickups = new TaskPickups({
      label: this.label,
      runs: this.runs,
      slots: this.slots,
      metadata: trainyard.metadata,
      fences: () => this.fences,
      heartbeatMs: opts.heartbeatMs,
      onTask: (event) => this.opts.onTask?.(event),
      onWorkEnded: () => this.takeAsManyAsSlotsAllow(),
    });
    this.logRetention = new WorkerLogRetention({
      home: trainyard.home,
      // A store that cannot answer (away, or an id that is a prefix of several runs) keeps the files.
      recorded: async (runId) => (await trainyard.metadata.getRun(runId).catch(() => true)) !== undefined,
      keepMs: opts.keepLogsMs,
      onRemoved: opts.onLogsRemoved,
    });
  }

  /** Connects and starts taking tasks; resolves once every queue's worker is ready. */
  async start(): Promise<void> {
    this.fences = await taskFenceFor(this.trainyard.metadata);
    for (const queue of this.opts.queues) {
      const options = {
        concurrency: this.opts.concurrency,
        lockDuration: this.opts.lockMs,
        stalledInterval: this.opts.stalledCheckMs,
        // A task whose worker died runs once more elsewhere; a second death fails it (WORKER_LOST).
        maxStalledCount: 1,
        // Its slots ride in its name, so an orchestrator sizes batches to the workers there (worker-slots.ts).
        name: queueWorkerName(this.label, this.opts.concurrency),
      };
      const worker = openWorker<TaskJobData, string>(
        bullQueueName(queue),
        (job) => this.process(job),
        options,
        this.opts,
      );
      worker.on("error", () => undefined); // a Redis restart: ioredis reconnects, BullMQ resumes
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    this.logRetention.start();
  }

  /** Stops taking tasks, lets running ones finish (or not, with `force`), and closes connections. */
  async stop(force = false): Promise<void> {
    this.logRetention.stop();
    await Promise.all(this.workers.map((w) => w.close(force)));
    await this.runs.close();
    await this.fences?.close();
  }

  /** Settings of the queue store that put its tasks at risk, each with what to set (see queueStoreRisks). */
  async storeRisks(): Promise<string[]> {
    return this.workers.length ? queueStoreRisks(this.workers[0], this.opts) : [];
  }

  /** Tasks running here now. */
  get running(): number {
    return this.pickups.running;
  }

  /** One round trip to each store this worker needs, each within `timeoutMs`: "ok", or why not. */
  async readiness(timeoutMs: number): Promise<Record<string, string>> {
    const checks: Record<string, () => Promise<unknown>> = {
      queue: async () => {
        for (const w of this.workers) {
          if (!w.isRunning()) throw new Error(`not taking tasks from ${w.name}`);
          await w.backend.getCounts(["active"]);
        }
      },
      metadata: () => (this.fences ? this.fences.get(READINESS_PROBE) : Promise.reject(new Error("not started"))),
      artifacts: () => this.trainyard.artifacts.has(READINESS_DIGEST),
    };
    const entries = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => [name, await withinTime(check, timeoutMs)] as const),
    );
    return Object.fromEntries(entries);
  }

  private async process(job: Job<TaskJobData, string>): Promise<string> {
    this.batches = !!job.data.tasks;
    if (job.data.tasks) return runBatchJob(job, job.data.tasks, this.pickups);
    return runTaskJob(job, job.data.task, this.pickups);
  }

  /**
   * While steps are short, the queue hands this worker more tasks than it has slots (see step-slots.ts);
   * batches carry enough tasks each, so then it holds JOBS_PER_SLOT batches per slot.
   */
  private takeAsManyAsSlotsAllow(): void {
    const wanted = this.batches ? this.slots.size * JOBS_PER_SLOT : this.slots.tasksToTake;
    for (const worker of this.workers) if (worker.concurrency !== wanted) worker.concurrency = wanted;
  }
}

/** A fence and an object that never exist: looking them up is a round trip that changes nothing. */
const READINESS_PROBE = "readiness-probe";
const READINESS_DIGEST = sha256Digest("trainyard worker readiness probe");

async function withinTime(check: () => Promise<unknown>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([
      check().then(
        () => "ok",
        (err: Error) => err.message || String(err),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
