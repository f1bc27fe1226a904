/**
 * Writes a sample of served requests to the prediction log, batched: requests only push to an
 * in-memory queue, and one transaction per interval writes it out, so logging never sits on
 * the request path. The queue is bounded; when the store falls behind, entries are dropped and
 * counted rather than growing memory without limit.
 */
import type { PredictionLogEntry, RegistryStore } from "../store/registry-store.js";

export interface PredictionLoggerOptions {
  /** Fraction of requests logged, 0..1. @default 0.01 */
  sample?: number;
  /** Flush the queue this often. @default 250 */
  flushMs?: number;
  /** Entries kept waiting at most; later ones are dropped until a flush. @default 10000 */
  maxQueue?: number;
  /** Told how many entries were written and dropped by each flush (metrics). */
  onFlush?: (written: number, dropped: number) => void;
  /** Told when a flush fails (the batch is lost, serving continues). @default writes to stderr */
  onError?: (err: unknown) => void;
}

export class PredictionLogger {
  private queue: PredictionLogEntry[] = [];
  private dropped = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  readonly sample: number;

  constructor(
    private readonly registry: RegistryStore,
    private readonly opts: PredictionLoggerOptions = {},
  ) {
    this.sample = Math.min(1, Math.max(0, opts.sample ?? 0.01));
    if (this.sample > 0) {
      this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 250);
      this.timer.unref();
    }
  }

  /** Whether to log this request: decided before building the entry, so unsampled requests cost nothing. */
  shouldLog(): boolean {
    return this.sample > 0 && (this.sample >= 1 || Math.random() < this.sample);
  }

  push(entry: PredictionLogEntry): void {
    if (this.queue.length >= (this.opts.maxQueue ?? 10_000)) {
      this.dropped++;
      return;
    }
    this.queue.push(entry);
  }

  /** Writes what is queued; concurrent calls share one write. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (!this.queue.length && !this.dropped) return Promise.resolve();
    const batch = this.queue;
    const dropped = this.dropped;
    this.queue = [];
    this.dropped = 0;
    this.flushing = this.registry
      .appendPredictionLogs(batch)
      .then(() => this.opts.onFlush?.(batch.length, dropped))
      .catch((err: unknown) => {
        this.opts.onFlush?.(0, dropped + batch.length);
        (
          this.opts.onError ??
          ((e) => process.stderr.write(`trainyard serve: prediction log write failed: ${(e as Error).message}\n`))
        )(err);
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }
}
