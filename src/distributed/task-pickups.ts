/**
 * A worker's pickups of tasks: each is claimed under its fence, run by the run's local executor
 * within a step slot while its heartbeat holds the claim, and committed with the run's records,
 * so only the current pickup of the current dispatch ever lands. Apart from the worker's queue
 * handling because a lone task and each task of a batch go through it alike.
 */
import { randomUUID } from "node:crypto";
import type { Job } from "bullmq";
import { describeError, type ErrorInfo } from "../core/errors.js";
import { GroupedCalls } from "../core/grouped-calls.js";
import type { RecordWriter } from "../engine/record-writer.js";
import {
  decodeStepTaskResult,
  encodeStepTaskResult,
  type StepTask,
  type StepTaskEvent,
  type StepTaskResult,
} from "../engine/step-task.js";
import { afterRecordedAttempts } from "../engine/task-handover.js";
import type { MetadataStore } from "../store/metadata-store.js";
import type { FenceClaim, FenceCommit, TaskFence, TaskFenceStore } from "../store/task-fence.js";
import { missingDependency } from "./missing-dependency.js";
import type { CommitRider } from "./records-with-commits.js";
import type { StepSlots } from "./step-slots.js";
import type { TaskJobData } from "./task-job.js";
import type { WorkerRuns } from "./worker-runs.js";

/**
 * Told of each task as it starts and ends, or is dropped unrun or uncommitted (with the reason):
 * the CLI prints a line.
 */
export type TaskNotice = (event: {
  type: "started" | "ended" | "dropped";
  task: StepTask;
  status?: string;
  reason?: string;
}) => void;

/** Where a pickup's live events go: the job's progress, alone or beside a batch's other tasks. */
export interface TaskProgress {
  push(event: StepTaskEvent): void;
  close(): Promise<void>;
}

/** How a pickup ended: its encoded result, with `result` set when this pickup committed it. */
export interface PickupOutcome {
  encoded: string;
  result?: StepTaskResult;
}

export interface TaskPickupsOptions {
  /** `<hostname>/<worker id>`, as fences and errors name the worker. */
  label: string;
  runs: WorkerRuns;
  slots: StepSlots;
  /** Where a pickup taken over after a stalled one reads the attempts recorded so far. */
  metadata: Pick<MetadataStore, "listAttempts">;
  /** The worker's fence store, once it started. */
  fences: () => TaskFenceStore;
  heartbeatMs: number;
  onTask?: TaskNotice;
  /** Called as each task's work ends, before its commit: the worker sizes what it takes next. */
  onWorkEnded: () => void;
}

/** A pickup running here: its dispatch, how it ends, and how to stop it. */
interface Holder {
  attemptId: string;
  /** How it ended (its commit included). */
  outcome: Promise<PickupOutcome>;
  stop(reason: string): void;
}

export class TaskPickups {
  private active = 0;
  /** Tasks ending together share one statement for their fence commits. */
  private readonly commits = new GroupedCalls<FenceCommit, boolean>((commits) =>
    this.opts.fences().commitMany(commits, Date.now()),
  );
  /** A batch's tasks (and tasks taken together) are claimed with one statement. */
  private readonly claims = new GroupedCalls<Omit<FenceClaim, "worker">, boolean>((claims) =>
    this.opts.fences().claimMany(
      claims.map((c) => ({ ...c, worker: this.opts.label })),
      Date.now(),
    ),
  );
  /** The pickup of each step run running here now (see runClaimed). */
  private readonly holders = new Map<string, Holder>();

  constructor(private readonly opts: TaskPickupsOptions) {}

  /** Tasks running here now. */
  get running(): number {
    return this.active;
  }

  /**
   * Claims, runs, stores and commits one task: its encoded result, with `result` set when this
   * pickup committed it (else a superseded pickup's answer).
   */
  async run(job: Job<TaskJobData, string>, task: StepTask, progress: TaskProgress): Promise<PickupOutcome> {
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
    progress: TaskProgress,
    hold: Holder,
    previous: Holder | undefined,
  ): Promise<PickupOutcome> {
    const claim = randomUUID();
    if (!(await this.claims.call({ stepRunId: task.stepRunId, attemptId: task.attemptId, claim })))
      return { encoded: await this.superseded(task, "not run") };
    // A pickup after a stalled one continues the attempt count rather than reusing its number: past every
    // attempt the stalled pickup recorded (its retries too), and past one at least (it may have recorded none).
    const pickups = Math.max(1, job.attemptsStarted ?? 1);
    let run = { ...task, attemptsBefore: task.attemptsBefore + pickups - 1 };
    if (pickups > 1) run = await afterRecordedAttempts(this.opts.metadata, run);
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
      const context = await this.opts.runs.contextFor(task);
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
      // A refused heartbeat: another pickup took the task over, or the orchestrator cancelled it. One at a
      // time: while the database is away, a heartbeat waits for it (postgres-reconnect.ts).
      let beating = false;
      heartbeat = setInterval(() => {
        if (beating) return;
        beating = true;
        void this.opts
          .fences()
          .heartbeat(task.stepRunId, claim, Date.now())
          .then(
            (held) => {
              if (!held) hold.stop("the task was cancelled or taken over");
            },
            () => undefined,
          )
          .finally(() => {
            beating = false;
          });
      }, this.opts.heartbeatMs);
      releaseSlot = await this.opts.slots.acquire();
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
      if (taken) this.opts.runs.done(task);
      await progress.close();
    }
    if (result.status === "failed") result = { ...result, error: this.onThisWorker(task, result.error, recent) };
    this.opts.onTask?.({ type: "ended", task, status: result.status });
    this.opts.onWorkEnded();
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
    // A commit sent again after its answer was lost (postgres-reconnect.ts) finds the fence it committed.
    const fence = await this.opts.fences().get(task.stepRunId);
    if (fence?.state === "committed" && fence.claim === claim && fence.result === encodeStepTaskResult(result))
      return { encoded: fence.result, result };
    return { encoded: await this.superseded(task, "its result not committed", fence) };
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
   * What a pickup the fence refused answers: the committed result if there is one, else a note. The
   * task is dropped (`what` says at which point), and the worker says why.
   */
  private async superseded(task: StepTask, what: string, read?: TaskFence): Promise<string> {
    const fence = read ?? (await this.opts.fences().get(task.stepRunId));
    this.opts.onTask?.({ type: "dropped", task, reason: `${what}: ${refusal(fence, task)}` });
    if (fence?.state === "committed" && fence.attemptId === task.attemptId && fence.result) {
      decodeStepTaskResult(fence.result);
      return fence.result;
    }
    return JSON.stringify({ superseded: true, worker: this.opts.label });
  }

  /** A failure names the worker it happened on; a missing module or program says so. */
  private onThisWorker(task: StepTask, error: ErrorInfo, recentLines: string[]): ErrorInfo {
    const label = this.opts.label;
    const missing = missingDependency(error, recentLines);
    const fields = { ...error.fields, step: task.stepId, worker: label };
    if (missing)
      return {
        ...error,
        code: "WORKER_MISSING_DEPENDENCY",
        message: `step "${task.stepId}" failed on worker ${label}: ${missing} is not installed there`,
        hint:
          `install ${missing} on worker ${label} (or send the step to a queue whose workers have it), ` +
          `then \`trainyard resume ${task.runId}\``,
        fields,
      };
    return { ...error, message: `${error.message} (on worker ${label})`, fields };
  }
}

/** Why the fence refused a pickup of `task`, as the fence reads now. */
function refusal(fence: TaskFence | undefined, task: StepTask): string {
  // gc removes the fences of runs that finished (or are too old to resume): such a task is never run.
  if (!fence) return "its task fence is gone (its run finished and gc removed it)";
  if (fence.attemptId !== task.attemptId) return "a newer dispatch of the step superseded this one";
  if (fence.state === "committed") return "its result was committed already (or the run cancelled it)";
  return `another pickup took it over (${fence.worker ?? "another worker"})`;
}
