/** Row <-> record conversions shared by the SQLite and PostgreSQL tick stores (same columns). */
import type { ErrorInfo } from "../core/errors.js";
import type { LeaderLease, QueuedRun, TickRecord, TriggerState } from "./tick-store.js";

export type Row = Record<string, any>;

export const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
const parse = <T>(v: unknown): T | undefined =>
  v === null || v === undefined ? undefined : (JSON.parse(String(v)) as T);
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

export function tickValues(t: TickRecord): unknown[] {
  return [t.trigger, t.key, t.kind, t.scheduledAt, t.evaluatedAt, t.status, t.reason, json(t.event), json(t.error)];
}

export function rowToTick(r: Row, runIds?: string[]): TickRecord {
  return {
    trigger: r.trigger,
    key: r.key,
    kind: r.kind,
    scheduledAt: Number(r.scheduled_at),
    evaluatedAt: Number(r.evaluated_at),
    status: r.status,
    reason: r.reason,
    event: parse(r.event),
    error: parse<ErrorInfo>(r.error),
    runIds,
  };
}

export function queuedValues(q: QueuedRun): unknown[] {
  return [
    q.runId,
    q.trigger,
    q.tickKey,
    q.pipeline,
    q.modulePath,
    JSON.stringify(q.params),
    q.profile ?? null,
    q.priority,
    q.createdAt,
    q.status,
    q.launchedAt ?? null,
    q.launchedBy ?? null,
    q.reason ?? null,
    q.serial ? 1 : 0,
  ];
}

export function rowToQueued(r: Row): QueuedRun {
  return {
    runId: r.run_id,
    trigger: r.trigger,
    tickKey: r.tick_key,
    pipeline: r.pipeline,
    modulePath: r.module_path,
    params: JSON.parse(r.params),
    profile: str(r.profile),
    priority: Number(r.priority),
    createdAt: Number(r.created_at),
    status: r.status,
    launchedAt: num(r.launched_at),
    launchedBy: str(r.launched_by),
    reason: str(r.reason),
    ...(Number(r.serial) ? { serial: true } : {}),
  };
}

export function rowToState(r: Row): TriggerState {
  return {
    trigger: r.trigger,
    cursor: parse(r.cursor),
    paused: Boolean(Number(r.paused)),
    evaluatedAt: num(r.evaluated_at),
    lastTickAt: num(r.last_tick_at),
    failures: Number(r.failures),
    backoffUntil: num(r.backoff_until),
    lastError: parse<ErrorInfo>(r.last_error),
  };
}

export function rowToLease(r: Row): LeaderLease {
  return {
    name: r.name,
    holder: r.holder,
    acquiredAt: Number(r.acquired_at),
    expiresAt: Number(r.expires_at),
    heartbeatAt: Number(r.heartbeat_at),
  };
}

export const QUEUE_COLUMNS =
  "run_id, trigger, tick_key, pipeline, module_path, params, profile, " +
  "priority, created_at, status, launched_at, launched_by, reason, serial";
export const QUEUE_COLUMN_COUNT = 14;
export const TICK_COLUMNS = "trigger, key, kind, scheduled_at, evaluated_at, status, reason, event, error";
