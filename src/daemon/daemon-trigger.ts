/**
 * What the daemon needs from a trigger, whatever declared it (a schedule, a data sensor, a
 * monitor): an id, the pipeline module its runs come from, and a pure `evaluate` that turns
 * (now, cursor, the trigger's active runs) into ticks and a new cursor. The daemon records what
 * `evaluate` returns and launches the runs; it never interprets cron, files or metrics itself.
 */
import type { TickStatus } from "../store/tick-store.js";

export type DaemonTriggerKind = "schedule" | "sensor" | "monitor" | "run-status";

/** A run of the trigger's pipeline that is waiting for a slot or still running. */
export interface ActiveRun {
  runId: string;
  status: "queued" | "running";
  /** The tick that requested it. */
  tickKey: string;
}

export interface TriggerContext {
  now: number;
  /** The cursor stored with the last tick or evaluation; undefined the first time. */
  cursor: unknown;
  /** This trigger's runs that have not finished, for overlap decisions. */
  activeRuns: readonly ActiveRun[];
}

export interface RunRequestSpec {
  params?: Record<string, unknown>;
  profile?: string;
  /** Higher runs first among queued runs. @default 0 */
  priority?: number;
  /** Launched only while no other run of the trigger is running, in queue order (overlap "queue"). @default false */
  serial?: boolean;
}

export interface TickRequest {
  /** Unique per trigger: the slot's ISO time, or an event key (e.g. a digest set). */
  key: string;
  scheduledAt: number;
  /** "requested" carries runs; "skipped" says why in `reason` (overlap, catch-up limit, same digest). */
  status: Exclude<TickStatus, "failed">;
  reason: string;
  event?: unknown;
  runs?: RunRequestSpec[];
  /** Active runs of the trigger this tick replaces (overlap "cancel-running"); the daemon cancels them. */
  cancelRuns?: string[];
}

export interface TriggerEvaluation {
  ticks: TickRequest[];
  /** The new cursor, stored with the last tick (or alone when there is none). */
  cursor?: unknown;
  /** Do not evaluate again before this time unless woken (a schedule's next slot). @default the next loop */
  nextEvaluationAt?: number;
}

export interface DaemonTrigger {
  /** `<pipeline>/<name>`, the key of its ticks and state. */
  readonly id: string;
  readonly name: string;
  readonly kind: DaemonTriggerKind;
  readonly pipeline: string;
  /** Absolute path of the pipeline module the runs execute. */
  readonly modulePath: string;
  evaluate(ctx: TriggerContext): Promise<TriggerEvaluation> | TriggerEvaluation;
  /** Calls `signal()` when the trigger should be evaluated before its next due time (fs.watch). */
  wake?(signal: () => void): () => void;
}
