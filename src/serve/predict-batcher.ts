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
 *
 * The server's hot path uses `submit` (a callback, no promise per request) and, when the
 * predictor scores in-process, its synchronous `predictRowsSync`.
 */
import type { ServedPredictor } from "./predictor-port.js";

export interface PredictBatcherOptions {
  /** Most rows scored in one call; a larger request is scored on its own. @default 256 */
  maxBatchRows?: number;
}

/** Receives a request's predictions, or the error that rejected its rows. */
export type PredictCallback = (err: unknown, predictions?: unknown[]) => void;

interface Pending {
  rows: unknown[];
  done: PredictCallback;
}

export class PredictBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private scheduled = false;
  private readonly maxRows: number;
  private readonly flushQueued = () => this.flush();

  constructor(
    private readonly predictor: ServedPredictor,
    opts: PredictBatcherOptions = {},
  ) {
    this.maxRows = opts.maxBatchRows ?? 256;
  }

  predict(rows: unknown[]): Promise<unknown[]> {
    return new Promise((resolve, reject) =>
      this.submit(rows, (err, predictions) => (err === undefined ? resolve(predictions!) : reject(err))),
    );
  }

  /** Queues `rows` for the next batch; `done` is called exactly once, never synchronously. */
  submit(rows: unknown[], done: PredictCallback): void {
    if (rows.length >= this.maxRows) {
      this.queueAlone(rows, done);
      return;
    }
    if (this.queuedRows + rows.length > this.maxRows) this.flush();
    this.queue.push({ rows, done });
    this.queuedRows += rows.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushQueued);
    }
  }

  /** A request too large to share a call is scored alone, still off the caller's stack. */
  private queueAlone(rows: unknown[], done: PredictCallback): void {
    if (this.predictor.predictRowsSync) setImmediate(() => this.score(rows, done));
    else this.score(rows, done);
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (!batch.length) return;
    this.queue = [];
    this.queuedRows = 0;
    if (batch.length === 1) {
      this.score(batch[0].rows, batch[0].done);
      return;
    }
    const all: unknown[] = [];
    for (const p of batch) for (const r of p.rows) all.push(r);
    this.score(all, (err, out) => {
      if (err === undefined && out && out.length === all.length) {
        let offset = 0;
        for (const p of batch) {
          p.done(undefined, out.length === p.rows.length ? out : out.slice(offset, offset + p.rows.length));
          offset += p.rows.length;
        }
        return;
      }
      // Some request in the batch is at fault (or the predictor miscounted): answer each alone.
      for (const p of batch) this.score(p.rows, p.done);
    });
  }

  /** One predictor call; `done` gets its result. */
  private score(rows: unknown[], done: PredictCallback): void {
    const sync = this.predictor.predictRowsSync;
    if (!sync) {
      this.predictor.predictRows(rows).then(
        (out) => done(undefined, out),
        (err: unknown) => done(err === undefined ? new Error("predict failed") : err),
      );
      return;
    }
    let out: unknown[];
    try {
      out = sync.call(this.predictor, rows);
    } catch (err) {
      done(err === undefined ? new Error("predict failed") : err);
      return;
    }
    done(undefined, out);
  }
}
