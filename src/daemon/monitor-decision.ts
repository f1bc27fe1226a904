/**
 * Whether a monitor fires: a pure decision from its windows, its cursor, the runs it started and
 * "now". It fires when the metric (or input drift) stays beyond its threshold for N consecutive
 * counted windows; after firing it is disarmed until a window recovers past threshold +-
 * hysteresis (or the served version changes, or the run it started ended without success and
 * its cool-down passed), and it stays quiet while that run is active, was just rejected, or the
 * cool-down since the fire lasts. Windows seen before a fire are never evidence for the next one.
 */
import type { CompiledMonitor } from "../core/triggers.js";
import type { DriftWindow } from "./monitor-drift.js";
import type { MonitorWindow } from "./monitor-windows.js";

export interface MonitorCursor {
  v: 1;
  /** False after a fire until the metric recovers (hysteresis). */
  armed: boolean;
  /** The same for the drift signal. */
  driftArmed: boolean;
  lastFireAt?: number;
  /** The request of the last fire and, once the daemon made it, its run. */
  fired?: { key: string; at: number; signal: "metric" | "drift"; version: number; runId?: string };
}

/** A run of the monitor's pipeline that it started, as the daemon knows it. */
export interface TriggerRun {
  id: string;
  /** The request (tick) key that created it. */
  key?: string;
  status: "queued" | "running" | "succeeded" | "failed" | "rejected" | "cancelled" | "interrupted";
  finishedAt?: number;
}

export type MonitorSkipReason =
  | "retraining-active"
  | "just-rejected"
  | "cool-down"
  | "not-rearmed"
  | "too-few-labels"
  | "alias-missing";

export interface MonitorSkip {
  /** The request key a fire would have had, when a breach was held back. */
  key?: string;
  at?: number;
  reason: MonitorSkipReason;
  message: string;
}

export interface MonitorFire {
  key: string;
  signal: "metric" | "drift";
  /** The windows that breached, oldest first. */
  evidence: MonitorWindow[] | DriftWindow[];
}

export interface MonitorDecision {
  fire?: MonitorFire;
  /** Set when a breach was found, fired or not. */
  breach?: MonitorFire;
  skips: MonitorSkip[];
  cursor: MonitorCursor;
  /** Why the monitor (re-)armed during this evaluation, in words. */
  rearmed: string[];
}

export interface DecisionInput {
  now: number;
  /** Newest first. */
  windows: readonly MonitorWindow[];
  /** Newest first; absent without a drift signal. */
  drift?: readonly DriftWindow[];
  /** The version the alias serves now. */
  servedVersion: number;
  /** Runs this monitor started (active and recently finished); absent when the caller does not know them. */
  runs?: readonly TriggerRun[];
  /** Whether the metric signal is watched at all (a monitor may declare drift alone). */
  watchesMetric: boolean;
}

export function initialMonitorCursor(): MonitorCursor {
  return { v: 1, armed: true, driftArmed: true };
}

const UNSUCCESSFUL = new Set<TriggerRun["status"]>(["failed", "rejected", "cancelled"]);
const ACTIVE = new Set<TriggerRun["status"]>(["queued", "running", "interrupted"]);

export function decideMonitor(
  m: CompiledMonitor,
  previous: MonitorCursor | undefined,
  input: DecisionInput,
): MonitorDecision {
  const cursor: MonitorCursor = { ...(previous ?? initialMonitorCursor()) };
  const rearmed: string[] = [];
  const skips: MonitorSkip[] = [];
  const fired = cursor.fired;
  const startedIt = (r: TriggerRun) => r.key === fired!.key || (fired!.runId !== undefined && r.id === fired!.runId);
  const run = fired && input.runs?.find(startedIt);
  if (run && fired && fired.runId === undefined) cursor.fired = { ...fired, runId: run.id };
  const fresh = <W extends { end: number; counts: boolean }>(w: W) =>
    w.counts && (cursor.lastFireAt === undefined || w.end > cursor.lastFireAt);
  const windows = input.watchesMetric ? input.windows.filter(fresh) : [];
  const drift = (input.drift ?? []).filter(fresh);

  const failedLongAgo =
    run !== undefined &&
    UNSUCCESSFUL.has(run.status) &&
    run.finishedAt !== undefined &&
    input.now >= run.finishedAt + m.coolDownMs;
  const newVersion = fired !== undefined && fired.version !== input.servedVersion;
  const generalRearm = newVersion
    ? `${m.model}@${m.alias} now serves version ${input.servedVersion}, not ${fired!.version}`
    : failedLongAgo
      ? `run ${run!.id} it started ended ${run!.status} and its cool-down passed`
      : undefined;
  if (!cursor.armed) {
    const recovered = windows.find((w) => w.recovered);
    const why = recovered ? `${m.metric} recovered to ${fmt(recovered.value!)} (${rearmThreshold(m)})` : generalRearm;
    if (why) {
      cursor.armed = true;
      rearmed.push(why);
    }
  }
  if (!cursor.driftArmed && m.drift) {
    const recovered = drift.find((w) => w.recovered);
    const why = recovered ? `drift PSI fell to ${fmt(recovered.psi!)} (<= ${m.drift.threshold})` : generalRearm;
    if (why) {
      cursor.driftArmed = true;
      rearmed.push(why);
    }
  }

  const metricStreak = streak(windows);
  const driftStreak = streak(drift);
  let breach: MonitorFire | undefined;
  let armed = false;
  if (metricStreak.length >= m.windows) {
    breach = fireOf(m, "metric", metricStreak.slice(0, m.windows).reverse());
    armed = cursor.armed;
  } else if (m.drift && driftStreak.length >= m.windows) {
    breach = fireOf(m, "drift", driftStreak.slice(0, m.windows).reverse());
    armed = cursor.driftArmed;
  }
  if (!breach) {
    const few = tooFewLabels(m, input.windows, cursor.lastFireAt);
    if (input.watchesMetric && few) skips.push({ reason: "too-few-labels", message: few });
    return { skips, cursor, rearmed };
  }
  const blocked = holdBack(m, cursor, run, input.now, armed);
  if (blocked) {
    skips.push({ key: breach.key, at: breach.evidence[breach.evidence.length - 1].end, ...blocked });
    return { breach, skips, cursor, rearmed };
  }
  cursor.armed = false;
  cursor.driftArmed = false;
  cursor.lastFireAt = input.now;
  cursor.fired = { key: breach.key, at: input.now, signal: breach.signal, version: input.servedVersion };
  return { fire: breach, breach, skips, cursor, rearmed };
}

/** The newest counted windows that all breach, newest first. */
function streak<W extends { breach?: boolean }>(counted: readonly W[]): W[] {
  const out: W[] = [];
  for (const w of counted) {
    if (!w.breach) break;
    out.push(w);
  }
  return out;
}

function fireOf(
  m: CompiledMonitor,
  signal: "metric" | "drift",
  evidence: MonitorWindow[] | DriftWindow[],
): MonitorFire {
  return { key: monitorKey(m.name, evidence[evidence.length - 1].end), signal, evidence };
}

/** The idempotency key of a fire: one per (monitor, newest window of its evidence). */
export function monitorKey(name: string, windowEnd: number): string {
  return `monitor:${name}@${new Date(windowEnd).toISOString()}`;
}

function holdBack(
  m: CompiledMonitor,
  cursor: MonitorCursor,
  run: TriggerRun | undefined,
  now: number,
  armed: boolean,
): Pick<MonitorSkip, "reason" | "message"> | undefined {
  if (run && ACTIVE.has(run.status)) {
    return { reason: "retraining-active", message: `run ${run.id} it started is still ${run.status}` };
  }
  if (run && UNSUCCESSFUL.has(run.status) && run.finishedAt !== undefined && now < run.finishedAt + m.coolDownMs) {
    const until = new Date(run.finishedAt + m.coolDownMs).toISOString();
    return { reason: "just-rejected", message: `run ${run.id} it started ended ${run.status}; quiet until ${until}` };
  }
  if (cursor.lastFireAt !== undefined && now < cursor.lastFireAt + m.coolDownMs) {
    const until = new Date(cursor.lastFireAt + m.coolDownMs).toISOString();
    const at = new Date(cursor.lastFireAt).toISOString();
    return { reason: "cool-down", message: `fired at ${at}; cool-down until ${until}` };
  }
  if (!armed) {
    const at = new Date(cursor.lastFireAt!).toISOString();
    return { reason: "not-rearmed", message: `fired at ${at}; re-arms once ${rearmThreshold(m)}` };
  }
  return undefined;
}

function rearmThreshold(m: CompiledMonitor): string {
  const below = m.direction === "below";
  const bound = below ? m.threshold + m.hysteresis : m.threshold - m.hysteresis;
  const sign = below ? "+" : "-";
  const margin = `threshold ${m.threshold} ${sign} hysteresis ${m.hysteresis}`;
  return `${m.metric} ${below ? ">=" : "<="} ${fmt(bound)}, ${margin}`;
}

/**
 * Why no fire was decided for lack of labels: windows newer than the last one within the threshold
 * lack labelled rows, and with them the breaching streak could still reach N. Undefined otherwise.
 */
function tooFewLabels(
  m: CompiledMonitor,
  all: readonly MonitorWindow[],
  lastFireAt: number | undefined,
): string | undefined {
  const after = all.filter((w) => lastFireAt === undefined || w.end > lastFireAt);
  let breaching = 0;
  let short = 0;
  for (const w of after) {
    if (w.counts && !w.breach) break;
    if (w.counts) breaching++;
    else short++;
  }
  if (short === 0 || breaching + short < m.windows) return undefined;
  const shown = after
    .slice(0, m.windows)
    .reverse()
    .map((w) => w.labelled)
    .join(", ");
  const lack = `${short} recent window${short === 1 ? " lacks" : "s lack"} labels to decide`;
  return (
    `${lack} (labelled rows, newest last: ${shown});` +
    ` a window needs >= ${m.minLabelledRows} labelled rows and ${m.windows} in a row must breach`
  );
}

export function fmt(v: number): string {
  return String(Number(v.toFixed(3)));
}
