/**
 * Ordered schema migrations of the tick ledger, for SQLite and PostgreSQL. They live in the
 * metadata database but are tracked in their own `tick_migrations` table. Times are epoch ms
 * (INTEGER in SQLite, DOUBLE PRECISION in PostgreSQL); JSON fields are text.
 */
const schema = (time: string) => `
  CREATE TABLE trigger_ticks (
    trigger TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, scheduled_at ${time} NOT NULL,
    evaluated_at ${time} NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, event TEXT, error TEXT,
    PRIMARY KEY (trigger, key)
  );
  CREATE INDEX trigger_ticks_time ON trigger_ticks (trigger, evaluated_at);
  CREATE TABLE trigger_state (
    trigger TEXT PRIMARY KEY, cursor TEXT, paused INTEGER NOT NULL DEFAULT 0, evaluated_at ${time},
    last_tick_at ${time}, failures INTEGER NOT NULL DEFAULT 0, backoff_until ${time}, last_error TEXT
  );
  CREATE TABLE run_queue (
    run_id TEXT PRIMARY KEY, trigger TEXT NOT NULL, tick_key TEXT NOT NULL, pipeline TEXT NOT NULL,
    module_path TEXT NOT NULL, params TEXT NOT NULL, profile TEXT, priority INTEGER NOT NULL DEFAULT 0,
    created_at ${time} NOT NULL, status TEXT NOT NULL, launched_at ${time}, launched_by TEXT, reason TEXT
  );
  CREATE INDEX run_queue_status ON run_queue (status, priority, created_at);
  CREATE INDEX run_queue_tick ON run_queue (trigger, tick_key);
  CREATE TABLE daemon_leases (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, acquired_at ${time} NOT NULL, expires_at ${time} NOT NULL,
    heartbeat_at ${time} NOT NULL
  );
  CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, request_digest TEXT NOT NULL, run_id TEXT NOT NULL,
    at ${time} NOT NULL);
`;

// 2: a run of a trigger with overlap "queue" is launched only when no other run of its trigger is running.
const serialRuns = `ALTER TABLE run_queue ADD COLUMN serial INTEGER NOT NULL DEFAULT 0`;

export const SQLITE_TICK_MIGRATIONS: readonly string[] = [schema("INTEGER"), serialRuns];
export const POSTGRES_TICK_MIGRATIONS: readonly string[] = [schema("DOUBLE PRECISION"), serialRuns];
