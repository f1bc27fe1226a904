/**
 * One entry point for the daemon: any trigger, its stored cursor (JSON) and "now" in; run
 * requests, recorded skips, the new cursor and when to look again out. The daemon writes the
 * tick, its runs and the cursor in one transaction, keyed by each request's `key`.
 */
import { TrainyardError } from "../core/errors.js";
import type { CompiledTrigger, LastRunInfo } from "../core/triggers.js";
import type { EventEvaluation } from "./event-request.js";
import { evaluateFileSensor, type FileSensorCursor, type LandedFile } from "./file-sensor.js";
import { evaluateFunctionSensor, type FunctionSensorCursor } from "./function-sensor.js";
import { evaluateRunStatusTrigger, type RunLookup, type RunStatusCursor } from "./run-status-trigger.js";
import { evaluateSqlSensor, type SqlSensorCursor } from "./sql-sensor.js";
import type { LandingSource } from "./landing-folder.js";
import type { MonitorCursor, TriggerRun } from "./monitor-decision.js";
import { evaluateMonitor, type MonitorContext, type MonitorEvent } from "./monitor-evaluate.js";
import { evaluateSchedule, type ScheduleCursor } from "./schedule-ticks.js";
import { sensorSource } from "./trigger-summary.js";

export interface TriggerRunRequest {
  /** Unique per (trigger, tick or event): re-evaluating after a crash yields the same key. */
  key: string;
  trigger: string;
  kind: CompiledTrigger["kind"];
  params: Record<string, unknown>;
  profile?: string;
  /** What started it, in words, for the run's record. */
  reason: string;
  /** The schedule tick it belongs to, epoch ms. */
  tickAt?: number;
  /** The files (and digests) that made a sensor fire. */
  files?: LandedFile[];
  /** What else started it: a query's new value or keys, a function's key, the run that ended, a monitor's windows. */
  event?: Record<string, unknown> | MonitorEvent;
}

export interface TriggerSkip {
  /** The tick's key when one tick was skipped; absent for notes about many files or a range. */
  key?: string;
  at?: number;
  reason: string;
  message: string;
}

export interface TriggerEvaluation {
  requests: TriggerRunRequest[];
  skips: TriggerSkip[];
  /** JSON to store and hand back next time. */
  cursor:
    | ScheduleCursor
    | FileSensorCursor
    | SqlSensorCursor
    | FunctionSensorCursor
    | RunStatusCursor
    | MonitorCursor
    | null;
  /** The earliest instant at which evaluating again can change anything (ticks, settling, debounce). */
  nextWakeAt?: number;
}

export interface TriggerContext {
  /** The pipeline module's folder: relative sensor folders are read from it. */
  moduleDir: string;
  /** Overrides the sensor's local folder (tests, an object-store prefix later). */
  source?: LandingSource;
  /** The engine's runs (a `Trainyard`): run-status triggers read them, function sensors their last run. */
  runs?: RunLookup;
  /** The pipeline the trigger starts, to find the last run it started. */
  pipeline?: string;
  /** What monitors read: the registry (prediction log, aliases) and the reference profile loader. */
  monitor?: Omit<MonitorContext, "moduleDir" | "runs">;
  /** Runs this trigger started, active or recently finished, each with the request key that made it (monitors). */
  triggerRuns?: readonly TriggerRun[];
}

/**
 * Errors: a trigger that cannot be evaluated (a query or function that fails, a result that maps
 * to invalid params) throws TRIGGER_FAILED naming it; the daemon records that and backs off.
 */

export async function evaluateTrigger(
  t: CompiledTrigger,
  cursor: unknown,
  now: number,
  ctx: TriggerContext,
): Promise<TriggerEvaluation> {
  if (t.kind === "schedule") {
    const r = evaluateSchedule(t, (cursor as ScheduleCursor | null) ?? undefined, now);
    return {
      requests: r.due.map((d) => ({
        key: d.key,
        trigger: t.name,
        kind: t.kind,
        params: d.params,
        profile: d.profile,
        reason: d.reason,
        tickAt: d.at,
      })),
      skips: [
        ...r.skipped.map((s) => ({ key: s.key, at: s.at, reason: s.reason, message: s.message })),
        ...r.skippedRanges.map((s) => ({ at: s.from, reason: s.reason, message: s.message })),
      ],
      cursor: r.cursor,
      nextWakeAt: r.nextTick,
    };
  }
  if (t.kind === "sensor" && t.source === "sql") {
    const r = await evaluateSqlSensor(t, (cursor as SqlSensorCursor | null) ?? undefined, ctx.moduleDir);
    return fromEvents(t, r, now + t.intervalMs);
  }
  if (t.kind === "sensor" && t.source === "function") {
    const lastRun = await lastRunOf(t.name, `${t.kind}:${t.name}`, ctx);
    const r = await evaluateFunctionSensor(t, (cursor as FunctionSensorCursor | null) ?? undefined, now, lastRun);
    return fromEvents(t, r, now + t.intervalMs);
  }
  if (t.kind === "run-status") {
    if (!ctx.runs) {
      throw new TrainyardError("TRIGGER_FAILED", `trigger "${t.name}" watches runs, but was evaluated without them`, {
        trigger: t.name,
        hint: "pass the Trainyard instance as `runs` in the trigger context",
      });
    }
    const r = await evaluateRunStatusTrigger(t, (cursor as RunStatusCursor | null) ?? undefined, now, ctx.runs);
    return fromEvents(t, r, now + t.intervalMs);
  }
  if (t.kind === "sensor") {
    const previous = (cursor as FileSensorCursor | null) ?? undefined;
    const r = await evaluateFileSensor(t, previous, now, ctx.source ?? sensorSource(t, ctx.moduleDir));
    const settling = Object.values(r.cursor.pending).map((p) => p.since + t.settleMs);
    const debounce = r.cursor.batch ? [r.cursor.batch.openedAt + t.debounceMs] : [];
    return {
      requests: r.requests.map((q) => ({
        key: q.key,
        trigger: t.name,
        kind: t.kind,
        params: q.params,
        profile: q.profile,
        reason: q.reason,
        files: q.files,
      })),
      skips: r.notes
        .filter((n) => n.kind !== "settling" && n.kind !== "batch-open")
        .map((n) => ({ reason: n.kind, message: n.message })),
      cursor: r.cursor,
      nextWakeAt: Math.min(now + t.intervalMs, ...settling, ...debounce),
    };
  }
  if (!ctx.monitor) {
    const message = `monitor "${t.name}" needs the registry to read served predictions from`;
    throw new TrainyardError("TRIGGER_INVALID", message, { trigger: t.name, hint: "pass ctx.monitor.registry" });
  }
  const previous = (cursor as MonitorCursor | null) ?? undefined;
  const r = await evaluateMonitor(t, previous, now, {
    ...ctx.monitor,
    moduleDir: ctx.moduleDir,
    runs: ctx.triggerRuns,
  });
  return {
    requests: r.request ? [{ ...r.request, trigger: t.name, kind: t.kind }] : [],
    skips: r.decision.skips.map((s) => ({ key: s.key, at: s.at, reason: s.reason, message: s.message })),
    cursor: r.decision.cursor,
    nextWakeAt: r.nextWakeAt,
  };
}

function fromEvents(t: CompiledTrigger, r: EventEvaluation<TriggerEvaluation["cursor"]>, nextWakeAt: number) {
  return {
    requests: r.requests.map((q) => ({
      key: q.key,
      trigger: t.name,
      kind: t.kind,
      params: q.params,
      profile: q.profile,
      reason: q.reason,
      event: q.event,
    })),
    skips: r.notes.map((n) => ({ reason: n.kind, message: n.message })),
    cursor: r.cursor,
    nextWakeAt,
  };
}

/** The newest run of the pipeline that this trigger started (the daemon labels runs "kind:name"). */
async function lastRunOf(_name: string, label: string, ctx: TriggerContext): Promise<LastRunInfo | undefined> {
  if (!ctx.runs || !ctx.pipeline) return undefined;
  // Filtered by the store: one row, however many runs other triggers started.
  const [run] = await ctx.runs.listRuns({ pipeline: ctx.pipeline, trigger: label, limit: 1 });
  if (!run) return undefined;
  return { id: run.id, status: run.status, createdAt: run.createdAt, finishedAt: run.finishedAt, params: run.params };
}
