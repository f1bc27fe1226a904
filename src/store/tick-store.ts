/**
 * The daemon's ledger: every evaluation of a trigger that decided something (a tick), the runs
 * it requested, each trigger's cursor and pause state, the queue of runs waiting for a slot, the
 * leader lease, and API idempotency keys. It lives in the metadata database (own tables and
 * migrations, like the registry). A tick is keyed by (trigger, key), and its run requests and the
 * trigger's new cursor are written in the same transaction, so re-evaluating after a crash is a
 * no-op. One conformance suite (test/store/tick-conformance.ts) runs on SQLite and PostgreSQL.
 */
import type { ErrorInfo } from "../core/errors.js";

/** What a tick decided. */
export type TickStatus = "requested" | "skipped" | "failed";

export interface TickRecord {
  /** `<pipeline>/<trigger name>`. */
  trigger: string;
  /** Unique per trigger: the scheduled time (ISO) of a schedule tick, or an event key. */
  key: string;
  kind: "schedule" | "sensor" | "monitor" | "manual" | "api" | "run-status";
  /** The time the tick is for (a schedule's slot, the event's time). */
  scheduledAt: number;
  evaluatedAt: number;
  status: TickStatus;
  /** Why, in words: "cron slot 2019-03-10T03:00-05:00", "skipped: overlap (run X still running)". */
  reason: string;
  /** What happened: files and digests, the metric and its window. */
  event?: unknown;
  error?: ErrorInfo;
  /** Filled on read: the runs this tick requested. */
  runIds?: string[];
}

export type QueuedRunStatus = "queued" | "launched" | "cancelled";

/** A run a tick (or the API) asked for, with its id fixed before it exists. */
export interface QueuedRun {
  runId: string;
  trigger: string;
  tickKey: string;
  pipeline: string;
  modulePath: string;
  params: Record<string, unknown>;
  profile?: string;
  /** Higher runs first. @default 0 */
  priority: number;
  createdAt: number;
  status: QueuedRunStatus;
  launchedAt?: number;
  /** Who launched it (daemon identity), for adopting orphans. */
  launchedBy?: string;
  reason?: string;
  /** Launched only while no other run of its trigger is running, in queue order (overlap "queue"). @default false */
  serial?: boolean;
}

export interface TriggerState {
  trigger: string;
  cursor?: unknown;
  paused: boolean;
  /** The last time the trigger was evaluated (a heartbeat per trigger). */
  evaluatedAt?: number;
  /** The newest tick recorded. */
  lastTickAt?: number;
  /** Consecutive failed evaluations, and when the next may come. */
  failures: number;
  backoffUntil?: number;
  lastError?: ErrorInfo;
}

export interface LeaderLease {
  name: string;
  holder: string;
  acquiredAt: number;
  expiresAt: number;
  heartbeatAt: number;
}

export interface TickStore {
  readonly backend: string;
  close(): Promise<void>;

  /**
   * Records a tick with the runs it requests and the trigger's new cursor in one transaction.
   * A tick already recorded under (trigger, key) is left as it is: `created` is false and
   * nothing else is written.
   */
  recordTick(
    tick: TickRecord,
    opts?: { runs?: QueuedRun[]; cursor?: unknown },
  ): Promise<{ created: boolean; tick: TickRecord }>;
  getTick(trigger: string, key: string): Promise<TickRecord | undefined>;
  /** Newest first. */
  listTicks(trigger: string, opts?: { limit?: number; before?: number }): Promise<TickRecord[]>;

  getTriggerState(trigger: string): Promise<TriggerState | undefined>;
  listTriggerStates(): Promise<TriggerState[]>;
  setPaused(trigger: string, paused: boolean): Promise<void>;
  /** Notes an evaluation (heartbeat), its failure and backoff, and optionally a cursor. */
  noteEvaluation(
    trigger: string,
    note: { at: number; error?: ErrorInfo; backoffUntil?: number; cursor?: unknown },
  ): Promise<void>;

  /** Queued runs, highest priority then oldest first. */
  listQueuedRuns(opts?: { status?: QueuedRunStatus; pipeline?: string }): Promise<QueuedRun[]>;
  getQueuedRun(runId: string): Promise<QueuedRun | undefined>;
  /** Adds runs not requested by a tick (API, manual); an existing run id is left as it is. */
  enqueueRuns(runs: QueuedRun[]): Promise<void>;
  /** queued -> launched, only if still queued (or launched by `relaunchFrom`): false when another took it. */
  markLaunched(runId: string, by: string, at: number, relaunchFrom?: string): Promise<boolean>;
  cancelQueued(runId: string, reason: string): Promise<boolean>;

  /**
   * Takes or renews the named lease for `holder` until `now + ttlMs`: succeeds when it is free,
   * expired or already held by `holder`. Returns the lease as it stands after the attempt.
   */
  acquireLease(
    name: string,
    holder: string,
    ttlMs: number,
    now: number,
  ): Promise<{ acquired: boolean; lease: LeaderLease }>;
  releaseLease(name: string, holder: string): Promise<void>;
  getLease(name: string): Promise<LeaderLease | undefined>;

  /**
   * Claims an idempotency key for a request: the first claim stores `runId` and returns it; a
   * later claim with the same key returns the stored run id (and whether the request matched).
   */
  claimIdempotencyKey(
    key: string,
    requestDigest: string,
    runId: string,
    at: number,
  ): Promise<{ runId: string; fresh: boolean; sameRequest: boolean }>;
}
