/**
 * Transactions on the PostgreSQL metadata database: one pooled connection, run again from the start
 * when they lost a race (`retryOn`) or the server went away under them (postgres-reconnect.ts: the
 * server rolled them back).
 *
 * One case is not a rollback: the connection lost after COMMIT reached the server and before its
 * answer came back. Run again then, a rollback of an alias would roll back twice, and a deletion would
 * report the alias gone. So each transaction first records its own random id in `record_batches`; a
 * run again that finds the id there (waiting, if need be, for the first run to end) knows the first
 * committed, and answers with its result.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { isConnectionLoss, reconnectWindow, stayedAway } from "./postgres-reconnect.js";
import type { Queryable } from "./postgres-rows.js";

/**
 * Guard rows are pruned once they are this old: a statement or transaction is sent again only within
 * the pool's reconnect window (`reconnectWithinMs`, a minute unless configured).
 */
export const GUARD_KEPT_MS = 3600_000;
/** One guarded statement or transaction in this many (per process) also prunes old guard rows. */
const PRUNE_EVERY = 256;
let sincePrune = 0;

/**
 * Whether this guarded statement or transaction is the one in `PRUNE_EVERY` that also prunes. The
 * count is shared, so a process that only runs transactions prunes what it adds as well.
 */
export function guardPruneDue(): boolean {
  if (++sincePrune < PRUNE_EVERY) return false;
  sincePrune = 0;
  return true;
}

export interface TransactionOptions {
  /** The statement that opens it. @default "BEGIN" */
  begin?: string;
  /** SQLSTATE codes (lost races) on which it runs again, up to `attempts` times in all. */
  retryOn?: ReadonlySet<string>;
  /** @default 1 */
  attempts?: number;
  /**
   * Whether it records its id (see the header). Off only for the schema's own migration, which runs
   * before `record_batches` exists and is idempotent anyway. @default true
   */
  guarded?: boolean;
}

export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (c: Queryable) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  const deadline = Date.now() + reconnectWindow(pool);
  const id = opts.guarded === false ? undefined : randomUUID();
  /** The result of a run whose COMMIT was sent and whose answer was lost. */
  let sent: { out: T } | undefined;
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    // A connection lost under a checked-out client is also emitted as an event, which the pool listens
    // for only while the client is idle: unheard, it would end the process. The failed query reports it.
    client.on("error", ignoreLostConnection);
    const release = (broken?: Error) => {
      client.removeListener("error", ignoreLostConnection);
      client.release(broken);
    };
    let committing: { out: T } | undefined;
    try {
      await client.query(opts.begin ?? "BEGIN");
      if (id !== undefined) {
        const first = await client.query(
          `INSERT INTO record_batches (id, written_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
          [id, Date.now()],
        );
        if (!first.rowCount && sent) {
          await client.query("ROLLBACK");
          release();
          return sent.out;
        }
        if (guardPruneDue())
          await client.query(`DELETE FROM record_batches WHERE written_at < $1`, [Date.now() - GUARD_KEPT_MS]);
      }
      committing = { out: await fn(client) };
      await client.query("COMMIT");
      release();
      return committing.out;
    } catch (err) {
      // A failed ROLLBACK means a broken connection: drop it rather than return it to the pool.
      const broken = await client.query("ROLLBACK").then(
        () => undefined,
        (e: Error) => e,
      );
      release(broken);
      if (isConnectionLoss(err)) {
        if (Date.now() >= deadline) throw stayedAway(err, reconnectWindow(pool));
        sent = committing ?? sent;
        attempt--;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (attempt >= (opts.attempts ?? 1) || !opts.retryOn?.has(String((err as { code?: unknown }).code))) throw err;
    }
  }
}

function ignoreLostConnection(): void {}
