/**
 * A deliberately small stand-in for trigger declarations, until `p.schedule/p.sensor/p.monitor`
 * land: a pipeline module may `export const triggers = [...]` of plain specs (a croner schedule,
 * or a function sensor), compiled here into `DaemonTrigger`s. The real declarations replace this
 * file; the daemon only sees the `DaemonTrigger` interface.
 */
import { pathToFileURL } from "node:url";
import { Cron } from "croner";
import { TrainyardError } from "../core/errors.js";
import { loadPipelineModule } from "../engine/module-loader.js";
import type { Trainyard } from "../engine/trainyard.js";
import type { DaemonTrigger, RunRequestSpec, TickRequest, TriggerContext, TriggerEvaluation } from "./daemon-trigger.js";

export interface StandInSchedule {
  kind: "schedule";
  name: string;
  /** Croner syntax, seconds field allowed. */
  cron: string;
  /** @default "UTC" */
  timezone?: string;
  /** Slots after this time (ISO) are due the first time; later the cursor says. @default now */
  start?: string;
  /** @default "latest" */
  catchUp?: "latest" | "all";
  /** @default "allow" */
  overlap?: "skip" | "allow";
  params?: Record<string, unknown>;
  priority?: number;
}

export interface StandInSensor {
  kind: "sensor";
  name: string;
  /** Returns run requests under an event key, or nothing; may throw (recorded with backoff). */
  evaluate(ctx: { now: number; cursor: unknown }): SensorResult | undefined | Promise<SensorResult | undefined>;
  /** @default every loop */
  everyMs?: number;
}

export interface SensorResult {
  key?: string;
  runs?: RunRequestSpec[];
  cursor?: unknown;
  reason?: string;
  event?: unknown;
}

export type StandInSpec = StandInSchedule | StandInSensor;

/** Triggers compiled per module bundle: an unchanged module keeps its trigger objects (and their state). */
const compiled = new Map<string, DaemonTrigger[]>();

/** The triggers a pipeline module declares (its `triggers` export), bound to its pipeline. */
export async function loadModuleTriggers(ty: Trainyard, modulePath: string): Promise<DaemonTrigger[]> {
  const loaded = await loadPipelineModule(modulePath, ty.cacheDir);
  const hit = compiled.get(loaded.bundlePath);
  if (hit) return hit;
  const mod = (await import(pathToFileURL(loaded.bundlePath).href)) as { triggers?: unknown };
  const specs = (mod.triggers ?? []) as StandInSpec[];
  if (!Array.isArray(specs)) {
    throw new TrainyardError("TRIGGER_INVALID", `${loaded.modulePath}: "triggers" must be a list`, { file: loaded.modulePath });
  }
  const triggers = specs.map((spec) => compileStandIn(spec, loaded.pipeline.name, loaded.modulePath));
  compiled.set(loaded.bundlePath, triggers);
  return triggers;
}

export function compileStandIn(spec: StandInSpec, pipeline: string, modulePath: string): DaemonTrigger {
  const base = { id: `${pipeline}/${spec.name}`, name: spec.name, pipeline, modulePath };
  if (spec.kind === "schedule") return { ...base, kind: "schedule", evaluate: scheduleEvaluator(spec, base.id) };
  if (spec.kind === "sensor") return { ...base, kind: "sensor", evaluate: sensorEvaluator(spec) };
  throw new TrainyardError("TRIGGER_INVALID", `trigger ${base.id}: unknown kind "${(spec as { kind?: string }).kind}"`, { file: modulePath });
}

function scheduleEvaluator(spec: StandInSchedule, id: string): (ctx: TriggerContext) => TriggerEvaluation {
  try {
    cronFor(spec.cron, spec.timezone ?? "UTC");
  } catch (err) {
    throw new TrainyardError("TRIGGER_INVALID", `schedule ${id}: invalid cron "${spec.cron}": ${(err as Error).message}`, {
      hint: 'use five or six cron fields, e.g. "0 3 * * *"',
    });
  }
  return ({ now, cursor, activeRuns }) => {
    const cron = cronFor(spec.cron, spec.timezone ?? "UTC");
    let from = typeof cursor === "number" ? cursor : spec.start ? Date.parse(spec.start) : now;
    const due: number[] = [];
    for (let next = cron.nextRun(new Date(from)); next && next.getTime() <= now; next = cron.nextRun(next)) {
      due.push(next.getTime());
      if (due.length > 1000) due.shift();
    }
    const nextEvaluationAt = cron.nextRun(new Date(Math.max(now, due.at(-1) ?? from)))?.getTime();
    // The first evaluation stores its starting point, so a crash before the first tick loses no slot.
    if (!due.length) return typeof cursor === "number" ? { ticks: [], nextEvaluationAt } : { ticks: [], cursor: from, nextEvaluationAt };
    from = due.at(-1)!;
    const requested = spec.catchUp === "all" ? due : due.slice(-1);
    const ticks: TickRequest[] = [];
    for (const slot of requested) {
      const key = new Date(slot).toISOString();
      const busy = spec.overlap === "skip" ? activeRuns[0] : undefined;
      ticks.push(
        busy
          ? { key, scheduledAt: slot, status: "skipped", reason: `skipped: overlap (run ${busy.runId} still ${busy.status})` }
          : { key, scheduledAt: slot, status: "requested", reason: `cron slot ${key}`, runs: [{ params: spec.params, priority: spec.priority }] },
      );
    }
    return { ticks, cursor: from, nextEvaluationAt };
  };
}

// A croner 11 Cron holds about 80 KB of arrays: 1,000 schedules kept 82 MB alive. Schedules share
// one per (pattern, zone) through a small cache, and a schedule builds its own only when due.
const crons = new Map<string, Cron>();

function cronFor(pattern: string, timezone: string): Cron {
  const key = `${pattern}\u0000${timezone}`;
  let cron = crons.get(key);
  if (cron) {
    crons.delete(key);
  } else {
    cron = new Cron(pattern, { timezone, paused: true });
    if (crons.size >= 64) crons.delete(crons.keys().next().value!);
  }
  crons.set(key, cron);
  return cron;
}

function sensorEvaluator(spec: StandInSensor): (ctx: TriggerContext) => Promise<TriggerEvaluation> {
  let nextAt = 0;
  return async ({ now, cursor }) => {
    if (now < nextAt) return { ticks: [], nextEvaluationAt: nextAt };
    nextAt = spec.everyMs ? now + spec.everyMs : 0;
    const r = await spec.evaluate({ now, cursor });
    const nextEvaluationAt = spec.everyMs ? nextAt : undefined;
    if (!r?.key) return { ticks: [], cursor: r?.cursor ?? cursor, nextEvaluationAt };
    const tick: TickRequest = { key: r.key, scheduledAt: now, status: "requested", reason: r.reason ?? `event ${r.key}`, event: r.event, runs: r.runs ?? [{}] };
    return { ticks: [tick], cursor: r.cursor ?? cursor, nextEvaluationAt };
  };
}
