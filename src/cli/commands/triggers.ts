/**
 * `trainyard triggers list | preview`: the declared triggers (module and trainyard.config.ts), and
 * what one would request now, launching nothing.
 */
import type { Trainyard } from "../../engine/trainyard.js";
import {
  type CompiledFileSensor,
  type CompiledMonitor,
  type CompiledSchedule,
  type CompiledTrigger,
} from "../../core/triggers.js";
import { formatInZone } from "../../core/trigger-time.js";
import { TrainyardError } from "../../core/errors.js";
import { evaluateTrigger } from "../../daemon/evaluate-trigger.js";
import { evaluateFileSensor } from "../../daemon/file-sensor.js";
import { loadPipelineTriggers } from "../../daemon/pipeline-triggers.js";
import type { RunStatusCursor } from "../../daemon/run-status-trigger.js";
import { fmt } from "../../daemon/monitor-decision.js";
import type { DriftWindow } from "../../daemon/monitor-drift.js";
import { durationText, evaluateMonitor } from "../../daemon/monitor-evaluate.js";
import { referenceProfileLoader } from "../../daemon/monitor-reference.js";
import type { MonitorWindow } from "../../daemon/monitor-windows.js";
import { openRegistry } from "../../lib/registry/open-registry.js";
import { evaluateSchedule, tickKey, upcomingTicks } from "../../daemon/schedule-ticks.js";
import { sensorSource, summarizeTrigger } from "../../daemon/trigger-summary.js";
import { has, intFlag, one, usage, type ParsedArgs } from "../args.js";
import { bold, cyan, dim, yellow } from "../format.js";
import { openHome } from "../open-home.js";

const out = (line = "") => process.stdout.write(`${line}\n`);

/** A trigger's recorded state (ticks, pause) is the daemon's ledger: trigger-state.ts. */
export const listTriggersCommand = (args: ParsedArgs) => listTriggers(args);
export const previewTriggerCommand = (args: ParsedArgs) => previewTrigger(args);

/** The module's triggers and those trainyard.config.ts declares for its pipeline; `ty` stays open for previews. */
async function withTriggers<T>(args: ParsedArgs, use: (loaded: Loaded, ty: Trainyard) => Promise<T>): Promise<T> {
  const [modulePath] = args.positionals;
  if (!modulePath) throw usage("trainyard triggers needs the path of a pipeline module");
  const ty = await openHome(args);
  try {
    return await use(await loadPipelineTriggers(ty, modulePath), ty);
  } finally {
    await ty.close();
  }
}

type Loaded = Awaited<ReturnType<typeof loadPipelineTriggers>>;

function clockOf(args: ParsedArgs): number {
  return instantFlag(args, "now") ?? Date.now();
}

function instantFlag(args: ParsedArgs, key: string): number | undefined {
  const v = one(args, key);
  if (v === undefined) return undefined;
  const ms = /(Z|[+-]\d\d:?\d\d)$/i.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw usage(`--${key} expects an ISO 8601 time with Z or an offset, got "${v}"`);
  return ms;
}

async function listTriggers(args: ParsedArgs): Promise<number> {
  return withTriggers(args, async (loaded) => printTriggers(loaded, args));
}

function printTriggers({ pipeline, moduleDir, triggers, declaredIn }: Loaded, args: ParsedArgs): number {
  const now = clockOf(args);
  const summaries = triggers.map((t) => ({
    ...summarizeTrigger(t, now, moduleDir),
    ...(declaredIn[t.name] !== "module" ? { declaredIn: declaredIn[t.name] } : {}),
  }));
  if (has(args, "json")) {
    out(JSON.stringify({ pipeline, triggers: summaries }, null, 2));
    return 0;
  }
  if (!summaries.length) {
    const how = "(declare them with p.schedule, p.sensor, p.monitor or p.onRunStatus)";
    out(`${bold(pipeline)}: no triggers ${dim(how)}`);
    return 0;
  }
  out(`${bold(pipeline)}: ${summaries.length} trigger${summaries.length === 1 ? "" : "s"}`);
  const width = Math.max(...summaries.map((s) => s.name.length));
  for (const s of summaries) {
    const from = s.declaredIn ? dim(` (declared in ${s.declaredIn})`) : "";
    out(`  ${s.name.padEnd(width)}  ${cyan(s.kind.padEnd(10))}  ${s.what}${from}`);
    out(`  ${" ".repeat(width)}  ${" ".repeat(10)}  ${dim(s.next)}`);
  }
  return 0;
}

async function previewTrigger(args: ParsedArgs): Promise<number> {
  return withTriggers(args, (loaded, ty) => previewOne(loaded, ty, args));
}

async function previewOne({ pipeline, moduleDir, triggers }: Loaded, ty: Trainyard, args: ParsedArgs): Promise<number> {
  const name = args.positionals[1];
  if (!name) throw usage("trainyard triggers preview needs a trigger name after the pipeline module");
  const trigger = triggers.find((t) => t.name === name);
  if (!trigger) {
    throw new TrainyardError("NOT_FOUND", `pipeline "${pipeline}" has no trigger "${name}"`, {
      trigger: name,
      hint: triggers.length ? `its triggers: ${triggers.map((t) => t.name).join(", ")}` : "it declares no triggers",
    });
  }
  const now = clockOf(args);
  if (trigger.kind === "schedule") return previewSchedule(pipeline, trigger, now, args);
  if (trigger.kind === "sensor" && trigger.source === "files") {
    return previewSensor(pipeline, trigger, now, moduleDir, args);
  }
  if (trigger.kind === "monitor") return previewMonitor(pipeline, trigger, now, moduleDir, args);
  return previewEvents(pipeline, trigger, now, { moduleDir, ty }, args);
}

function previewSchedule(pipeline: string, s: CompiledSchedule, now: number, args: ParsedArgs): number {
  const since = instantFlag(args, "since");
  const count = intFlag(args, "count") ?? 5;
  // Without --since nothing is missed: the preview shows the ticks to come and what each requests.
  const evaluation = since === undefined ? undefined : evaluateSchedule(s, { evaluatedUntil: since }, now);
  const upcoming = upcomingTicks(s, now, count).map((at) => ({
    at: new Date(at).toISOString(), local: formatInZone(at, s.timezone), key: tickKey(s.name, at),
  }));
  const request = { pipeline, params: s.params, profile: s.profile };
  if (has(args, "json")) {
    const at = new Date(now).toISOString();
    out(JSON.stringify({ trigger: s.name, kind: s.kind, now: at, request, evaluation, upcoming }, null, 2));
    return 0;
  }
  out(`${bold(s.name)}: schedule "${s.cron}" in ${s.timezone}; nothing is launched`);
  out(`each tick requests a run of ${bold(pipeline)} with ${describeRequest(s.params, s.profile)}`);
  if (evaluation) {
    out(`evaluated from ${new Date(since!).toISOString()} to ${new Date(now).toISOString()} (catch-up ${s.catchUp}):`);
    if (!evaluation.due.length) out(dim("  no tick due"));
    const lines = [
      ...evaluation.due.map((t) => ({ at: t.at, text: `  ${yellow("run ")} ${t.local}  ${dim(t.key)}` })),
      ...evaluation.skipped.map((t) => ({
        at: t.at,
        text: `  ${dim("skip")} ${t.local}  ${dim(`${t.reason}: ${t.message}`)}`,
      })),
      ...evaluation.skippedRanges.map((r) => ({ at: r.from + 1, text: `  ${dim("skip")} ${dim(r.message)}` })),
    ];
    for (const l of lines.sort((a, b) => a.at - b.at)) out(l.text);
  }
  out(upcoming.length ? "next ticks:" : dim("no further tick: the schedule has ended"));
  for (const t of upcoming) out(`  ${t.local}  ${dim(t.at)}`);
  return 0;
}

async function previewSensor(
  pipeline: string,
  s: CompiledFileSensor,
  now: number,
  moduleDir: string,
  args: ParsedArgs,
): Promise<number> {
  // A fresh cursor and a flushed debounce window: every stable file counts, as on a first evaluation.
  const result = await evaluateFileSensor(s, undefined, now, sensorSource(s, moduleDir), { flush: true });
  if (has(args, "json")) {
    const { requests, notes } = result;
    const at = new Date(now).toISOString();
    out(JSON.stringify({ trigger: s.name, kind: s.kind, now: at, pipeline, requests, notes }, null, 2));
    return 0;
  }
  out(`${bold(s.name)}: file sensor, evaluated once with no history; nothing is launched`);
  if (!result.requests.length) out(dim("no run request"));
  for (const r of result.requests) {
    const what = describeRequest(r.params, r.profile);
    out(`${yellow("would request")} a run of ${bold(pipeline)} with ${what}  ${dim(r.key)}`);
    out(`  ${r.reason}`);
  }
  for (const n of result.notes) out(`${dim(`${n.kind}:`)} ${n.message}`);
  return 0;
}

/**
 * SQL and function sensors and run-status triggers, evaluated once with no history (a run-status
 * trigger from --since, else from the beginning): every event counts, nothing is launched.
 */
async function previewEvents(
  pipeline: string,
  t: CompiledTrigger,
  now: number,
  ctx: { moduleDir: string; ty: Trainyard },
  args: ParsedArgs,
): Promise<number> {
  const since = instantFlag(args, "since") ?? 0;
  const cursor: RunStatusCursor | null = t.kind === "run-status" ? { v: 1, since, seen: {} } : null;
  const r = await evaluateTrigger(t, cursor, now, { moduleDir: ctx.moduleDir, runs: ctx.ty, pipeline });
  const summary = summarizeTrigger(t, now, ctx.moduleDir);
  if (has(args, "json")) {
    const at = new Date(now).toISOString();
    const { requests, skips: notes } = r;
    out(JSON.stringify({ trigger: t.name, kind: t.kind, now: at, pipeline, requests, notes }, null, 2));
    return 0;
  }
  out(`${bold(t.name)}: ${summary.what}; evaluated once with no history, nothing is launched`);
  if (!r.requests.length) out(dim("no run request"));
  for (const q of r.requests) {
    const what = describeRequest(q.params, q.profile);
    out(`${yellow("would request")} a run of ${bold(pipeline)} with ${what}  ${dim(q.key)}`);
    out(`  ${q.reason}`);
  }
  for (const n of r.skips) out(`${dim(`${n.reason}:`)} ${n.message}`);
  return 0;
}

/** One evaluation with no history (armed, never fired): the windows, their metric and whether it would fire. */
async function previewMonitor(
  pipeline: string,
  t: CompiledMonitor,
  now: number,
  moduleDir: string,
  args: ParsedArgs,
): Promise<number> {
  const ty = await openHome(args);
  try {
    const registry = openRegistry(ty);
    const referenceProfile = referenceProfileLoader(ty);
    const r = await evaluateMonitor(t, undefined, now, { registry, moduleDir, referenceProfile });
    const shown = r.windows.slice(0, t.windows * 2);
    const drift = r.drift?.slice(0, t.windows * 2);
    if (has(args, "json")) {
      const at = new Date(now).toISOString();
      const { request, notes, version } = r;
      const skips = r.decision.skips;
      out(JSON.stringify({ trigger: t.name, kind: t.kind, now: at, pipeline, version, windows: shown, drift, request,
        skips, notes }, null, 2));
      return 0;
    }
    const served = r.version === undefined ? "" : ` (version ${r.version})`;
    const what = `monitor of ${t.model}@${t.alias}${served}`;
    out(`${bold(t.name)}: ${what}, evaluated once with no history; nothing is launched`);
    if (t.labels) {
      const rule = `${t.metric} ${t.direction} ${t.threshold}`;
      out(`${t.metric} per window of ${durationText(t.windowMs)}, newest first (fires on ${rule} for ${t.windows}`
        + ` windows with >= ${t.minLabelledRows} labelled rows):`);
      for (const w of shown) out(`  ${windowSpan(w)}  ${metricCell(t, w)}`);
    }
    if (drift?.length) {
      out(`input drift (PSI) per window, newest first (fires above ${t.drift!.threshold} for ${t.windows} windows):`);
      for (const w of drift) out(`  ${windowSpan(w)}  ${driftCell(w)}`);
    }
    if (r.request) {
      const run = `a run of ${bold(pipeline)} with ${describeRequest(r.request.params, r.request.profile)}`;
      out(`${yellow("would fire")}: ${run}  ${dim(r.request.key)}`);
      out(`  ${r.request.reason}`);
    } else out("would not fire");
    for (const s of r.decision.skips) out(`${dim(`${s.reason}:`)} ${s.message}`);
    for (const n of r.notes) out(dim(n));
    return 0;
  } finally {
    await ty.close();
  }
}

function windowSpan(w: { start: number; end: number }): string {
  return `${new Date(w.start).toISOString()} - ${new Date(w.end).toISOString().slice(11)}`;
}

function metricCell(t: CompiledMonitor, w: MonitorWindow): string {
  const rows = `${w.labelled}/${w.served} labelled`;
  if (!w.counts) return `${dim("   -  ")}  ${rows.padEnd(18)}  ${dim(`does not count: ${w.note}`)}`;
  const verdict = w.breach ? yellow(`${t.direction} ${t.threshold}`) : "ok";
  return `${fmt(w.value!).padStart(6)}  ${rows.padEnd(18)}  ${verdict}`;
}

function driftCell(w: DriftWindow): string {
  const rows = `${w.served} served`;
  if (!w.counts) return `${dim("   -  ")}  ${rows.padEnd(18)}  ${dim(`not measured: ${w.note}`)}`;
  return `${fmt(w.psi!).padStart(6)}  ${rows.padEnd(18)}  ${w.breach ? yellow(`drift in ${w.column}`) : "ok"}`;
}

function describeRequest(params: Record<string, unknown>, profile: string | undefined): string {
  const p = Object.keys(params).length ? `params ${JSON.stringify(params)}` : "the default params";
  return profile ? `${p}, profile ${profile}` : p;
}
