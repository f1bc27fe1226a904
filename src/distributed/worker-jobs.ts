/**
 * How a worker answers a queue job: a lone task sends its live events as the job's progress; a
 * batch's tasks run side by side, each result sent back as progress as it lands, and what was not
 * sent yet when the batch ends goes with the job's return value. Apart from the pickups: this is
 * the job's encoding, not a task's fence.
 */
import type { Job } from "bullmq";
import { decodeStepTask, type StepTaskEvent } from "../engine/step-task.js";
import { ProgressSender } from "./progress-sender.js";
import type { TaskPickups } from "./task-pickups.js";
import type { BatchJobResult, BatchProgress, ProgressBatch, TaskJobData } from "./task-job.js";

/** One item of a batch job's progress: a task's live event, or its committed result. */
interface BatchItem {
  stepRunId: string;
  event?: StepTaskEvent;
  result?: string;
}

/** A job carrying one task: its encoded result (or a superseded pickup's note) is the job's return value. */
export async function runTaskJob(
  job: Job<TaskJobData, string>,
  encoded: string,
  pickups: TaskPickups,
): Promise<string> {
  const progress = new ProgressSender((events) => job.updateProgress({ events } satisfies ProgressBatch));
  return (await pickups.run(job, decodeStepTask(encoded), progress)).encoded;
}

/**
 * A batch's tasks run side by side within this worker's slots, each claimed and committed under
 * its own fence; each committed result goes back as progress as it lands (within PROMPT_MS), and
 * the events and results still waiting when the last task ends go with the job's end.
 */
export async function runBatchJob(
  job: Job<TaskJobData, string>,
  encodedTasks: string[],
  pickups: TaskPickups,
): Promise<string> {
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
      const ended = await pickups.run(job, task, events);
      // A committed result travels once, as progress or with the job's end; should a progress write
      // fail, the orchestrator reads the task's fence.
      if (ended.result) sender.push({ stepRunId, result: ended.encoded });
      else results[stepRunId] = ended.encoded;
    }),
  );
  // A batch of short tasks often ends before its first progress write is due: that write would only
  // precede the completion, which carries the same items (the orchestrator reads events, then results).
  const unsent = batchProgressOf(await sender.takeUnsent());
  return JSON.stringify({ results: { ...unsent.results, ...results }, tasks: unsent.tasks } satisfies BatchJobResult);
}

function batchProgressOf(items: BatchItem[]): BatchProgress {
  const progress: BatchProgress = { tasks: {} };
  for (const item of items) {
    if (item.event) (progress.tasks[item.stepRunId] ??= []).push(item.event);
    if (item.result !== undefined) (progress.results ??= {})[item.stepRunId] = item.result;
  }
  return progress;
}
