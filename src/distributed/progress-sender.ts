/** Sends a running task's live events (logs, metrics, attempts) back as job progress, in batches. */
import type { StepTaskEvent } from "../engine/step-task.js";

/** A batch goes out this often at most: one Redis write per batch rather than per log line. */
const BATCH_MS = 100;
/**
 * Attempts and the end of a step's work go out within this: soon enough for the live view and a
 * pool's slot, and a short step's events all leave with its end (one Redis write, not three).
 */
const PROMPT_MS = 20;
/** Events kept per batch; beyond it log lines are dropped from the live view (the run's record keeps them). */
const MAX_EVENTS = 500;

/** Whether an event goes out promptly (attempts, work done), or may wait for the next batch (logs, metrics). */
export function isPromptEvent(event: StepTaskEvent): boolean {
  return event.type !== "log" && event.type !== "metric";
}

/**
 * Items (a task's events; a batch job's events and results) sent in groups. `prompt` items leave
 * within PROMPT_MS, others within BATCH_MS; `droppable` ones are left out of an overfull group.
 */
export class ProgressSender<T = StepTaskEvent> {
  private batch: T[] = [];
  private timer?: NodeJS.Timeout;
  /** When the pending batch goes out. */
  private due = 0;
  private sending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly send: (items: T[]) => Promise<unknown>,
    private readonly prompt: (item: T) => boolean = isPromptEvent as (item: T) => boolean,
    private readonly droppable: (item: T) => boolean = (item) => (item as StepTaskEvent).type === "log",
  ) {}

  push(item: T): void {
    if (this.batch.length >= MAX_EVENTS && this.droppable(item)) return;
    this.batch.push(item);
    const wait = this.prompt(item) ? PROMPT_MS : BATCH_MS;
    if (this.timer && this.due <= Date.now() + wait) return;
    clearTimeout(this.timer);
    this.due = Date.now() + wait;
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Sends what is left and waits for every send (the sender stays usable). */
  async close(): Promise<void> {
    this.flush();
    await this.sending;
  }

  /**
   * Waits for the sends under way and hands back the items not sent yet, unsent: a caller about to
   * send them another way (a batch job's return value) saves a write.
   */
  async takeUnsent(): Promise<T[]> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sending;
    const items = this.batch;
    this.batch = [];
    return items;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.batch.length) return;
    const items = this.batch;
    this.batch = [];
    this.sending = this.sending.then(() => this.send(items).catch(() => undefined));
  }
}
