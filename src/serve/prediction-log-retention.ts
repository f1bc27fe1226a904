/**
 * Keeps the prediction log bounded while serving: every `everyMs` a pass deletes the oldest rows
 * that are past the age or row limit, in small batches with the event loop free between them,
 * so a backlog (a log that grew before retention existed) drains without stalling requests.
 */
import type { RepeatedFailures } from "../core/repeated-failures.js";
import type { RegistryStore } from "../store/registry-store.js";
import { stderrFailures } from "./prediction-logger.js";

const WHAT = "pruning the prediction log";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PredictionLogRetentionOptions {
  /** Rows older than this many days are deleted; 0 keeps them by age. @default 30 */
  maxAgeDays?: number;
  /** At most this many rows are kept (the newest); 0 keeps any number. @default 1000000 */
  maxRows?: number;
  /** How often a pass runs, in ms. @default 10000 */
  everyMs?: number;
  /** Most rows one delete statement removes; a pass repeats it until caught up. @default 2000 */
  batchRows?: number;
  /** Told how many rows each pass deleted (metrics). */
  onPrune?: (deleted: number) => void;
  /** Told when a pass fails (serving continues; the next pass tries again), as prediction-logger.ts is. */
  failures?: RepeatedFailures;
}

/** The defaults, in one place for the CLI's help and docs/serving.md. */
export const PREDICTION_LOG_RETENTION = { maxAgeDays: 30, maxRows: 1_000_000 } as const;

export class PredictionLogRetention {
  private readonly timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  readonly maxAgeMs: number;
  readonly maxRows: number;
  private readonly failures: RepeatedFailures;

  constructor(
    private readonly registry: RegistryStore,
    private readonly opts: PredictionLogRetentionOptions = {},
  ) {
    this.failures = opts.failures ?? stderrFailures();
    const days = opts.maxAgeDays ?? PREDICTION_LOG_RETENTION.maxAgeDays;
    const rows = opts.maxRows ?? PREDICTION_LOG_RETENTION.maxRows;
    this.maxAgeMs = days > 0 && Number.isFinite(days) ? days * DAY_MS : 0;
    this.maxRows = rows > 0 && Number.isFinite(rows) ? Math.floor(rows) : 0;
    if (!this.maxAgeMs && !this.maxRows) return;
    this.timer = setInterval(() => void this.prune(), opts.everyMs ?? 10_000);
    this.timer.unref();
  }

  /** One pass: deletes batches until nothing is past the limits; concurrent calls share it. */
  prune(): Promise<void> {
    if (this.running) return this.running;
    if (this.stopped || (!this.maxAgeMs && !this.maxRows)) return Promise.resolve();
    this.running = this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops the timer and waits for a pass in flight, which ends after its current batch. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    const limit = Math.max(1, this.opts.batchRows ?? 2000);
    const policy = {
      limit,
      before: this.maxAgeMs ? Date.now() - this.maxAgeMs : undefined,
      keepRows: this.maxRows || undefined,
    };
    let total = 0;
    try {
      for (;;) {
        const deleted = await this.registry.prunePredictionLogs(policy);
        total += deleted;
        if (deleted < limit || this.stopped) break;
        // Requests run between batches: a long backlog costs many short pauses, not one long one.
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.failures.succeeded(WHAT);
    } catch (err) {
      this.failures.failed(WHAT, err);
    }
    if (total > 0) this.opts.onPrune?.(total);
  }
}
