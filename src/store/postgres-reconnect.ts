/**
 * Riding out a PostgreSQL restart (a minor-version upgrade, a failover, a crash and its recovery):
 * a statement or transaction that failed because the server or its connection went away is sent
 * again on a new connection, with backoff, for up to a minute. Before this, a restart during a run
 * failed the run's next record write (ECONNREFUSED): the run ended, still marked running, without
 * the records of the steps that had finished meanwhile.
 *
 * What is sent again was rolled back by the server when its session ended, except in the instant
 * between a COMMIT reaching the server and its answer coming back. Sent again then, a record batch
 * or a transaction finds its own id already recorded and writes nothing (postgres-record-batch.ts,
 * postgres-transaction.ts); a fence commit, a run's creation, a daemon's launch and an idempotency
 * key meet their own earlier change and say so; a claim or heartbeat by the same pickup applies the
 * same again (docs/metadata-stores.md).
 */
import type pg from "pg";
import { TrainyardError } from "../core/errors.js";

/** How long a statement keeps trying while the server is away, unless the metadata config says otherwise. */
export const RECONNECT_WITHIN_MS = 60_000;
const FIRST_WAIT_MS = 50;
const LONGEST_WAIT_MS = 1000;

/** Socket errors of a server that is down or restarting. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * Whether `err` says the server or the connection went away rather than that the statement was
 * refused: SQLSTATE class 08 (connection exception) and 57P01-57P03 (shut down by the administrator,
 * crashed, not yet accepting connections), a socket error, or node-postgres's own words for a
 * connection that ended under it.
 */
export function isConnectionLoss(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? "");
  if (/^08/.test(code) || /^57P0[123]$/.test(code) || SOCKET_CODES.has(code)) return true;
  const message = (err as Error)?.message ?? "";
  return /Connection terminated|Client has encountered a connection error|server closed the connection/i.test(message);
}

/** Runs `attempt` until it succeeds, fails otherwise than by a lost connection, or the server stays away too long. */
export async function reconnecting<T>(attempt: () => Promise<T>, withinMs = RECONNECT_WITHIN_MS): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (let wait = FIRST_WAIT_MS; ; wait = Math.min(LONGEST_WAIT_MS, wait * 2)) {
    try {
      return await attempt();
    } catch (err) {
      if (!isConnectionLoss(err)) throw err;
      if (Date.now() + wait > deadline) throw stayedAway(err, withinMs);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** The error of a write that waited `withinMs` for the server in vain: what happened and what to do. */
export function stayedAway(err: unknown, withinMs: number): TrainyardError {
  return new TrainyardError(
    "METADATA_UNAVAILABLE",
    `the PostgreSQL metadata store stayed unreachable for ${withinMs / 1000} s: ${(err as Error).message}`,
    {
      cause: err,
      hint:
        "once the server is back, `trainyard resume <run id>` continues a run this stopped; " +
        "`reconnectWithinMs` in the metadata config sets how long writes wait for it",
    },
  );
}

const windows = new WeakMap<pg.Pool, number>();

/** How long statements on `pool` wait for a server that went away (the metadata's `reconnectWithinMs`). */
export function reconnectWindow(pool: pg.Pool): number {
  return windows.get(pool) ?? RECONNECT_WITHIN_MS;
}

/**
 * Makes the pool's `query` and `connect` ride out a restart (see the header) for up to `withinMs`; a
 * transaction's own retry is inTransaction's. Applied once the schema is migrated: a wrong address
 * still fails at open.
 */
export function reconnectingPool(pool: pg.Pool, withinMs = RECONNECT_WITHIN_MS): pg.Pool {
  windows.set(pool, withinMs);
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
  // Only the promise forms are used by the stores; a callback form is passed through as it is.
  pool.query = ((...args: unknown[]) =>
    typeof args[args.length - 1] === "function"
      ? query(...args)
      : reconnecting(() => query(...args), withinMs)) as unknown as typeof pool.query;
  pool.connect = ((...args: unknown[]) =>
    args.length
      ? (connect as (...a: unknown[]) => unknown)(...args)
      : reconnecting(async () => heardWhileOut(await connect()), withinMs)) as typeof pool.connect;
  return pool;
}

/**
 * A connection lost under a checked-out client is also emitted as an event, which the pool listens for
 * only while the client is idle: unheard, it would end the process. The client's failed query reports it.
 * The listener goes when the client is released.
 */
function heardWhileOut(client: pg.PoolClient): pg.PoolClient {
  const ignore = () => undefined;
  client.on("error", ignore);
  const release = client.release.bind(client);
  client.release = (err?: Error | boolean) => {
    client.removeListener("error", ignore);
    return release(err);
  };
  return client;
}
