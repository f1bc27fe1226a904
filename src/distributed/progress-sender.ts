/** Sends a running task's live events (logs, metrics, attempts) back as job progress, in batches. */
import type { StepTaskEvent } from "../engine/step-task.js";
import type { ProgressBatch } from "./task-job.js";

/** A batch goes out this often at most: one Redis write per batch rather than per log line. */
const BATCH_MS = 100;
/** Events kept per batch; beyond it log lines are dropped from the live view (the run's record keeps them). */
const MAX_EVENTS = 500;

export class ProgressSender {
  private batch: StepTaskEvent[] = [];
  private timer?: NodeJS.Timeout;
  private sending: Promise<unknown> = Promise.resolve();

  constructor(private readonly send: (batch: ProgressBatch) => Promise<unknown>) {}

  push(event: StepTaskEvent): void {
    if (this.batch.length >= MAX_EVENTS && event.type === "log") return;
    this.batch.push(event);
    // Attempts and the end of the step's work go out at once: the orchestrator frees a slot on them.
    if (event.type !== "log" && event.type !== "metric") this.flush();
    else this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  /** Sends what is left and waits for every send. */
  async close(): Promise<void> {
    this.flush();
    await this.sending;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.batch.length) return;
    const events = this.batch;
    this.batch = [];
    this.sending = this.sending.then(() => this.send({ events }).catch(() => undefined));
  }
}
