/**
 * Runs one step (or map item) through its attempts: builds its context, dispatches it to the
 * inline, isolated or command runner, enforces the timeout, stores its outputs, records each
 * attempt and its logs, and retries with backoff. The scheduler (executor.ts) decides when a
 * task is ready, the local executor (local-executor.ts) when it starts; this decides how.
 */
import {
  asErrorCode,
  describeError,
  isRejected,
  isTrainyardError,
  TrainyardError,
  type Rejected,
} from "../core/errors.js";
import { parseDuration } from "../core/graph.js";
import type { StepDef } from "../core/step.js";
import type { LogLine } from "../store/metadata-store.js";
import { RunLogs } from "./attempt-log.js";
import type { LogSink } from "./log-lines.js";
import type { LogCopies } from "../store/artifact-store.js";
import type { LogLimits } from "./step-log-files.js";
import { digestPath } from "../store/stat-index.js";
import type { FinalizedOutput } from "./artifact-io.js";
import type { ExecuteInput, ExecutorEnv } from "./executor-types.js";
import type { RecordWriter } from "./record-writer.js";
import { compileRetryPolicy, retryDelay, shouldRetry, type CompiledRetryPolicy } from "./retry-policy.js";
import { dispatchStep } from "./runners/step-runner.js";
import type { ShellLauncher } from "./runners/shell-launcher.js";
import { Cancellation } from "./cancellation.js";
import { RunningStepContext, type ContextInit } from "./step-context.js";
import type { WorkdirPool } from "./workdir-pool.js";
import { userFrame, userStackLines } from "./user-frame.js";
import type { StepTask, StepTaskEvent } from "./step-task.js";

/** A task the local executor runs through its attempts, with its inputs loaded. */
export interface AttemptJob {
  readonly task: StepTask;
  readonly def: StepDef;
  readonly args: unknown[];
  readonly inputs: Record<string, unknown>;
  readonly onEvent: (event: StepTaskEvent) => void;
  /** Attempts of the step run so far (from task.attemptsBefore). */
  attempts: number;
  /** When the first attempt of this task started (a staged command: when it really started). */
  startedAt?: number;
  controller?: Cancellation;
  cancelReason?: string;
  /** Called once the step's own work (its function or command) has ended for the last time. */
  onWorkDone?: () => void;
  /** Given beyond the executor's slots: its command may wait for a helper shell (first attempt only). */
  staged?: boolean;
}

export interface AttemptDeps {
  env: ExecutorEnv;
  run: ExecuteInput;
  writer: RecordWriter;
  /** Aborted when the whole run is cancelled. */
  runSignal: AbortSignal;
  launcher: ShellLauncher;
  /** The run's work directories, recycled between attempts. */
  workdirs: WorkdirPool;
  /** Caps of the run's log files (see LogLimits for defaults). */
  logLimits?: Partial<LogLimits>;
  /** Where a worker copies its long logs' files (see RunLogs); unset on the run's own machine. */
  logCopies?: LogCopies;
}

/** Raised into an attempt when its step or the run is cancelled; never retried, never a failure. */
export class Cancelled extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "Cancelled";
  }
}

/** A gate's rejection, carrying the step's stored output up to the scheduler. */
export class RejectedWithOutput extends Error {
  constructor(
    readonly rejected: Rejected,
    readonly output: FinalizedOutput,
  ) {
    super(rejected.message);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Cancelled("the run was cancelled"));
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Cancelled("the run was cancelled"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A step's retry policy, worked out once per step rather than per attempt. */
const policies = new WeakMap<StepDef, CompiledRetryPolicy>();

function policyOf(def: StepDef): CompiledRetryPolicy {
  let policy = policies.get(def);
  if (!policy) policies.set(def, (policy = compileRetryPolicy(def.options.retry)));
  return policy;
}

/** A step's timeout per attempt in milliseconds, as a StepTask carries it. */
export function timeoutOf(def: StepDef): number | undefined {
  return parseDuration(def.options.timeout, def.id);
}

export class AttemptRunner {
  private readonly logs: RunLogs;

  constructor(private readonly deps: AttemptDeps) {
    this.logs = new RunLogs(deps.env.home, deps.run.runId, deps.writer, deps.logLimits, deps.logCopies);
  }

  /** Runs a task through its attempts; with log copies, returns once its log files are copied. */
  async run(job: AttemptJob): Promise<FinalizedOutput> {
    if (!this.deps.logCopies) return this.runAttempts(job);
    try {
      return await this.runAttempts(job);
    } finally {
      await this.logs.copied(job.task.stepRunId);
    }
  }

  private async runAttempts(job: AttemptJob): Promise<FinalizedOutput> {
    const { def, task } = job;
    const policy = policyOf(def);
    const timeoutMs = task.timeoutMs;
    for (let tryNo = 1; ; tryNo++) {
      if (job.cancelReason) throw new Cancelled(job.cancelReason);
      const attempt = ++job.attempts;
      // Cancelling the run cancels every running task (executor.cancelTasks), so an attempt
      // needs no listener of its own on the run's signal.
      const controller = new Cancellation();
      job.controller = controller;
      let startedAt = Date.now();
      job.startedAt ??= startedAt;
      // Only a first attempt can be staged; a retry runs when its slot is free.
      const staged = job.staged
        ? {
            started: () => {
              startedAt = job.startedAt = Date.now();
              job.onEvent({ type: "attempt-started", attempt, at: startedAt });
            },
          }
        : undefined;
      job.staged = false;
      this.deps.writer.saveAttempt({ stepRunId: task.stepRunId, attempt, status: "running", startedAt });
      if (!staged) job.onEvent({ type: "attempt-started", attempt, at: startedAt });
      const log = this.logs.open(task.stepRunId, attempt);
      const onLog: LogSink = (line: LogLine) => {
        log.write(line);
        job.onEvent({ type: "log", attempt, line });
      };
      onLog.block = (stream, lines, count, ts) => {
        log.writeBlock(stream, lines, count, ts);
        // Decoded only if a listener reads it (the CLI's progress display does not).
        const line = {
          ts,
          stream,
          get line() {
            return lines.toString("utf8", 0, lines.length - 1);
          },
        };
        job.onEvent({ type: "log", attempt, line });
      };
      const ctx = new RunningStepContext({
        params: task.params,
        runId: this.deps.run.runId,
        stepId: def.id,
        attempt,
        itemIndex: task.itemIndex >= 0 ? task.itemIndex : undefined,
        cancel: controller,
        workRoot: this.deps.env.workRoot,
        home: this.deps.env.home,
        onLog,
        allocateWorkdir: () => {
          const dir = this.deps.workdirs.acquire();
          return { dir, hasOut: this.deps.workdirs.hasOut(dir) };
        },
        digestFile: async (path) => (await digestPath(this.deps.env.metadata, path, { step: def.id })).digest,
        services: this.deps.env.services && (async () => this.deps.env.services!),
        ...this.metricSinks(job, attempt),
      });
      let timer: NodeJS.Timeout | undefined;
      let workdir: string | undefined;
      let reusable = false;
      try {
        const work = dispatchStep(def, ctx, {
          args: job.args,
          inputs: job.inputs,
          moduleDir: this.deps.run.moduleDir,
          onLog,
          bundlePath: this.deps.run.bundlePath,
          stores: this.deps.env.stores,
          launcher: this.deps.launcher,
          staged,
        });
        const stop = new Promise<never>((_, reject) => {
          controller.onAbort(reject);
          if (timeoutMs !== undefined) {
            timer = setTimeout(() => {
              controller.abort(
                new TrainyardError(
                  "STEP_TIMEOUT",
                  `step "${def.id}" timed out after ${timeoutMs} ms (attempt ${attempt})`,
                  {
                    step: def.id,
                    runId: this.deps.run.runId,
                    hint:
                      `raise its timeout option, ` +
                      `or make it faster; ${
                        def.kind === "inline" && !def.options.isolate
                          ? "set isolate: " + "true so a timeout also kills it"
                          : "its process was killed"
                      }`,
                  },
                ),
              );
            }, timeoutMs);
          }
        });
        stop.catch(() => undefined);
        const result = await Promise.race([work, stop]);
        // No attempt follows this one whatever happens next: its slot can go to the next step.
        if (tryNo >= policy.attempts) job.onWorkDone?.();
        workdir = result.workdir ?? ctx.workdirIfCreated;
        const out = await this.deps.env.io.finalize(result.value, def.id, workdir);
        log.close();
        this.deps.writer.saveAttempt({
          stepRunId: task.stepRunId,
          attempt,
          status: "succeeded",
          startedAt,
          finishedAt: Date.now(),
        });
        reusable = true;
        return out;
      } catch (raw) {
        workdir ??= ctx.workdirIfCreated;
        if (isRejected(raw)) {
          const out = await this.deps.env.io.finalize(raw.output ?? null, def.id, workdir);
          log.close();
          this.deps.writer.saveAttempt({
            stepRunId: task.stepRunId,
            attempt,
            status: "rejected",
            startedAt,
            finishedAt: Date.now(),
            error: describeError(raw),
          });
          throw new RejectedWithOutput(raw, out);
        }
        const cancelled =
          raw instanceof Cancelled ? raw : job.cancelReason ? new Cancelled(job.cancelReason) : undefined;
        const error = cancelled ?? this.wrapError(def.id, raw);
        if (!cancelled) logFailure(onLog, raw);
        log.close();
        this.deps.writer.saveAttempt({
          stepRunId: task.stepRunId,
          attempt,
          status: cancelled ? "cancelled" : "failed",
          startedAt,
          finishedAt: Date.now(),
          error: cancelled ? undefined : describeError(error),
        });
        if (cancelled || !shouldRetry(policy, tryNo, raw)) throw error;
        const delayMs = retryDelay(policy, tryNo);
        job.onEvent({ type: "attempt-retry", attempt, delayMs, error: describeError(error) });
        await sleep(delayMs, this.deps.runSignal);
      } finally {
        // Lines that arrive after the attempt ended (a late child write) are dropped.
        log.close();
        clearTimeout(timer);
        if (workdir) this.deps.workdirs.release(workdir, reusable);
      }
    }
  }

  /** Where a step's metrics, tags and warnings go: the run's records (live) and its events. */
  private metricSinks(job: AttemptJob, attempt: number): Pick<ContextInit, "onMetric" | "onTag" | "onWarning"> {
    const { stepRunId, runId, stepId, itemIndex } = job.task;
    return {
      onMetric: (m) => {
        const point = { stepRunId, runId, stepId, itemIndex, attempt, ...m, ts: Date.now() };
        this.deps.writer.appendMetrics([point]);
        job.onEvent({ type: "metric", attempt, name: m.name, value: m.value, step: m.step });
      },
      onTag: (key, value) => {
        this.deps.writer.appendMetrics([], [{ stepRunId, runId, key, value, ts: Date.now() }]);
      },
      onWarning: (message) => job.onEvent({ type: "warning", attempt, message }),
    };
  }

  /** The one boundary where user-code failures are wrapped, keeping the user's own error code. */
  private wrapError(step: string, err: unknown): unknown {
    if (isTrainyardError(err) && err.fields.step) return err;
    if (isTrainyardError(err))
      return new TrainyardError(err.code, `step "${step}": ${err.message}`, {
        ...err.fields,
        step,
        hint: err.hint,
        cause: err,
      });
    const info = describeError(err);
    return new TrainyardError(
      info.code === "USER_ERROR" ? "STEP_FAILED" : asErrorCode(info.code),
      `step "${step}" failed: ${info.message}`,
      {
        step,
        runId: this.deps.run.runId,
        // Where in the user's own file: the CLI's run summary, `show` and `logs` print it.
        at: userFrame(err),
        cause: err,
        hint:
          info.hint ??
          `the error was raised by the step's own code; ` +
            `see \`trainyard logs ${this.deps.run.runId} ${step}\` for its output`,
      },
    );
  }
}

/** The error ends the attempt's log, with the lines of the user's code it passed through. */
function logFailure(onLog: LogSink, err: unknown): void {
  const ts = Date.now();
  const info = describeError(err);
  onLog({ ts, stream: "log", line: `error: ${info.name}: ${info.message}` });
  for (const line of userStackLines(err)) onLog({ ts, stream: "log", line: `  ${line.trim()}` });
}
