/**
 * Dynamic batching: predict requests whose bodies arrive in the same event-loop turn are scored
 * with one `predictRows` call. A call has a fixed cost (building the feature matrix, walking the
 * trees' setup) far above its per-row cost, so under concurrency this is most of the server's
 * throughput. Nothing waits for a batch to fill: the batch is whatever is queued when the turn's
 * I/O is done (`setImmediate`), so a lone request pays no extra latency.
 *
 * Rows are independent, so a batch's predictions split back per request. If the batched call
 * fails (one request sent a bad row), each request of the batch is retried on its own, so every
 * request gets its own answer and its own error, with row numbers relative to its own body.
 */
import type { ServedPredictor } from "./predictor-port.js";

export interface PredictBatcherOptions {
  /** Most rows scored in one call; a larger request is scored on its own. @default 256 */
  maxBatchRows?: number;
}

interface Pending {
  rows: unknown[];
  resolve: (predictions: unknown[]) => void;
  reject: (err: unknown) => void;
}

export class PredictBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private scheduled = false;
  private readonly maxRows: number;

  constructor(
    private readonly predictor: ServedPredictor,
    opts: PredictBatcherOptions = {},
  ) {
    this.maxRows = opts.maxBatchRows ?? 256;
  }

  predict(rows: unknown[]): Promise<unknown[]> {
    if (rows.length >= this.maxRows) return this.predictor.predictRows(rows);
    return new Promise((resolve, reject) => {
      if (this.queuedRows + rows.length > this.maxRows) this.flush();
      this.queue.push({ rows, resolve, reject });
      this.queuedRows += rows.length;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (!batch.length) return;
    this.queue = [];
    this.queuedRows = 0;
    if (batch.length === 1) {
      const [only] = batch;
      this.predictor.predictRows(only.rows).then(only.resolve, only.reject);
      return;
    }
    void this.scoreBatch(batch);
  }

  private async scoreBatch(batch: Pending[]): Promise<void> {
    const all: unknown[] = [];
    for (const p of batch) for (const r of p.rows) all.push(r);
    let out: unknown[] | undefined;
    try {
      out = await this.predictor.predictRows(all);
    } catch {
      out = undefined;
    }
    if (out && out.length === all.length) {
      let offset = 0;
      for (const p of batch) {
        p.resolve(out.slice(offset, offset + p.rows.length));
        offset += p.rows.length;
      }
      return;
    }
    // Some request in the batch is at fault (or the predictor miscounted): answer each alone.
    for (const p of batch) this.predictor.predictRows(p.rows).then(p.resolve, p.reject);
  }
}
