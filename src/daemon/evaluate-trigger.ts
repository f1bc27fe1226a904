/**
 * One entry point for the daemon: any trigger, its stored cursor (JSON) and "now" in; run
 * requests, recorded skips, the new cursor and when to look again out. The daemon writes the
 * tick, its runs and the cursor in one transaction, keyed by each request's `key`.
 */
import { TrainyardError } from "../core/errors.js";
import type { CompiledTrigger } from "../core/triggers.js";
import { evaluateFileSensor, type FileSensorCursor, type LandedFile } from "./file-sensor.js";
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
  /** The metric or drift windows that made a monitor fire. */
  event?: MonitorEvent;
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
  cursor: ScheduleCursor | FileSensorCursor | MonitorCursor | null;
  /** The earliest instant at which evaluating again can change anything (ticks, settling, debounce). */
  nextWakeAt?: number;
}

export interface TriggerContext {
  /** The pipeline module's folder: relative sensor folders are read from it. */
  moduleDir: string;
  /** Overrides the sensor's local folder (tests, an object-store prefix later). */
  source?: LandingSource;
  /** What monitors read: the registry (prediction log, aliases) and the reference profile loader. */
  monitor?: Omit<MonitorContext, "moduleDir" | "runs">;
  /** Runs this trigger started, active or recently finished, each with the request key that made it. */
  runs?: readonly TriggerRun[];
}

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
        key: d.key, trigger: t.name, kind: t.kind, params: d.params, profile: d.profile, reason: d.reason, tickAt: d.at,
      })),
      skips: [
        ...r.skipped.map((s) => ({ key: s.key, at: s.at, reason: s.reason, message: s.message })),
        ...r.skippedRanges.map((s) => ({ at: s.from, reason: s.reason, message: s.message })),
      ],
      cursor: r.cursor,
      nextWakeAt: r.nextTick,
    };
  }
  if (t.kind === "sensor") {
    const previous = (cursor as FileSensorCursor | null) ?? undefined;
    const r = await evaluateFileSensor(t, previous, now, ctx.source ?? sensorSource(t, ctx.moduleDir));
    const settling = Object.values(r.cursor.pending).map((p) => p.since + t.settleMs);
    const debounce = r.cursor.batch ? [r.cursor.batch.openedAt + t.debounceMs] : [];
    return {
      requests: r.requests.map((q) => ({
        key: q.key, trigger: t.name, kind: t.kind, params: q.params, profile: q.profile, reason: q.reason,
        files: q.files,
      })),
      skips: r.notes.filter((n) => n.kind !== "settling" && n.kind !== "batch-open")
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
  const r = await evaluateMonitor(t, previous, now, { ...ctx.monitor, moduleDir: ctx.moduleDir, runs: ctx.runs });
  return {
    requests: r.request ? [{ ...r.request, trigger: t.name, kind: t.kind }] : [],
    skips: r.decision.skips.map((s) => ({ key: s.key, at: s.at, reason: s.reason, message: s.message })),
    cursor: r.decision.cursor,
    nextWakeAt: r.nextWakeAt,
  };
}
