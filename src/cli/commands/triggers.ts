/**
 * `trainyard triggers list | preview`: the declared triggers (module and trainyard.config.ts), and
 * what one would request now, launching nothing.
 */
import type { Trainyard } from "../../engine/trainyard.js";
import type { CompiledMonitor, CompiledSchedule } from "../../core/triggers.js";
import { loadPipelineTriggers } from "../../daemon/pipeline-triggers.js";
import { fmt } from "../../daemon/monitor-decision.js";
import type { DriftWindow } from "../../daemon/monitor-drift.js";
import { durationText } from "../../daemon/monitor-evaluate.js";
import type { MonitorWindow } from "../../daemon/monitor-windows.js";
import { summarizeTrigger } from "../../daemon/trigger-summary.js";
import {
  declaredTrigger,
  previewTrigger,
  type previewEvents,
  type previewMonitor,
  type previewSchedule,
} from "../../daemon/trigger-preview.js";
import { has, intFlag, one, usage, type ParsedArgs } from "../args.js";
import { bold, cyan, dim, yellow } from "../format.js";
import { openHome } from "../open-home.js";

const out = (line = "") => process.stdout.write(`${line}\n`);

/** A trigger's recorded state (ticks, pause) is the daemon's ledger: trigger-state.ts. */
export const listTriggersCommand = (args: ParsedArgs) => listTriggers(args);
export const previewTriggerCommand = (args: ParsedArgs) => previewCommand(args);

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

async function previewCommand(args: ParsedArgs): Promise<number> {
  return withTriggers(args, (loaded, ty) => previewOne(loaded, ty, args));
}

async function previewOne(loaded: Loaded, ty: Trainyard, args: ParsedArgs): Promise<number> {
  const name = args.positionals[1];
  if (!name) throw usage("trainyard triggers preview needs a trigger name after the pipeline module");
  const trigger = declaredTrigger(loaded, name);
  const opts = { now: clockOf(args), since: instantFlag(args, "since"), count: intFlag(args, "count") };
  const preview = await previewTrigger(ty, loaded, name, opts);
  if (has(args, "json")) {
    out(JSON.stringify(preview, null, 2));
    return 0;
  }
  const { pipeline } = loaded;
  if (trigger.kind === "schedule") return printSchedule(pipeline, trigger, preview as SchedulePreview, opts.since);
  if (trigger.kind === "monitor") return printMonitor(pipeline, trigger, preview as MonitorPreview);
  const events = preview as EventsPreview;
  const fileSensor = trigger.kind === "sensor" && trigger.source === "files";
  const what = fileSensor ? "file sensor" : summarizeTrigger(trigger, opts.now, loaded.moduleDir).what;
  out(`${bold(trigger.name)}: ${what}, evaluated once with no history; nothing is launched`);
  if (!events.requests.length) out(dim("no run request"));
  for (const r of events.requests) {
    const what = describeRequest(r.params, r.profile);
    out(`${yellow("would request")} a run of ${bold(pipeline)} with ${what}  ${dim(r.key)}`);
    out(`  ${r.reason}`);
  }
  for (const n of events.notes as Array<{ kind?: string; reason?: string; message: string }>) {
    out(`${dim(`${n.kind ?? n.reason}:`)} ${n.message}`);
  }
  return 0;
}

type SchedulePreview = Awaited<ReturnType<typeof previewSchedule>>;
type MonitorPreview = Awaited<ReturnType<typeof previewMonitor>>;
type EventsPreview = Awaited<ReturnType<typeof previewEvents>>;

function printSchedule(pipeline: string, s: CompiledSchedule, p: SchedulePreview, since: number | undefined): number {
  const { evaluation, upcoming } = p;
  out(`${bold(s.name)}: schedule "${s.cron}" in ${s.timezone}; nothing is launched`);
  out(`each tick requests a run of ${bold(pipeline)} with ${describeRequest(s.params, s.profile)}`);
  if (evaluation) {
    out(`evaluated from ${new Date(since!).toISOString()} to ${p.now} (catch-up ${s.catchUp}):`);
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

function printMonitor(pipeline: string, t: CompiledMonitor, r: MonitorPreview): number {
  const served = r.version === undefined ? "" : ` (version ${r.version})`;
  const what = `monitor of ${t.model}@${t.alias}${served}`;
  out(`${bold(t.name)}: ${what}, evaluated once with no history; nothing is launched`);
  if (t.labels) {
    const rule = `${t.metric} ${t.direction} ${t.threshold}`;
    out(
      `${t.metric} per window of ${durationText(t.windowMs)}, newest first (fires on ${rule} for ${t.windows}` +
        ` windows with >= ${t.minLabelledRows} labelled rows):`,
    );
    for (const w of r.windows) out(`  ${windowSpan(w)}  ${metricCell(t, w)}`);
  }
  if (r.drift?.length) {
    out(`input drift (PSI) per window, newest first (fires above ${t.drift!.threshold} for ${t.windows} windows):`);
    for (const w of r.drift) out(`  ${windowSpan(w)}  ${driftCell(w)}`);
  }
  if (r.request) {
    const run = `a run of ${bold(pipeline)} with ${describeRequest(r.request.params, r.request.profile)}`;
    out(`${yellow("would fire")}: ${run}  ${dim(r.request.key)}`);
    out(`  ${r.request.reason}`);
  } else out("would not fire");
  for (const s of r.skips) out(`${dim(`${s.reason}:`)} ${s.message}`);
  for (const n of r.notes) out(dim(n));
  return 0;
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
