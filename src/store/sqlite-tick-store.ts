/**
 * SQLite tick ledger. It shares the metadata database file and owns its tables. Every write is
 * one IMMEDIATE transaction, so two daemons on one home never both record a tick, launch a
 * queued run or hold the leader lease.
 */
import type Database from "better-sqlite3";
import { crashPoint } from "../core/crash-point.js";
import { SqliteMetadataStore } from "./sqlite-metadata-store.js";
import { SQLITE_TICK_MIGRATIONS } from "./tick-migrations.js";
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

const marks = (n: number) => Array.from({ length: n }, () => "?").join(", ");

export class SqliteTickStore implements TickStore {
  readonly backend = "sqlite";
  private readonly db: Database.Database;

  constructor(
    private readonly metadata: SqliteMetadataStore,
    private readonly opts: { closeMetadata?: boolean } = {},
  ) {
    this.db = metadata.database;
    this.migrate();
  }

  static open(file: string): SqliteTickStore {
    return new SqliteTickStore(new SqliteMetadataStore(file), { closeMetadata: true });
  }

  private migrate(): void {
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS tick_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
    );
    SQLITE_TICK_MIGRATIONS.forEach((sql, i) => {
      this.db
        .transaction(() => {
          if (this.db.prepare(`SELECT 1 FROM tick_migrations WHERE version = ?`).get(i + 1)) return;
          this.db.exec(sql);
          this.db.prepare(`INSERT INTO tick_migrations (version, applied_at) VALUES (?, ?)`).run(i + 1, Date.now());
        })
        .immediate();
    });
  }

  async close(): Promise<void> {
    if (this.opts.closeMetadata) await this.metadata.close();
  }

  async recordTick(
    tick: TickRecord,
    opts: { runs?: QueuedRun[]; cursor?: unknown } = {},
  ): Promise<{ created: boolean; tick: TickRecord }> {
    return this.db
      .transaction(() => {
        const existing = this.tickRow(tick.trigger, tick.key);
        if (existing) return { created: false, tick: existing };
        this.db.prepare(`INSERT INTO trigger_ticks (${TICK_COLUMNS}) VALUES (${marks(9)})`).run(...tickValues(tick));
        crashPoint("tick-created");
        const insert = this.db.prepare(
          `INSERT OR IGNORE INTO run_queue (${QUEUE_COLUMNS}) VALUES (${marks(QUEUE_COLUMN_COUNT)})`,
        );
        for (const run of opts.runs ?? []) insert.run(...queuedValues(run));
        this.ensureState(tick.trigger);
        this.db
          .prepare(
            `UPDATE trigger_state SET last_tick_at = MAX(COALESCE(last_tick_at, ` +
              `0), ?), evaluated_at = ? WHERE trigger = ?`,
          )
          .run(tick.scheduledAt, tick.evaluatedAt, tick.trigger);
        if ("cursor" in opts)
          this.db.prepare(`UPDATE trigger_state SET cursor = ? WHERE trigger = ?`).run(json(opts.cursor), tick.trigger);
        return { created: true, tick: { ...tick, runIds: (opts.runs ?? []).map((r) => r.runId) } };
      })
      .immediate();
  }

  private tickRow(trigger: string, key: string): TickRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM trigger_ticks WHERE trigger = ? AND key = ?`).get(trigger, key) as
      | Row
      | undefined;
    return row && rowToTick(row, this.runIdsOf(trigger, key));
  }

  private runIdsOf(trigger: string, key: string): string[] {
    const rows = this.db
      .prepare(`SELECT run_id FROM run_queue WHERE trigger = ? AND tick_key = ? ORDER BY run_id`)
      .all(trigger, key) as Row[];
    return rows.map((r) => r.run_id);
  }

  private ensureState(trigger: string): void {
    this.db.prepare(`INSERT OR IGNORE INTO trigger_state (trigger) VALUES (?)`).run(trigger);
  }

  async getTick(trigger: string, key: string): Promise<TickRecord | undefined> {
    return this.tickRow(trigger, key);
  }

  async listTicks(trigger: string, opts: { limit?: number; before?: number } = {}): Promise<TickRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM trigger_ticks WHERE trigger = ? AND ` +
          `evaluated_at < ? ORDER BY evaluated_at DESC, key DESC LIMIT ?`,
      )
      .all(trigger, opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit ?? 100) as Row[];
    return rows.map((r) => rowToTick(r, this.runIdsOf(r.trigger, r.key)));
  }

  async getTriggerState(trigger: string): Promise<TriggerState | undefined> {
    const row = this.db.prepare(`SELECT * FROM trigger_state WHERE trigger = ?`).get(trigger) as Row | undefined;
    return row && rowToState(row);
  }

  async listTriggerStates(): Promise<TriggerState[]> {
    return (this.db.prepare(`SELECT * FROM trigger_state ORDER BY trigger`).all() as Row[]).map(rowToState);
  }

  async setPaused(trigger: string, paused: boolean): Promise<void> {
    this.db
      .transaction(() => {
        this.ensureState(trigger);
        this.db.prepare(`UPDATE trigger_state SET paused = ? WHERE trigger = ?`).run(paused ? 1 : 0, trigger);
      })
      .immediate();
  }

  async noteEvaluation(
    trigger: string,
    note: { at: number; error?: import("../core/errors.js").ErrorInfo; backoffUntil?: number; cursor?: unknown },
  ): Promise<void> {
    this.db
      .transaction(() => {
        this.ensureState(trigger);
        const failures = note.error ? `failures + 1` : `0`;
        this.db
          .prepare(
            `UPDATE trigger_state SET evaluated_at = ?, ` +
              `failures = ${failures}, backoff_until = ?, last_error = ? WHERE trigger = ?`,
          )
          .run(note.at, note.backoffUntil ?? null, json(note.error), trigger);
        if ("cursor" in note)
          this.db.prepare(`UPDATE trigger_state SET cursor = ? WHERE trigger = ?`).run(json(note.cursor), trigger);
      })
      .immediate();
  }

  async listQueuedRuns(opts: { status?: QueuedRunStatus; pipeline?: string } = {}): Promise<QueuedRun[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM run_queue WHERE status = ? AND (? IS NULL ` +
          `OR pipeline = ?) ORDER BY priority DESC, created_at, run_id`,
      )
      .all(opts.status ?? "queued", opts.pipeline ?? null, opts.pipeline ?? null) as Row[];
    return rows.map(rowToQueued);
  }

  async getQueuedRun(runId: string): Promise<QueuedRun | undefined> {
    const row = this.db.prepare(`SELECT * FROM run_queue WHERE run_id = ?`).get(runId) as Row | undefined;
    return row && rowToQueued(row);
  }

  async enqueueRuns(runs: QueuedRun[]): Promise<void> {
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO run_queue (${QUEUE_COLUMNS}) VALUES (${marks(QUEUE_COLUMN_COUNT)})`,
    );
    this.db.transaction(() => runs.forEach((r) => insert.run(...queuedValues(r)))).immediate();
  }

  async markLaunched(runId: string, by: string, at: number, relaunchFrom?: string): Promise<boolean> {
    const r = this.db
      .prepare(
        `UPDATE run_queue SET status = 'launched', launched_at = ?, launched_by = ?
         WHERE run_id = ? AND (status = 'queued' OR (status = 'launched' AND launched_by IS ?))`,
      )
      .run(at, by, runId, relaunchFrom ?? "\u0000none");
    return r.changes === 1;
  }

  async cancelQueued(runId: string, reason: string): Promise<boolean> {
    const r = this.db
      .prepare(`UPDATE run_queue SET status = 'cancelled', reason = ? WHERE run_id = ? AND status = 'queued'`)
      .run(reason, runId);
    return r.changes === 1;
  }

  async acquireLease(
    name: string,
    holder: string,
    ttlMs: number,
    now: number,
  ): Promise<{ acquired: boolean; lease: LeaderLease }> {
    return this.db
      .transaction(() => {
        const row = this.db.prepare(`SELECT * FROM daemon_leases WHERE name = ?`).get(name) as Row | undefined;
        const current = row && rowToLease(row);
        if (current && current.holder !== holder && current.expiresAt > now) return { acquired: false, lease: current };
        const acquiredAt = current?.holder === holder ? current.acquiredAt : now;
        this.db
          .prepare(
            `INSERT INTO daemon_leases (name, holder, acquired_at, expires_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at,
               expires_at = excluded.expires_at, heartbeat_at = excluded.heartbeat_at`,
          )
          .run(name, holder, acquiredAt, now + ttlMs, now);
        return { acquired: true, lease: { name, holder, acquiredAt, expiresAt: now + ttlMs, heartbeatAt: now } };
      })
      .immediate();
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.db.prepare(`DELETE FROM daemon_leases WHERE name = ? AND holder = ?`).run(name, holder);
  }

  async getLease(name: string): Promise<LeaderLease | undefined> {
    const row = this.db.prepare(`SELECT * FROM daemon_leases WHERE name = ?`).get(name) as Row | undefined;
    return row && rowToLease(row);
  }

  async claimIdempotencyKey(
    key: string,
    requestDigest: string,
    runId: string,
    at: number,
  ): Promise<{ runId: string; fresh: boolean; sameRequest: boolean }> {
    return this.db
      .transaction(() => {
        const row = this.db.prepare(`SELECT * FROM idempotency_keys WHERE key = ?`).get(key) as Row | undefined;
        if (row)
          return { runId: row.run_id as string, fresh: false, sameRequest: row.request_digest === requestDigest };
        this.db
          .prepare(`INSERT INTO idempotency_keys (key, request_digest, run_id, at) VALUES (?, ?, ?, ?)`)
          .run(key, requestDigest, runId, at);
        return { runId, fresh: true, sameRequest: true };
      })
      .immediate();
  }
}
