/**
 * PostgreSQL tick ledger, sharing the metadata store's pool and schema. Uniqueness does the
 * fencing: a tick is inserted ON CONFLICT DO NOTHING, a queued run is launched by a conditional
 * UPDATE, and the leader lease is an upsert that only replaces an expired or own lease, so two
 * daemons on one database never both act. Only types come from `pg`.
 */
import type pg from "pg";
import { crashPoint } from "../core/crash-point.js";
import type { ErrorInfo } from "../core/errors.js";
import type { PostgresMetadataOptions, PostgresMetadataStore } from "./postgres-metadata-store.js";
import type { Queryable } from "./postgres-rows.js";
import { applyMigrations } from "./postgres-schema-versions.js";
import { inTransaction } from "./postgres-transaction.js";
import { POSTGRES_TICK_MIGRATIONS } from "./tick-migrations.js";
import {
  json,
  QUEUE_COLUMN_COUNT,
  QUEUE_COLUMNS,
  queuedValues,
  rowToLease,
  rowToQueued,
  rowToState,
  rowToTick,
  TICK_COLUMNS,
  tickValues,
  type Row,
} from "./tick-rows.js";
import type { LeaderLease, QueuedRun, QueuedRunStatus, TickRecord, TickStore, TriggerState } from "./tick-store.js";

const RETRYABLE = new Set(["40001", "40P01", "23505"]);
const params = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(", ");

export class PostgresTickStore implements TickStore {
  readonly backend = "postgres";
  private readonly pool: pg.Pool;
  private readonly ready: Promise<void>;

  constructor(
    private readonly metadata: PostgresMetadataStore,
    private readonly opts: { closeMetadata?: boolean } = {},
  ) {
    this.pool = metadata.connectionPool;
    this.ready = this.migrate();
    this.ready.catch(() => undefined);
  }

  static async open(opts: PostgresMetadataOptions): Promise<PostgresTickStore> {
    const { PostgresMetadataStore } = await import("./postgres-metadata-store.js");
    const store = new PostgresTickStore(await PostgresMetadataStore.open(opts), { closeMetadata: true });
    await store.ready;
    return store;
  }

  private async migrate(): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('trainyard.ticks.migrate.' || current_schema()))`);
      await applyMigrations(c, "tick_migrations", POSTGRES_TICK_MIGRATIONS);
    });
  }

  private async rows(sql: string, args: unknown[] = []): Promise<Row[]> {
    await this.ready;
    return (await this.pool.query(sql, args)).rows;
  }

  private async transaction<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    await this.ready;
    return inTransaction(this.pool, fn, {
      begin: "BEGIN ISOLATION LEVEL READ COMMITTED",
      retryOn: RETRYABLE,
      attempts: 5,
    });
  }

  async close(): Promise<void> {
    if (this.opts.closeMetadata) await this.metadata.close();
  }

  async recordTick(
    tick: TickRecord,
    opts: { runs?: QueuedRun[]; cursor?: unknown } = {},
  ): Promise<{ created: boolean; tick: TickRecord }> {
    return this.transaction(async (c) => {
      const inserted = await c.query(
        `INSERT INTO trigger_ticks (${TICK_COLUMNS}) VALUES (${params(9)}) ON CONFLICT (trigger, ` +
          `key) DO NOTHING RETURNING key`,
        tickValues(tick),
      );
      if (!inserted.rowCount) {
        const row = (
          await c.query(`SELECT * FROM trigger_ticks WHERE trigger = $1 AND key = $2`, [tick.trigger, tick.key])
        ).rows[0];
        return { created: false, tick: rowToTick(row, await runIdsOf(c, tick.trigger, tick.key)) };
      }
      crashPoint("tick-created");
      for (const run of opts.runs ?? []) {
        await c.query(
          `INSERT INTO run_queue (${QUEUE_COLUMNS}) VALUES (${params(QUEUE_COLUMN_COUNT)}) ON CONFLICT ` +
            `(run_id) DO NOTHING`,
          queuedValues(run),
        );
      }
      await c.query(`INSERT INTO trigger_state (trigger) VALUES ($1) ON CONFLICT (trigger) DO NOTHING`, [tick.trigger]);
      await c.query(
        `UPDATE trigger_state SET last_tick_at = GREATEST(COALESCE(last_tick_at, ` +
          `0), $1), evaluated_at = $2 WHERE trigger = $3`,
        [tick.scheduledAt, tick.evaluatedAt, tick.trigger],
      );
      if ("cursor" in opts)
        await c.query(`UPDATE trigger_state SET cursor = $1 WHERE trigger = $2`, [json(opts.cursor), tick.trigger]);
      return { created: true, tick: { ...tick, runIds: (opts.runs ?? []).map((r) => r.runId) } };
    });
  }

  async getTick(trigger: string, key: string): Promise<TickRecord | undefined> {
    const row = (await this.rows(`SELECT * FROM trigger_ticks WHERE trigger = $1 AND key = $2`, [trigger, key]))[0];
    return row && rowToTick(row, await runIdsOf(this.pool, trigger, key));
  }

  async listTicks(trigger: string, opts: { limit?: number; before?: number } = {}): Promise<TickRecord[]> {
    const rows = await this.rows(
      `SELECT * FROM trigger_ticks WHERE trigger = $1 AND ` +
        `evaluated_at < $2 ORDER BY evaluated_at DESC, key DESC LIMIT $3`,
      [trigger, opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit ?? 100],
    );
    return Promise.all(rows.map(async (r) => rowToTick(r, await runIdsOf(this.pool, r.trigger, r.key))));
  }

  async getTriggerState(trigger: string): Promise<TriggerState | undefined> {
    const row = (await this.rows(`SELECT * FROM trigger_state WHERE trigger = $1`, [trigger]))[0];
    return row && rowToState(row);
  }

  async listTriggerStates(): Promise<TriggerState[]> {
    return (await this.rows(`SELECT * FROM trigger_state ORDER BY trigger COLLATE "C"`)).map(rowToState);
  }

  async setPaused(trigger: string, paused: boolean): Promise<void> {
    await this.rows(
      `INSERT INTO trigger_state (trigger, ` +
        `paused) VALUES ($1, $2) ON CONFLICT (trigger) DO UPDATE SET paused = EXCLUDED.paused`,
      [trigger, paused ? 1 : 0],
    );
  }

  async noteEvaluation(
    trigger: string,
    note: { at: number; error?: ErrorInfo; backoffUntil?: number; cursor?: unknown },
  ): Promise<void> {
    await this.transaction(async (c) => {
      await c.query(`INSERT INTO trigger_state (trigger) VALUES ($1) ON CONFLICT (trigger) DO NOTHING`, [trigger]);
      await c.query(
        `UPDATE trigger_state SET ` +
          `evaluated_at = $1, failures = ${note.error ? "failures + 1" : "0"}, backoff_until = $2, last_error = $3
         WHERE trigger = $4`,
        [note.at, note.backoffUntil ?? null, json(note.error), trigger],
      );
      if ("cursor" in note)
        await c.query(`UPDATE trigger_state SET cursor = $1 WHERE trigger = $2`, [json(note.cursor), trigger]);
    });
  }

  async listQueuedRuns(opts: { status?: QueuedRunStatus; pipeline?: string } = {}): Promise<QueuedRun[]> {
    const rows = await this.rows(
      `SELECT * FROM run_queue WHERE status = $1 AND ($2::text IS NULL ` +
        `OR pipeline = $2) ORDER BY priority DESC, created_at, run_id`,
      [opts.status ?? "queued", opts.pipeline ?? null],
    );
    return rows.map(rowToQueued);
  }

  async getQueuedRun(runId: string): Promise<QueuedRun | undefined> {
    const row = (await this.rows(`SELECT * FROM run_queue WHERE run_id = $1`, [runId]))[0];
    return row && rowToQueued(row);
  }

  async enqueueRuns(runs: QueuedRun[]): Promise<void> {
    await this.transaction(async (c) => {
      for (const run of runs) {
        await c.query(
          `INSERT INTO run_queue (${QUEUE_COLUMNS}) VALUES (${params(QUEUE_COLUMN_COUNT)}) ON CONFLICT ` +
            `(run_id) DO NOTHING`,
          queuedValues(run),
        );
      }
    });
  }

  async markLaunched(runId: string, by: string, at: number, relaunchFrom?: string): Promise<boolean> {
    const r = await this.pool.query(
      // The last condition is this very launch, sent again after its answer was lost (postgres-reconnect.ts).
      `UPDATE run_queue SET status = 'launched', launched_at = $1, launched_by = $2
       WHERE run_id = $3 AND (status = 'queued' OR (status = 'launched' AND launched_by = $4)
         OR (status = 'launched' AND launched_by = $2 AND launched_at = $1))`,
      [at, by, runId, relaunchFrom ?? "\u0001none"],
    );
    return r.rowCount === 1;
  }

  async cancelQueued(runId: string, reason: string): Promise<boolean> {
    // A transaction, so that one sent again after its COMMIT's answer was lost answers with its first
    // run's "cancelled" rather than "not queued" (postgres-transaction.ts).
    return this.transaction(async (c) => {
      const r = await c.query(
        `UPDATE run_queue SET status = 'cancelled', reason = $1 WHERE run_id = $2 AND status = 'queued'`,
        [reason, runId],
      );
      return r.rowCount === 1;
    });
  }

  async acquireLease(
    name: string,
    holder: string,
    ttlMs: number,
    now: number,
  ): Promise<{ acquired: boolean; lease: LeaderLease }> {
    await this.ready;
    const taken = await this.pool.query(
      `INSERT INTO daemon_leases (name, holder, acquired_at, expires_at, heartbeat_at) VALUES ($1, $2, $3, $4, $3)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
         heartbeat_at = EXCLUDED.heartbeat_at,
         acquired_at = CASE WHEN daemon_leases.holder = EXCLUDED.holder THEN daemon_leases.acquired_at
           ELSE EXCLUDED.acquired_at END
       WHERE daemon_leases.holder = EXCLUDED.holder OR daemon_leases.expires_at <= $3
       RETURNING *`,
      [name, holder, now, now + ttlMs],
    );
    if (taken.rowCount) return { acquired: true, lease: rowToLease(taken.rows[0]) };
    return { acquired: false, lease: (await this.getLease(name))! };
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.rows(`DELETE FROM daemon_leases WHERE name = $1 AND holder = $2`, [name, holder]);
  }

  async getLease(name: string): Promise<LeaderLease | undefined> {
    const row = (await this.rows(`SELECT * FROM daemon_leases WHERE name = $1`, [name]))[0];
    return row && rowToLease(row);
  }

  async claimIdempotencyKey(
    key: string,
    requestDigest: string,
    runId: string,
    at: number,
  ): Promise<{ runId: string; fresh: boolean; sameRequest: boolean }> {
    await this.ready;
    const ins = await this.pool.query(
      `INSERT INTO idempotency_keys (key, request_digest, run_id, ` +
        `at) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING RETURNING run_id`,
      [key, requestDigest, runId, at],
    );
    if (ins.rowCount) return { runId, fresh: true, sameRequest: true };
    const row = (await this.rows(`SELECT * FROM idempotency_keys WHERE key = $1`, [key]))[0];
    const sameRequest = row.request_digest === requestDigest;
    // The run id is new for each request: finding it is this claim, sent again after its answer was lost.
    if (sameRequest && row.run_id === runId) return { runId, fresh: true, sameRequest };
    return { runId: row.run_id, fresh: false, sameRequest };
  }
}

async function runIdsOf(c: Queryable, trigger: string, key: string): Promise<string[]> {
  const rows = (
    await c.query(`SELECT run_id FROM run_queue WHERE trigger = $1 AND tick_key = $2 ORDER BY run_id`, [trigger, key])
  ).rows;
  return rows.map((r: Row) => r.run_id as string);
}
