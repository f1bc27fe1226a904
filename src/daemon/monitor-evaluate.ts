/**
 * One evaluation of a performance monitor: the alias's prediction log over the recent windows,
 * joined with late labels, measured per window (and for drift against the serving version's
 * reference profile), then the fire decision. Everything it reads is passed in (registry, runs,
 * the profile loader), so the daemon, `triggers preview` and tests run it alike on any clock.
 */
import { TrainyardError } from "../core/errors.js";
import { verifyMonitorModels, type CompiledMonitor } from "../core/triggers.js";
import type { Profile } from "../lib/data/profile.js";
import type { ModelVersionRecord, RegistryStore } from "../store/registry-store.js";
import {
  decideMonitor,
  fmt,
  type MonitorCursor,
  type MonitorDecision,
  type MonitorFire,
  type TriggerRun,
} from "./monitor-decision.js";
import { measureDrift, type DriftWindow } from "./monitor-drift.js";
import { keyedByPredictionId, readLabels } from "./monitor-labels.js";
import { monitorMetric } from "./monitor-metric.js";
import { joinLabels, measureWindows, windowEnds, type MonitorWindow, type ServedRow } from "./monitor-windows.js";
import { shortDigest } from "../core/hash.js";

export interface MonitorContext {
  registry: RegistryStore;
  /** Relative label sources are read from the pipeline module's folder. */
  moduleDir: string;
  /** Runs this monitor started that are active or recently finished (for "still running" and "just rejected"). */
  runs?: readonly TriggerRun[];
  /** The reference profile of a version (drift signal); see monitor-reference.ts. */
  referenceProfile?: (version: ModelVersionRecord) => Promise<Profile | undefined>;
  /** Models the watched pipeline registers itself: not registered yet means nothing to watch, not an error. */
  declaredModels?: readonly string[];
}

/** What a fire records on its run: the signal and the windows behind it. */
export interface MonitorEvent {
  kind: "monitor";
  signal: "metric" | "drift";
  model: string;
  alias: string;
  version: number;
  metric: string;
  threshold: number;
  direction: "below" | "above";
  windowMs: number;
  /** The breaching windows, oldest first. */
  windows: Array<MonitorWindow | DriftWindow>;
}

export interface MonitorRunRequest {
  key: string;
  params: Record<string, unknown>;
  profile?: string;
  reason: string;
  event: MonitorEvent;
}

export interface MonitorEvaluation {
  /** The version the alias serves; absent when the alias is not set. */
  version?: number;
  /** Newest first. */
  windows: MonitorWindow[];
  drift?: DriftWindow[];
  decision: MonitorDecision;
  request?: MonitorRunRequest;
  /** Things worth knowing that are not skips: labels not there yet, unreadable labels, re-arming. */
  notes: string[];
  nextWakeAt: number;
}

/** Windows looked back over: enough for a streak broken by a few windows without labels. */
const LOOKBACK_FACTOR = 4;
/** Log entries read per evaluation at most. */
const LOG_LIMIT = 200_000;
/** Labels can land any time: look again at least this often. */
const RECHECK_MS = 60_000;

export async function evaluateMonitor(
  m: CompiledMonitor,
  previous: MonitorCursor | undefined,
  now: number,
  ctx: MonitorContext,
): Promise<MonitorEvaluation> {
  if (!(m.windowMs > 0)) {
    throw new TrainyardError("TRIGGER_INVALID", `monitor "${m.name}": window must be longer than 0`, {
      trigger: m.name,
      field: "window",
      hint: 'for example window: "1h"',
    });
  }
  if (!m.labels && !m.drift) {
    throw new TrainyardError("TRIGGER_INVALID", `monitor "${m.name}" has neither labels nor drift to watch`, {
      trigger: m.name,
      field: "labels",
      hint: "declare labels: { source, key, column }, or drift: { threshold }",
    });
  }
  const metric = monitorMetric(m);
  const registered = (await ctx.registry.listModels()).map((s) => s.name);
  const unregistered = !registered.includes(m.model) && ctx.declaredModels?.includes(m.model);
  if (!unregistered) verifyMonitorModels([m], [...registered, ...(ctx.declaredModels ?? [])]);
  const notes: string[] = [];
  const lookback = Math.min(500, m.windows * LOOKBACK_FACTOR);
  const ends = windowEnds(now, m.windowMs, lookback);
  const nextWakeAt = Math.min(ends[0] + m.windowMs, now + RECHECK_MS);
  const alias = unregistered ? undefined : await ctx.registry.getAlias(m.model, m.alias);
  if (!alias) {
    // A fresh home: the pipeline has not registered its model yet. Waiting for it is no failure.
    const cursor = previous ?? { v: 1 as const, armed: true, driftArmed: true };
    const message = unregistered
      ? `${m.model} is not registered yet (its pipeline registers it): nothing is served to watch`
      : `${m.model} has no alias "${m.alias}": nothing is served to watch`;
    const decision = { skips: [{ reason: "alias-missing" as const, message }], cursor, rearmed: [] };
    return { windows: [], decision, notes, nextWakeAt };
  }
  const entries = await ctx.registry.readPredictionLog({
    model: m.model,
    alias: m.alias,
    from: ends[ends.length - 1] - m.windowMs,
    to: ends[0],
    limit: LOG_LIMIT,
  });
  if (entries.length === LOG_LIMIT) {
    notes.push(`read the oldest ${LOG_LIMIT} log entries only; newer windows are partial`);
  }
  let rows: ServedRow[];
  let windows: MonitorWindow[] = [];
  if (m.labels) {
    const set = await readLabels(m.name, m.labels, ctx.moduleDir);
    if (set.missing) notes.push(set.missing);
    const key = { byPredictionId: keyedByPredictionId(m.labels), column: m.labels.key };
    const joined = joinLabels(entries, alias.version, set.labels, key, metric);
    if (joined.unreadable) {
      const ex = joined.unreadableExample!;
      notes.push(
        `${joined.unreadable} labels are not usable by ${metric.name}, e.g. ${JSON.stringify(ex.value)}` +
          ` for key ${ex.key}${metric.task === "binary" ? " (expected 0/1 or true/false)" : ""}`,
      );
    }
    rows = joined.rows;
    windows = measureWindows(m, metric, rows, ends);
  } else {
    rows = joinLabels(entries, alias.version, new Map(), { byPredictionId: true, column: "" }, metric).rows;
  }
  const drift = m.drift ? await driftWindows(m, previous, ends, rows, alias.version, ctx, notes) : undefined;
  const decision = decideMonitor(m, previous, {
    now,
    windows,
    drift,
    servedVersion: alias.version,
    runs: ctx.runs,
    watchesMetric: m.labels !== undefined,
  });
  notes.push(...decision.rearmed.map((r) => `re-armed: ${r}`));
  const request = decision.fire && {
    key: decision.fire.key,
    params: { ...m.params },
    profile: m.profile,
    reason: fireReason(m, decision.fire),
    event: fireEvent(m, alias.version, decision.fire),
  };
  return { version: alias.version, windows, drift, decision, request, notes, nextWakeAt };
}

async function driftWindows(
  m: CompiledMonitor,
  previous: MonitorCursor | undefined,
  ends: readonly number[],
  rows: readonly ServedRow[],
  version: number,
  ctx: MonitorContext,
  notes: string[],
): Promise<DriftWindow[]> {
  const record = await ctx.registry.getVersion(m.model, version);
  if (!record?.referenceProfileDigest) {
    notes.push(`no drift signal: ${m.model} version ${version} was registered without a reference profile`);
    return [];
  }
  const profile = await ctx.referenceProfile?.(record);
  if (!profile) {
    const digest = shortDigest(record.referenceProfileDigest);
    notes.push(`no drift signal: the reference profile ${digest} is not in this home`);
    return [];
  }
  // Only windows that can still be evidence, and a few more to see a recovery.
  const fresh = ends.filter((e) => previous?.lastFireAt === undefined || e > previous.lastFireAt);
  return measureDrift(m, profile, rows, fresh.slice(0, m.windows * 2));
}

function fireReason(m: CompiledMonitor, fire: MonitorFire): string {
  const n = fire.evidence.length;
  const span = `for ${n} window${n === 1 ? "" : "s"} of ${durationText(m.windowMs)}`;
  const of = `${m.model}@${m.alias}`;
  if (fire.signal === "metric") {
    const ws = fire.evidence as MonitorWindow[];
    const newest = ws[ws.length - 1];
    const cmp = m.direction === "below" ? "<" : ">";
    const counts = ws.map((w) => w.labelled).join(", ");
    return `${m.metric} of ${of} ${fmt(newest.value!)} ${cmp} ${m.threshold} ${span} (${counts} labelled rows)`;
  }
  const ws = fire.evidence as DriftWindow[];
  const newest = ws[ws.length - 1];
  const counts = ws.map((w) => w.served).join(", ");
  return (
    `input drift of ${of}: PSI of ${newest.column} ${fmt(newest.psi!)} > ${m.drift!.threshold} ${span}` +
    ` (${counts} served rows)`
  );
}

function fireEvent(m: CompiledMonitor, version: number, fire: MonitorFire): MonitorEvent {
  return {
    kind: "monitor",
    signal: fire.signal,
    model: m.model,
    alias: m.alias,
    version,
    metric: m.metric,
    threshold: fire.signal === "metric" ? m.threshold : m.drift!.threshold,
    direction: fire.signal === "metric" ? m.direction : "above",
    windowMs: m.windowMs,
    windows: fire.evidence,
  };
}

export function durationText(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "min"],
    [1000, "s"],
  ];
  for (const [size, unit] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
