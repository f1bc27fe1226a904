/**
 * `trainyard worker`: takes step tasks from BullMQ queues, runs each with this machine's local
 * executor (same runners as a local run) on the pipeline bundle the run planned with, and
 * commits the result through the task fence, so only the current pickup of the current dispatch
 * ever lands. While a step runs, BullMQ renews the job's lock and the worker heartbeats the
 * fence; a refused heartbeat (taken over, cancelled) stops the step.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Job } from "bullmq";
import { sha256Digest } from "../core/digest-format.js";
import { describeError, type ErrorInfo } from "../core/errors.js";
import { GroupedCalls } from "../core/grouped-calls.js";
import type { Trainyard } from "../engine/trainyard.js";
import {
  decodeStepTask,
  decodeStepTaskResult,
  encodeStepTaskResult,
  type StepTask,
  type StepTaskEvent,
  type StepTaskResult,
} from "../engine/step-task.js";
import type { FenceClaim, FenceCommit, TaskFenceStore } from "../store/task-fence.js";
import { taskFenceFor } from "../store/task-fence-for.js";
import { openWorker, type StepWorker } from "./queue-backend.js";
import { bullQueueName, type QueueOptions } from "./queue-options.js";
import { ProgressSender } from "./progress-sender.js";
import { missingDependency } from "./missing-dependency.js";
import { StepSlots } from "./step-slots.js";
import { queueWorkerName } from "./worker-slots.js";
import { WorkerRuns } from "./worker-runs.js";
import { type CommitRider, RecordsWithCommits } from "./records-with-commits.js";
import type { RecordWriter } from "../engine/record-writer.js";
import { JOBS_PER_SLOT } from "./task-batches.js";
import {
  type BatchJobResult,
  type BatchProgress,
  type ProgressBatch,
  type TaskJobData,
  workerLabel,
} from "./task-job.js";

export interface TaskWorkerOptions extends QueueOptions {
  /** Queues (pools, capabilities) this worker takes tasks from. @default ["default"] */
  queues: string[];
  /** Tasks it runs at once. @default 1 */
  concurrency: number;
  /** Its id in fences and errors. @default a random one */
  workerId?: string;
  /** Told of each task as it starts and ends (the CLI prints a line). */
  onTask?: (event: { type: "started" | "ended"; task: StepTask; status?: string }) => void;
}

export class TaskWorker {
  readonly workerId: string;
  /** `<hostname>/<worker id>`, as fences and errors name it. */
  readonly label: string;
  private readonly workers: StepWorker<TaskJobData, string>[] = [];
  private readonly runs: WorkerRuns;
  private readonly slots: StepSlots;
  private fences!: TaskFenceStore;
  private active = 0;
  /** Tasks ending together share one statement for their fence commits. */
  private readonly commits = new GroupedCalls<FenceCommit, boolean>((commits) =>
    this.fences.commitMany(commits, Date.now()),
  );
  /** A batch's tasks (and tasks taken together) are claimed with one statement. */
  private readonly claims = new GroupedCalls<Omit<FenceClaim, "worker">, boolean>((claims) =>
    this.fences.claimMany(
      claims.map((c) => ({ ...c, worker: this.label })),
      Date.now(),
    ),
  );
  /** The pickup of each step run running here now (see runClaimed). */
  private readonly holders = new Map<string, Holder>();
  /** Whether the last job taken was a batch (see takeAsManyAsSlotsAllow). */
  private batches = false;

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
  }

  /** Stops taking tasks, lets running ones finish (or not, with `force`), and closes connections. */
  async stop(force = false): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close(force)));
    await this.runs.close();
    await this.fences?.close();
  }

  /** Tasks running here now. */
  get running(): number {
    return this.active;
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
    if (job.data.tasks) return this.processBatch(job, job.data.tasks);
    this.batches = false;
    const progress = new ProgressSender((events) => job.updateProgress({ events } satisfies ProgressBatch));
    return (await this.processTask(job, decodeStepTask(job.data.task), progress)).encoded;
  }

  /**
   * A batch's tasks run side by side within this worker's slots, each claimed and committed under
   * its own fence; each result goes back as progress as it lands, and all of them with the job's end.
   */
  private async processBatch(job: Job<TaskJobData, string>, encodedTasks: string[]): Promise<string> {
    this.batches = true;
    const sender = new ProgressSender<BatchItem>(
      (items) => job.updateProgress(batchProgressOf(items)),
      // A short task's events wait for its result (or the next one's): one write for many tasks.
      (item) => item.result !== undefined,
      (item) => item.event?.type === "log",
    );
    const results: Record<string, string> = {};
    await Promise.all(
      encodedTasks.map(async (encoded) => {
        const task = decodeStepTask(encoded);
        const stepRunId = task.stepRunId;
        const events = {
          push: (event: StepTaskEvent) => sender.push({ stepRunId, event }),
          // A task's events wait for its result (pushed once committed) rather than leaving alone: one
          // progress write for a task or for several, not one more each. The batch's end sends the rest.
          close: async () => undefined,
        };
        const ended = await this.processTask(job, task, events);
        results[stepRunId] = ended.encoded;
        if (ended.result) sender.push({ stepRunId, result: ended.encoded });
      }),
    );
    await sender.close();
    return JSON.stringify({ results } satisfies BatchJobResult);
  }

  /**
   * Claims, runs, stores and commits one task: its encoded result, with `result` set when this
   * pickup committed it (else a superseded pickup's answer).
   */
  private async processTask(
    job: Job<TaskJobData, string>,
    task: StepTask,
    progress: { push(event: StepTaskEvent): void; close(): Promise<void> },
  ): Promise<{ encoded: string; result?: StepTaskResult }> {
    const previous = this.holders.get(task.stepRunId);
    // The same dispatch taken again by this worker (its job stalled while this worker was slow): the
    // running pickup goes on and answers for both, rather than being stopped and run twice.
    if (previous?.attemptId === task.attemptId) return previous.outcome;
    const hold: Holder = { attemptId: task.attemptId, outcome: undefined!, stop: () => undefined };
    this.holders.set(task.stepRunId, hold);
    this.active++;
    try {
      hold.outcome = this.runClaimed(job, task, progress, hold, previous);
      return await hold.outcome;
    } finally {
      this.active--;
      if (this.holders.get(task.stepRunId) === hold) this.holders.delete(task.stepRunId);
    }
  }

  private async runClaimed(
    job: Job<TaskJobData, string>,
    task: StepTask,
    progress: { push(event: StepTaskEvent): void; close(): Promise<void> },
    hold: Holder,
    previous: Holder | undefined,
  ): Promise<{ encoded: string; result?: StepTaskResult }> {
    const claim = randomUUID();
    if (!(await this.claims.call({ stepRunId: task.stepRunId, attemptId: task.attemptId, claim })))
      return { encoded: await this.superseded(task) };
    // A pickup after a stalled one continues the attempt count rather than reusing its number.
    const pickups = Math.max(1, job.attemptsStarted ?? 1);
    const run = { ...task, attemptsBefore: task.attemptsBefore + pickups - 1 };
    const recent: string[] = [];
    const onEvent = (event: StepTaskEvent) => {
      if (event.type === "log") {
        recent.push(event.line.line);
        if (recent.length > 40) recent.shift();
      }
      progress.push(event);
      if (event.type === "work-done") releaseSlot?.(performance.now() - workStarted);
    };
    let heartbeat: NodeJS.Timeout | undefined;
    let result: StepTaskResult;
    let taken = false;
    let releaseSlot: ((workMs: number) => void) | undefined;
    let workStarted = 0;
    let refused: string | undefined;
    /** Whether this pickup is the step run's task in the run's executor now (one pickup at a time is). */
    let submitted = false;
    let records: RecordWriter | undefined;
    try {
      taken = !!task.bundleDigest;
      const context = await this.runs.contextFor(task);
      records = context.records;
      hold.stop = (reason) => {
        refused ??= reason;
        if (submitted) context.executor.cancel(task.stepRunId, reason);
      };
      // An earlier dispatch of the step run still running here lost its claim: it stops before this
      // one starts, as the run's executor holds a step run once.
      if (previous) {
        previous.stop("a newer dispatch of the task took it over");
        await previous.outcome.catch(() => undefined);
      }
      // A refused heartbeat: another pickup took the task over, or the orchestrator cancelled it.
      heartbeat = setInterval(() => {
        void this.fences.heartbeat(task.stepRunId, claim, Date.now()).then(
          (held) => {
            if (!held) hold.stop("the task was cancelled or taken over");
          },
          () => undefined,
        );
      }, this.opts.heartbeatMs);
      releaseSlot = await this.slots.acquire();
      workStarted = performance.now();
      this.opts.onTask?.({ type: "started", task });
      // Cancelled or taken over while it waited for a slot: it never starts (its commit is refused anyway).
      submitted = !refused;
      result = refused
        ? { status: "cancelled", attemptId: task.attemptId, attempts: run.attemptsBefore, reason: refused }
        : await context.executor.submit(run, onEvent);
      submitted = false;
      releaseSlot(performance.now() - workStarted);
      // Inline outputs go with the attempt's records (downstream workers read them by digest), and the
      // result with both (commitWithRecords). Live events leave first, ahead of the completion.
      if ("output" in result)
        context.records.putArtifacts(result.output.artifacts.filter((a) => a.bytes !== undefined));
      await progress.close();
    } catch (err) {
      result = {
        status: "failed",
        attemptId: task.attemptId,
        attempts: run.attemptsBefore + 1,
        error: describeError(err),
        startedAt: Date.now(),
      };
    } finally {
      releaseSlot?.(performance.now() - workStarted);
      clearInterval(heartbeat);
      if (taken) this.runs.done(task);
      await progress.close();
    }
    if (result.status === "failed") result = { ...result, error: this.onThisWorker(task, result.error, recent) };
    this.opts.onTask?.({ type: "ended", task, status: result.status });
    this.takeAsManyAsSlotsAllow();
    const commit = {
      stepRunId: task.stepRunId,
      attemptId: task.attemptId,
      claim,
      result: encodeStepTaskResult(result),
    };
    const landed = await this.commitWithRecords(commit, records, (error) => {
      result = {
        status: "failed",
        attemptId: task.attemptId,
        attempts: run.attemptsBefore + 1,
        error: this.onThisWorker(task, describeError(error), recent),
        startedAt: Date.now(),
      };
      return encodeStepTaskResult(result);
    });
    if (landed) return { encoded: landed, result };
    return { encoded: await this.superseded(task) };
  }

  /**
   * Commits a pickup's result once its run's records (attempts, logs, inline outputs) are written: in
   * their statement where the store can. Records that could not be written fail the task (`failed`
   * gives the result saying so). The committed result's text, or undefined when the fence refused it.
   */
  private async commitWithRecords(
    commit: FenceCommit,
    records: RecordWriter | undefined,
    failed: (error: unknown) => string,
  ): Promise<string | undefined> {
    if (records) {
      const rider: CommitRider = { commit };
      await records.ride(rider);
      if (rider.landed !== undefined) return rider.landed ? commit.result : undefined;
      const error = await records.flush().then(
        () => undefined,
        (err: unknown) => err,
      );
      if (error !== undefined) commit = { ...commit, result: failed(error) };
    }
    return (await this.commits.call(commit)) ? commit.result : undefined;
  }

  /**
   * While steps are short, the queue hands this worker more tasks than it has slots (see step-slots.ts);
   * batches carry enough tasks each, so then it holds a batch per slot and one more waiting.
   */
  private takeAsManyAsSlotsAllow(): void {
    const wanted = this.batches ? this.slots.size * JOBS_PER_SLOT : this.slots.tasksToTake;
    for (const worker of this.workers) if (worker.concurrency !== wanted) worker.concurrency = wanted;
  }

  /** What a pickup that may not commit answers: the committed result if there is one, else a note. */
  private async superseded(task: StepTask): Promise<string> {
    const fence = await this.fences.get(task.stepRunId);
    if (fence?.state === "committed" && fence.attemptId === task.attemptId && fence.result) {
      decodeStepTaskResult(fence.result);
      return fence.result;
    }
    return JSON.stringify({ superseded: true, worker: this.label });
  }

  /** A failure names the worker it happened on; a missing module or program says so. */
  private onThisWorker(task: StepTask, error: ErrorInfo, recentLines: string[]): ErrorInfo {
    const missing = missingDependency(error, recentLines);
    const fields = { ...error.fields, step: task.stepId, worker: this.label };
    if (missing)
      return {
        ...error,
        code: "WORKER_MISSING_DEPENDENCY",
        message: `step "${task.stepId}" failed on worker ${this.label}: ${missing} is not installed there`,
        hint:
          `install ${missing} on worker ${this.label} (or send the step to a queue whose workers have it), ` +
          `then \`trainyard resume ${task.runId}\``,
        fields,
      };
    return { ...error, message: `${error.message} (on worker ${this.label})`, fields };
  }
}

/** A pickup running here: its dispatch, how it ends, and how to stop it. */
interface Holder {
  attemptId: string;
  /** How it ended (its commit included). */
  outcome: Promise<{ encoded: string; result?: StepTaskResult }>;
  stop(reason: string): void;
}

/** One item of a batch job's progress: a task's live event, or its committed result. */
interface BatchItem {
  stepRunId: string;
  event?: StepTaskEvent;
  result?: string;
}

function batchProgressOf(items: BatchItem[]): BatchProgress {
  const progress: BatchProgress = { tasks: {} };
  for (const item of items) {
    if (item.event) (progress.tasks[item.stepRunId] ??= []).push(item.event);
    if (item.result !== undefined) (progress.results ??= {})[item.stepRunId] = item.result;
  }
  return progress;
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
