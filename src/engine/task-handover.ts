/**
 * The hand-over between the scheduler and its executor: a ready task becomes a StepTask (plain
 * JSON), and what the executor reports while it runs becomes the run's events.
 */
import { randomUUID } from "node:crypto";
import { timeoutOf } from "./attempt-runner.js";
import type { RunEvent } from "./events.js";
import type { ExecuteInput, Task } from "./executor-types.js";
import { STEP_TASK_VERSION, type StepTask, type StepTaskEvent } from "./step-task.js";
import type { MetadataStore } from "../store/metadata-store.js";

/** The serializable form of a task, made once, when it is first offered to the executor. */
export function stepTaskOf(run: ExecuteInput, task: Task): StepTask {
  const { def, refs, params } = task.step;
  const r = task.record;
  return {
    version: STEP_TASK_VERSION,
    runId: run.runId,
    pipeline: run.pipeline,
    modulePath: run.modulePath ?? run.moduleDir,
    bundleDigest: run.bundleDigest,
    stepId: def.id,
    itemIndex: task.itemIndex,
    over: task.over,
    params,
    inputs: refs,
    inputDigests: task.inputDigests,
    cacheKey: r.cacheKey,
    stepRunId: r.id,
    // A fresh fencing token per hand-over: a result under an older one is not this attempt's.
    attemptId: randomUUID(),
    attemptsBefore: r.attempts,
    queue: def.options.pool ?? "default",
    priority: task.priority,
    timeoutMs: timeoutOf(def),
    exclusive: def.options.exclusive === true || undefined,
  };
}

/**
 * `task` counting its attempts after every attempt recorded for its step run. An earlier dispatch or
 * pickup of the step run may have started attempts its record does not count yet: one still running
 * on a worker when a resumed run hands the step over anew, or one taken over after it stalled. Two
 * attempts under one number would share their attempt record and their log.
 */
export async function afterRecordedAttempts(
  metadata: Pick<MetadataStore, "listAttempts">,
  task: StepTask,
): Promise<StepTask> {
  const recorded = (await metadata.listAttempts(task.stepRunId)).reduce((n, a) => Math.max(n, a.attempt), 0);
  return recorded > task.attemptsBefore ? { ...task, attemptsBefore: recorded } : task;
}

/**
 * What the executor reports while a task runs, as a run event (undefined for `work-done`, which
 * only the scheduler's slot accounting hears). An attempt's start also updates the task's record.
 */
export function runEventOf(task: Task, handover: StepTask, event: StepTaskEvent): RunEvent | undefined {
  const stepId = handover.stepId;
  const itemIndex = task.itemIndex;
  switch (event.type) {
    case "attempt-started":
      task.record.attempts = event.attempt;
      // An attempt may start later than its hand-over (a command waiting for a helper shell).
      if (event.attempt === handover.attemptsBefore + 1) task.record.startedAt = event.at;
      return { type: "step-started", stepId, itemIndex, attempt: event.attempt };
    case "attempt-retry": {
      const { attempt, delayMs, error } = event;
      return { type: "step-retry", stepId, itemIndex, attempt, delayMs, error };
    }
    case "log":
      return { type: "log", stepId, itemIndex, line: event.line };
    case "metric":
      return { type: "metric", stepId, itemIndex, name: event.name, value: event.value, step: event.step };
    case "warning":
      return { type: "warning", stepId, itemIndex, message: event.message };
    case "work-done":
      return undefined;
  }
}
