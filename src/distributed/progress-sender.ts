/** Sends a running task's live events (logs, metrics, attempts) back as job progress, in batches. */
import type { StepTaskEvent } from "../engine/step-task.js";
import type { ProgressBatch } from "./task-job.js";

/** A batch goes out this often at most: one Redis write per batch rather than per log line. */
const BATCH_MS = 100;
/**
 * Attempts and the end of a step's work go out within this: soon enough for the live view and a
 * pool's slot, and a short step's events all leave with its end (one Redis write, not three).
 */
const PROMPT_MS = 20;
/** Events kept per batch; beyond it log lines are dropped from the live view (the run's record keeps them). */
const MAX_EVENTS = 500;

export class ProgressSender {
  private batch: StepTaskEvent[] = [];
  private timer?: NodeJS.Timeout;
  /** When the pending batch goes out. */
  private due = 0;
  private sending: Promise<unknown> = Promise.resolve();

  constructor(private readonly send: (batch: ProgressBatch) => Promise<unknown>) {}

  push(event: StepTaskEvent): void {
    if (this.batch.length >= MAX_EVENTS && event.type === "log") return;
    this.batch.push(event);
    const wait = event.type !== "log" && event.type !== "metric" ? PROMPT_MS : BATCH_MS;
    if (this.timer && this.due <= Date.now() + wait) return;
    clearTimeout(this.timer);
    this.due = Date.now() + wait;
    this.timer = setTimeout(() => this.flush(), wait);
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
