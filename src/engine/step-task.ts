/**
 * The executor port: a step (or one map item) ready to run is a `StepTask`, plain JSON that any
 * process holding the run's stores can execute, and an `Executor` is what runs such tasks for a
 * run (this machine's processes, or workers behind a queue). The scheduler (executor.ts) decides
 * readiness, caching and fan-out and hands only ready tasks to the executor.
 */
import { TrainyardError, type ErrorInfo } from "../core/errors.js";
import type { ArtifactRecord, LogLine } from "../store/metadata-store.js";

/** Version of the StepTask / StepTaskResult JSON; a reader refuses any other. */
export const STEP_TASK_VERSION = 1;

/** Where an input's value comes from: an upstream step's stored output, optionally a field of it. */
export interface StepInputRef {
  /** The upstream step's output digest (its stored manifest: inline in the metadata store or an object). */
  digest: string;
  /** The field path picked from that output (`from: "train.model"` gives ["model"]); empty for the whole output. */
  path: string[];
  /** The upstream step, for messages. */
  stepId: string;
  /**
   * A small output's manifest bytes (base64), when the sender has them: a worker uses them once they
   * match `digest`, without reading the metadata store.
   */
  inline?: string;
}

/** A step, or one item of a map step, ready to run: everything a worker needs, as plain JSON. */
export interface StepTask {
  /** @see STEP_TASK_VERSION */
  version: typeof STEP_TASK_VERSION;
  runId: string;
  /** The pipeline's name. */
  pipeline: string;
  /** The pipeline module's absolute path (a command step runs in its directory). */
  modulePath: string;
  /**
   * Digest of the pipeline bundle the run planned with, stored as an artifact when the run
   * started: a worker loads exactly this code. Absent for a pipeline built in-process (tests),
   * which only the local executor can run.
   */
  bundleDigest?: string;
  stepId: string;
  /** -1 for a whole step; the item's index for one item of a map step. */
  itemIndex: number;
  /** A map item: the list it is taken from (the map's `over`), indexed by `itemIndex`. */
  over?: StepInputRef;
  /** The params the step declares, resolved (defaults, profile, overrides). */
  params: Record<string, unknown>;
  /** Input values by input name, as references to stored outputs. */
  inputs: Record<string, StepInputRef>;
  /** Input digests by name as they enter the cache key and lineage (`over` included for map items). */
  inputDigests: Record<string, string>;
  /** The step's cache key; absent for a step whose cache is off. */
  cacheKey?: string;
  /** The step run this task completes (`<runId>:<step>` or `<runId>:<step>[<item>]`). */
  stepRunId: string;
  /**
   * The fencing token of this hand-over: unique per dispatch of the step run. A result or record
   * written under another attempt id than the step run's current one is discarded, so a worker
   * that lost its task and finishes late never overwrites a newer attempt's result.
   */
  attemptId: string;
  /** Attempts of this step run made before this task (a resumed run continues the count). */
  attemptsBefore: number;
  /** The queue (pool) the task goes to: the step's `pool` option, else "default". */
  queue: string;
  /** Higher runs first: the step's longest remaining path through the DAG (the critical path). */
  priority: number;
  /** The step's timeout per attempt, in milliseconds; absent for none. */
  timeoutMs?: number;
  /** The step must run alone (a latency measurement): no other task of the run runs beside it. */
  exclusive?: boolean;
}

/** A step's stored output, as an executor reports it: the objects are already in the artifact store. */
export interface StepTaskOutput {
  /** Digest of the output value's manifest. */
  digest: string;
  /** Records of the objects the output stored, and of its manifest (an inline manifest carries its bytes). */
  artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>;
  /** Output field name -> digest, for lineage edges. */
  produced: Array<{ name: string; digest: string }>;
  /**
   * The output value with local paths, when the executor ran the step in this process's file
   * system; absent otherwise, and the scheduler loads it by `digest`. Never serialized.
   */
  value?: unknown;
}

/**
 * How a task ended, after all its attempts. `startedAt` and `finishedAt` are the executor's clock
 * (a worker's): the step's run time, without the result's way back to the orchestrator.
 */
export type StepTaskResult =
  | {
      status: "succeeded";
      attemptId: string;
      attempts: number;
      startedAt: number;
      finishedAt?: number;
      output: StepTaskOutput;
    }
  | { status: "failed"; attemptId: string; attempts: number; startedAt: number; finishedAt?: number; error: ErrorInfo }
  /** A gate's rejection: the step's output is stored (its evidence) and the run ends `rejected`. */
  | {
      status: "rejected";
      attemptId: string;
      attempts: number;
      startedAt: number;
      finishedAt?: number;
      output: StepTaskOutput;
      error: ErrorInfo;
    }
  /** Cancelled by the run, by the scheduler (fail fast) or by a timeout's cancellation of the run. */
  | { status: "cancelled"; attemptId: string; attempts: number; startedAt?: number; reason: string };

/** What happens to a task while it runs, reported back to the scheduler as it happens. */
export type StepTaskEvent =
  /** An attempt started (on a worker: when the worker took it). */
  | { type: "attempt-started"; attempt: number; at: number }
  /** The step's own work ended for the last time (only storing remains): its slot may go to the next task. */
  | { type: "work-done" }
  | { type: "attempt-retry"; attempt: number; delayMs: number; error: ErrorInfo }
  | { type: "log"; attempt: number; line: LogLine }
  | { type: "metric"; attempt: number; name: string; value: number; step?: number }
  | { type: "warning"; attempt: number; message: string };

/**
 * Runs the ready tasks of one run. The scheduler hands a ready task over with `submit` when
 * `hasRoom(task)` says it would start it (in priority order, pool limits applied), awaits its
 * result, calls `cancel` to stop one, and `close` once the run ended. An executor records each
 * attempt, its logs and metrics in the run's records (the local executor writes them itself; a
 * remote one through its workers' fenced commits) and reports them live through `onEvent`.
 */
export interface Executor {
  /** The name it is registered under (see executor-registry.ts), e.g. "local". */
  readonly name: string;
  /** Tasks it has in hand at once (a queue executor: tasks handed to the queue, its `capacity` option). */
  readonly capacity: number;
  /**
   * Whether tasks run in other processes that fetch their own inputs (a queue of workers): then
   * the orchestrator does not fetch a remote store's inputs before handing a task over.
   */
  readonly fetchesInputs?: boolean;
  /**
   * Without a task: whether a slot is free. With one: whether it would start this task now.
   * The scheduler asks before each hand-over and again after a `work-done` event or a result.
   * An exclusive task must get an idle executor and run alone; a queue executor may say yes
   * to every task and let its queue hold them.
   */
  hasRoom(task?: StepTask): boolean;
  /**
   * Runs a task through its attempts (retries with the step's backoff, its timeout per attempt)
   * and resolves with how it ended. Rejects only when the executor itself broke (not for a
   * step's failure, which is a `failed` result).
   */
  submit(task: StepTask, onEvent: (event: StepTaskEvent) => void): Promise<StepTaskResult>;
  /** Stops a submitted task (its whole process tree, wherever it runs); its result is `cancelled`. */
  cancel(stepRunId: string, reason: string): void;
  /** Ends the executor once every submitted task has settled: helper processes, connections, work dirs. */
  close(): Promise<void>;
}

/** A task as one line of JSON. */
export function encodeStepTask(task: StepTask): string {
  return JSON.stringify(task);
}

/** The task in `json`, or TASK_INVALID naming what is wrong with it. */
export function decodeStepTask(json: string): StepTask {
  const task = parseVersioned(json, "step task") as unknown as StepTask;
  for (const field of ["runId", "pipeline", "stepId", "stepRunId", "attemptId"] as const)
    if (typeof task[field] !== "string") invalid("step task", `its field "${field}" is not a string`);
  if (typeof task.itemIndex !== "number") invalid("step task", 'its field "itemIndex" is not a number');
  return task;
}

/** A result as one line of JSON: an inline manifest's bytes travel as base64, a local `value` stays behind. */
export function encodeStepTaskResult(result: StepTaskResult): string {
  if (!("output" in result)) return JSON.stringify(result);
  const { value: _local, ...output } = result.output;
  const artifacts = output.artifacts.map((a) =>
    a.bytes ? { record: a.record, bytes: Buffer.from(a.bytes).toString("base64") } : { record: a.record },
  );
  return JSON.stringify({ ...result, output: { ...output, artifacts } });
}

/** The result in `json`, its inline bytes restored. */
export function decodeStepTaskResult(json: string): StepTaskResult {
  const result = parseVersioned(json, "step task result", false) as unknown as StepTaskResult;
  if ("output" in result)
    for (const a of result.output.artifacts as Array<{ bytes?: unknown }>)
      if (typeof a.bytes === "string") a.bytes = new Uint8Array(Buffer.from(a.bytes, "base64"));
  return result;
}

function parseVersioned(json: string, what: string, versioned = true): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    invalid(what, `it is not JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object") invalid(what, "it is not an object");
  const record = parsed as Record<string, unknown>;
  if (versioned && record.version !== STEP_TASK_VERSION)
    invalid(what, `its version is ${String(record.version)}, this Trainyard reads ${STEP_TASK_VERSION}`);
  return record;
}

function invalid(what: string, problem: string): never {
  throw new TrainyardError("TASK_INVALID", `invalid ${what}: ${problem}`, {
    hint: "run the orchestrator and its workers on the same Trainyard version",
  });
}
