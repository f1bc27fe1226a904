/**
 * Writes a sample of served requests to the prediction log, batched: requests only push to an
 * in-memory queue, and one transaction per interval writes it out, so logging never sits on
 * the request path. The queue is bounded; when the store falls behind, entries are dropped and
 * counted rather than growing memory without limit.
 */
import { RepeatedFailures } from "../core/repeated-failures.js";
import type { PredictionLogEntry, RegistryStore } from "../store/registry-store.js";

const WHAT = "prediction log write";

/** Failures said on stderr, when the server gives no log of its own. */
export function stderrFailures(): RepeatedFailures {
  return new RepeatedFailures((line) => process.stderr.write(`trainyard serve: ${line}\n`));
}

export interface PredictionLoggerOptions {
  /** Fraction of requests logged, 0..1. @default 0.01 */
  sample?: number;
  /** Flush the queue this often. @default 250 */
  flushMs?: number;
  /** Entries kept waiting at most; later ones are dropped until a flush. @default 10000 */
  maxQueue?: number;
  /** Told how many entries were written and dropped by each flush (metrics). */
  onFlush?: (written: number, dropped: number) => void;
  /**
   * Told when a flush fails (the batch is lost, serving continues) and when one works again: once, then
   * once a minute while the store keeps failing. @default says so on stderr
   */
  failures?: RepeatedFailures;
}

export class PredictionLogger {
  private queue: PredictionLogEntry[] = [];
  private dropped = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  readonly sample: number;
  private readonly failures: RepeatedFailures;

  constructor(
    private readonly registry: RegistryStore,
    private readonly opts: PredictionLoggerOptions = {},
  ) {
    this.sample = Math.min(1, Math.max(0, opts.sample ?? 0.01));
    this.failures = opts.failures ?? stderrFailures();
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
      .then(() => {
        this.opts.onFlush?.(batch.length, dropped);
        this.failures.succeeded(WHAT);
      })
      .catch((err: unknown) => {
        this.opts.onFlush?.(0, dropped + batch.length);
        this.failures.failed(WHAT, err);
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
