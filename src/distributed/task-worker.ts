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
import type { ArtifactRecord } from "../store/metadata-store.js";
import type { FenceCommit, TaskFenceStore } from "../store/task-fence.js";
import { taskFenceFor } from "../store/task-fence-for.js";
import { openWorker, type StepWorker } from "./queue-backend.js";
import { bullQueueName, type QueueOptions } from "./queue-options.js";
import { ProgressSender } from "./progress-sender.js";
import { missingDependency } from "./missing-dependency.js";
import { StepSlots } from "./step-slots.js";
import { WorkerRuns } from "./worker-runs.js";
import { type TaskJobData, workerLabel } from "./task-job.js";

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
  /** Tasks ending together share one statement for their inline outputs and one for their fence commits. */
  private readonly inlinePuts = new GroupedCalls<Array<{ record: ArtifactRecord; bytes?: Uint8Array }>, void>(
    async (groups) => {
      await this.trainyard.metadata.putArtifacts(groups.flat());
      return groups.map(() => undefined);
    },
  );
  private readonly commits = new GroupedCalls<FenceCommit, boolean>((commits) =>
    this.fences.commitMany(commits, Date.now()),
  );

  constructor(
    private readonly trainyard: Trainyard,
    private readonly opts: TaskWorkerOptions,
  ) {
    this.workerId = opts.workerId ?? `w-${randomBytes(4).toString("hex")}`;
    this.label = workerLabel(this.workerId);
    this.runs = new WorkerRuns(trainyard, opts.concurrency);
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
        name: this.label,
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
    this.active++;
    try {
      return await this.processTask(job);
    } finally {
      this.active--;
    }
  }

  private async processTask(job: Job<TaskJobData, string>): Promise<string> {
    const task = decodeStepTask(job.data.task);
    const claim = randomUUID();
    if (!(await this.fences.claim(task.stepRunId, task.attemptId, claim, this.label, Date.now())))
      return this.superseded(task);
    // A pickup after a stalled one continues the attempt count rather than reusing its number.
    const pickups = Math.max(1, job.attemptsStarted ?? 1);
    const run = { ...task, attemptsBefore: task.attemptsBefore + pickups - 1 };
    const progress = new ProgressSender((batch) => job.updateProgress(batch));
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
    try {
      taken = !!task.bundleDigest;
      const context = await this.runs.contextFor(task);
      // A refused heartbeat: another pickup took the task over, or the orchestrator cancelled it.
      heartbeat = setInterval(() => {
        void this.fences.heartbeat(task.stepRunId, claim, Date.now()).then(
          (held) => {
            if (held) return;
            refused = "the task was cancelled or taken over";
            context.executor.cancel(task.stepRunId, refused);
          },
          () => undefined,
        );
      }, this.opts.heartbeatMs);
      releaseSlot = await this.slots.acquire();
      workStarted = performance.now();
      this.opts.onTask?.({ type: "started", task });
      // Cancelled or taken over while it waited for a slot: it never starts (its commit is refused anyway).
      result = refused
        ? { status: "cancelled", attemptId: task.attemptId, attempts: run.attemptsBefore, reason: refused }
        : await context.executor.submit(run, onEvent);
      releaseSlot(performance.now() - workStarted);
      // Live events leave meanwhile (ahead of the completion); records (attempts, logs) and stored objects
      // are durable before the result that refers to them, and an inline output is readable by the orchestrator.
      const sent = progress.close();
      const inline = "output" in result ? result.output.artifacts.filter((a) => a.bytes !== undefined) : [];
      await Promise.all([context.records.flush(), inline.length ? this.inlinePuts.call(inline) : undefined, sent]);
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
    const encoded = encodeStepTaskResult(result);
    if (await this.commits.call({ stepRunId: task.stepRunId, attemptId: task.attemptId, claim, result: encoded }))
      return encoded;
    return this.superseded(task);
  }

  /** While steps are short, the queue hands this worker more tasks than it has slots (see step-slots.ts). */
  private takeAsManyAsSlotsAllow(): void {
    const wanted = this.slots.tasksToTake;
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
