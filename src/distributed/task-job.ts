/** What travels through a queue job: the task out, batches of live events back, and a lost task's result. */
import { hostname } from "node:os";
import { describeError, TrainyardError } from "../core/errors.js";
import type { StepTask, StepTaskEvent, StepTaskResult } from "../engine/step-task.js";

/** A job's data: the encoded StepTask, or a batch of them (see task-batches.ts). */
export type TaskJobData = { task: string; tasks?: undefined } | { tasks: string[]; task?: undefined };

/** A worker's live events (attempts, logs, metrics), sent as job progress. */
export interface ProgressBatch {
  events: StepTaskEvent[];
}

/** A batch job's progress: live events and the results of tasks that ended, by step run id. */
export interface BatchProgress {
  tasks: Record<string, StepTaskEvent[]>;
  results?: Record<string, string>;
}

/**
 * A batch job's return value, by step run id: the results not sent as progress (a superseded pickup's
 * note included), and the live events not sent either, which come before the results they precede.
 */
export interface BatchJobResult {
  results: Record<string, string>;
  tasks?: Record<string, StepTaskEvent[]>;
}

/** How a worker names itself in fences and errors: `<hostname>/<worker id>`. */
export function workerLabel(workerId: string): string {
  return `${hostname()}/${workerId}`;
}

/** The result of a task the queue gave up on: every worker that took it stopped answering. */
export function lostTaskResult(task: StepTask, reason: string, worker?: string): StepTaskResult {
  const where = worker ? ` (last on worker ${worker})` : "";
  const error = new TrainyardError(
    "WORKER_LOST",
    `step "${task.stepId}"${where} was lost twice by the workers running it: ${reason}`,
    { step: task.stepId, runId: task.runId, ...(worker ? { worker } : {}) },
  );
  return {
    status: "failed",
    attemptId: task.attemptId,
    attempts: task.attemptsBefore + 1,
    startedAt: Date.now(),
    error: describeError(error),
  };
}
