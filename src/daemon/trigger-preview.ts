/**
 * A trigger evaluated once with no history, launching nothing: what `trainyard triggers preview`
 * prints and `POST /api/v1/triggers/{pipeline}/{name}/preview` returns. Schedules show the ticks
 * to come (and, from `since`, what was due); sensors and run-status triggers every event that
 * counts now; monitors their windows and whether they would fire.
 */
import { TrainyardError } from "../core/errors.js";
import type { CompiledMonitor, CompiledSchedule, CompiledTrigger } from "../core/triggers.js";
import { formatInZone } from "../core/trigger-time.js";
import type { Trainyard } from "../engine/trainyard.js";
import { openRegistry } from "../lib/registry/open-registry.js";
import { evaluateTrigger } from "./evaluate-trigger.js";
import { evaluateFileSensor } from "./file-sensor.js";
import { evaluateMonitor } from "./monitor-evaluate.js";
import { referenceProfileLoader } from "./monitor-reference.js";
import type { loadPipelineTriggers } from "./pipeline-triggers.js";
import type { RunStatusCursor } from "./run-status-trigger.js";
import { evaluateSchedule, tickKey, upcomingTicks } from "./schedule-ticks.js";
import { sensorSource } from "./trigger-summary.js";

type Loaded = Awaited<ReturnType<typeof loadPipelineTriggers>>;

export interface PreviewOptions {
  now: number;
  /** Schedules: evaluate the slots since then; run-status triggers: runs since then. */
  since?: number;
  /** Schedules: how many upcoming ticks. @default 5 */
  count?: number;
}

export async function previewSchedule(pipeline: string, s: CompiledSchedule, opts: PreviewOptions) {
  // Without `since` nothing is missed: the preview shows the ticks to come and what each requests.
  const evaluation =
    opts.since === undefined ? undefined : evaluateSchedule(s, { evaluatedUntil: opts.since }, opts.now);
  const upcoming = upcomingTicks(s, opts.now, opts.count ?? 5).map((at) => ({
    at: new Date(at).toISOString(),
    local: formatInZone(at, s.timezone),
    key: tickKey(s.name, at),
  }));
  const request = { pipeline, params: s.params, profile: s.profile };
  return { trigger: s.name, kind: s.kind, now: new Date(opts.now).toISOString(), request, evaluation, upcoming };
}

/** Finds a declared trigger by name; NOT_FOUND naming the pipeline's triggers. */
export function declaredTrigger(loaded: Loaded, name: string): CompiledTrigger {
  const trigger = loaded.triggers.find((t) => t.name === name);
  if (trigger) return trigger;
  const names = loaded.triggers.map((t) => t.name);
  throw new TrainyardError("NOT_FOUND", `pipeline "${loaded.pipeline}" has no trigger "${name}"`, {
    trigger: name,
    hint: names.length ? `its triggers: ${names.join(", ")}` : "it declares no triggers",
  });
}

export async function previewFileSensor(loaded: Loaded, t: CompiledTrigger & { kind: "sensor" }, opts: PreviewOptions) {
  if (t.source !== "files") throw new TypeError("not a file sensor");
  // A fresh cursor and a flushed debounce window: every stable file counts, as on a first evaluation.
  const source = sensorSource(t, loaded.moduleDir);
  const { requests, notes } = await evaluateFileSensor(t, undefined, opts.now, source, { flush: true });
  return {
    trigger: t.name,
    kind: t.kind,
    now: new Date(opts.now).toISOString(),
    pipeline: loaded.pipeline,
    requests,
    notes,
  };
}

/** SQL and function sensors and run-status triggers (from `since`, else the beginning). */
export async function previewEvents(ty: Trainyard, loaded: Loaded, t: CompiledTrigger, opts: PreviewOptions) {
  const since = opts.since ?? 0;
  const cursor: RunStatusCursor | null = t.kind === "run-status" ? { v: 1, since, seen: {} } : null;
  const pipeline = loaded.pipeline;
  const r = await evaluateTrigger(t, cursor, opts.now, { moduleDir: loaded.moduleDir, runs: ty, pipeline });
  const now = new Date(opts.now).toISOString();
  return { trigger: t.name, kind: t.kind, now, pipeline, requests: r.requests, notes: r.skips };
}

/** One monitor evaluation with no history (armed, never fired). */
export async function previewMonitor(ty: Trainyard, loaded: Loaded, t: CompiledMonitor, opts: PreviewOptions) {
  const registry = openRegistry(ty);
  const referenceProfile = referenceProfileLoader(ty);
  const r = await evaluateMonitor(t, undefined, opts.now, { registry, moduleDir: loaded.moduleDir, referenceProfile });
  const windows = r.windows.slice(0, t.windows * 2);
  const drift = r.drift?.slice(0, t.windows * 2);
  const { request, notes, version } = r;
  const now = new Date(opts.now).toISOString();
  return {
    trigger: t.name,
    kind: t.kind,
    now,
    pipeline: loaded.pipeline,
    version,
    windows,
    drift,
    request,
    skips: r.decision.skips,
    notes,
  };
}

/** Whichever preview fits the trigger's kind, as one JSON-ready value. */
export async function previewTrigger(ty: Trainyard, loaded: Loaded, name: string, opts: PreviewOptions) {
  const t = declaredTrigger(loaded, name);
  if (t.kind === "schedule") return previewSchedule(loaded.pipeline, t, opts);
  if (t.kind === "sensor" && t.source === "files") return previewFileSensor(loaded, t, opts);
  if (t.kind === "monitor") return previewMonitor(ty, loaded, t, opts);
  return previewEvents(ty, loaded, t, opts);
}
