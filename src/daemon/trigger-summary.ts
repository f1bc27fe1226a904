/**
 * One line per trigger for people (`triggers list`, later `status`) and the landing source of a
 * sensor, resolved against its pipeline module's folder.
 */
import { isAbsolute, resolve } from "node:path";
import type { CompiledFileSensor, CompiledTrigger } from "../core/triggers.js";
import { formatInZone } from "../core/trigger-time.js";
import { localLandingFolder, type LandingSource } from "./landing-folder.js";
import { upcomingTicks } from "./schedule-ticks.js";
import { sqlLocation } from "./sql-sensor-query.js";

export interface TriggerSummary {
  name: string;
  kind: CompiledTrigger["kind"];
  /** What it watches or when it fires, in words. */
  what: string;
  /** When it is next evaluated or fires, in words. */
  next: string;
  /** The next tick of a schedule, epoch ms. */
  nextTick?: number;
}

/** A sensor's folder: relative paths are read from the pipeline module's folder. */
export function sensorSource(sensor: CompiledFileSensor, moduleDir: string): LandingSource {
  const folder = isAbsolute(sensor.folder) ? sensor.folder : resolve(moduleDir, sensor.folder);
  return localLandingFolder(folder, sensor.glob);
}

export function summarizeTrigger(t: CompiledTrigger, now: number, moduleDir: string): TriggerSummary {
  if (t.kind === "schedule") {
    const [nextTick] = upcomingTicks(t, now, 1);
    const catchUp = t.catchUp === "all" ? `all, at most ${t.maxCatchUp}` : t.catchUp;
    return {
      name: t.name,
      kind: t.kind,
      what: `cron "${t.cron}" in ${t.timezone}, catch-up ${catchUp}, overlap ${t.overlap}`,
      next:
        nextTick === undefined
          ? "no further tick (the schedule has ended)"
          : `next tick ${formatInZone(nextTick, t.timezone)} (${new Date(nextTick).toISOString()})`,
      nextTick,
    };
  }
  if (t.kind === "sensor" && t.source === "sql") {
    const by = t.cursorColumn
      ? `a new ${t.cursorColumn}`
      : t.keyColumn
        ? `each new ${t.keyColumn}`
        : "a changed result";
    const mapped = Object.entries(t.paramsFrom)
      .map(([p, c]) => `${p}<-${c}`)
      .join(", ");
    return {
      name: t.name,
      kind: t.kind,
      what: `sql (${t.engine}) on ${sqlLocation(t, moduleDir)}: runs on ${by}${mapped ? `, params ${mapped}` : ""}`,
      next: `queries every ${ms(t.intervalMs)} (timeout ${ms(t.timeoutMs)})`,
    };
  }
  if (t.kind === "sensor" && t.source === "function") {
    return {
      name: t.name,
      kind: t.kind,
      what: "function: runs for each new key its evaluate function returns",
      next: `called every ${ms(t.intervalMs)}`,
    };
  }
  if (t.kind === "run-status") {
    const carried = t.forwardParams.length ? `, carrying ${t.forwardParams.join(", ")}` : "";
    return {
      name: t.name,
      kind: t.kind,
      what: `runs of "${t.pipeline}" ending ${t.statuses.join(" or ")}${carried}`,
      next: `looks at finished runs every ${ms(t.intervalMs)}`,
    };
  }
  if (t.kind === "sensor") {
    const same = t.onSameContent === "run" ? ", a new name with seen bytes counts" : "";
    return {
      name: t.name,
      kind: t.kind,
      what:
        `files "${t.glob}" in ${sensorSource(t, moduleDir).location}, settle ${ms(t.settleMs)},` +
        ` debounce ${ms(t.debounceMs)}${same}`,
      next: `polls every ${ms(t.intervalMs)}; changes in the folder wake it earlier`,
    };
  }
  const drift = t.drift ? `, or input drift (PSI) above ${t.drift.threshold}` : "";
  return {
    name: t.name,
    kind: t.kind,
    what:
      `${t.model}@${t.alias}: ${t.metric} ${t.direction} ${t.threshold}` +
      ` for ${t.windows} windows of ${ms(t.windowMs)}` +
      ` with >= ${t.minLabelledRows} labelled rows${drift}, cool-down ${ms(t.coolDownMs)}`,
    next: "evaluated by the daemon once prediction labels arrive",
  };
}

function ms(n: number): string {
  if (n % 86_400_000 === 0 && n > 0) return `${n / 86_400_000}d`;
  if (n % 3_600_000 === 0 && n > 0) return `${n / 3_600_000}h`;
  if (n % 60_000 === 0 && n > 0) return `${n / 60_000}m`;
  if (n % 1000 === 0 && n > 0) return `${n / 1000}s`;
  return `${n}ms`;
}
