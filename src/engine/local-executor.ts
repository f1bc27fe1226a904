/**
 * The local executor: runs a run's tasks on this machine, in this process, in isolated child
 * processes or as commands, through their attempts (see attempt-runner.ts). It owns its slots,
 * the run's helper shells and work directories. A plain shell command may be staged beyond the
 * slots, to start the moment a helper shell is free (ShellLauncher.start): the scheduler never
 * sees the difference.
 */
import { beginWork } from "../core/work-in-progress.js";
import { describeError, TrainyardError } from "../core/errors.js";
import type { StepDef } from "../core/step.js";
import { AttemptRunner, Cancelled, RejectedWithOutput, type AttemptJob } from "./attempt-runner.js";
import type { ExecutorContext } from "./executor-registry.js";
import { ShellLauncher } from "./runners/shell-launcher.js";
import type { Executor, StepTask, StepTaskEvent, StepTaskResult } from "./step-task.js";
import { loadTaskInputs } from "./task-inputs.js";
import { WorkdirPool } from "./workdir-pool.js";

export class LocalExecutor implements Executor {
  readonly name = "local";
  /** Tasks holding a slot, staged ones included. */
  private running = 0;
  /** Exclusive tasks holding a slot (at most one). */
  private exclusive = 0;
  private readonly jobs = new Map<string, AttemptJob>();
  private readonly launcher: ShellLauncher;
  private readonly workdirs: WorkdirPool;
  private readonly attempts: AttemptRunner;

  constructor(private readonly ctx: ExecutorContext) {
    this.launcher = new ShellLauncher({ helpers: ctx.concurrency });
    this.workdirs = new WorkdirPool(ctx.env.workRoot, `work-${ctx.run.runId}`);
    this.attempts = new AttemptRunner({
      env: ctx.env,
      run: ctx.run,
      writer: ctx.records,
      runSignal: ctx.signal,
      launcher: this.launcher,
      workdirs: this.workdirs,
      logLimits: ctx.logLimits,
      logCopies: ctx.logCopies,
    });
  }

  get capacity(): number {
    return this.ctx.concurrency;
  }

  hasRoom(task?: StepTask): boolean {
    // An exclusive step (a latency measurement) starts on an idle executor and runs alone.
    if (this.exclusive > 0) return false;
    if (!task) return this.running < this.ctx.concurrency;
    if (task.exclusive) return this.running === 0;
    return this.running < this.ctx.concurrency || this.stageable(task);
  }

  async submit(task: StepTask, onEvent: (event: StepTaskEvent) => void): Promise<StepTaskResult> {
    const def = this.stepDef(task.stepId);
    const exclusive = task.exclusive === true;
    const staged = this.running >= this.ctx.concurrency;
    this.running++;
    if (exclusive) this.exclusive++;
    let holding = true;
    const release = () => {
      if (!holding) return false;
      holding = false;
      this.running--;
      if (exclusive) this.exclusive--;
      return true;
    };
    // The slot is given back as soon as the step's own work is done: storing its outputs and
    // records is Trainyard's work, and the next step's command can run meanwhile.
    const onWorkDone = () => {
      if (release()) onEvent({ type: "work-done" });
    };
    const job: AttemptJob = {
      task,
      def,
      args: [],
      inputs: {},
      onEvent,
      attempts: task.attemptsBefore,
      staged,
      onWorkDone,
    };
    this.jobs.set(task.stepRunId, job);
    // Before its inputs are read: the object cache keeps whatever this step may still read.
    const workEnded = beginWork();
    const ended = () => {
      const finishedAt = Date.now();
      return { attemptId: task.attemptId, attempts: job.attempts, startedAt: job.startedAt ?? finishedAt, finishedAt };
    };
    try {
      Object.assign(job, await loadTaskInputs(task, def, this.ctx.env.io, { verify: this.ctx.verifyInputs }));
      const output = await this.attempts.run(job);
      return { status: "succeeded", ...ended(), output };
    } catch (err) {
      if (err instanceof Cancelled) return { status: "cancelled", ...ended(), reason: err.reason };
      if (err instanceof RejectedWithOutput)
        return { status: "rejected", ...ended(), output: err.output, error: describeError(err.rejected) };
      return { status: "failed", ...ended(), error: describeError(err) };
    } finally {
      workEnded();
      this.jobs.delete(task.stepRunId);
      release();
    }
  }

  cancel(stepRunId: string, reason: string): void {
    const job = this.jobs.get(stepRunId);
    if (!job) return;
    job.cancelReason = reason;
    job.controller?.abort(new Cancelled(reason));
  }

  async close(): Promise<void> {
    this.launcher.close();
    await this.workdirs.close();
  }

  /**
   * A shell command that may be handed to the launcher beyond the slots, to start the moment a
   * helper shell is free: one per slot at most, and never one with a timeout, whose clock would
   * start while it waits.
   */
  private stageable(task: StepTask): boolean {
    if (this.running >= 2 * this.ctx.concurrency || !this.launcher.staging || task.timeoutMs !== undefined)
      return false;
    const def = this.stepDef(task.stepId);
    return def.kind === "command" && typeof def.command?.run === "string" && ShellLauncher.plainNames(def.command.env);
  }

  private stepDef(stepId: string): StepDef {
    const step = this.ctx.run.graph.steps.get(stepId);
    if (!step) {
      const { pipeline, runId } = this.ctx.run;
      const message = `pipeline "${pipeline}" has no step "${stepId}" for a task of run ${runId}`;
      const hint = "the task was planned with other code than this process loaded: run both from the same bundle";
      throw new TrainyardError("STEP_UNKNOWN", message, { step: stepId, runId, hint });
    }
    return step.def;
  }
}
