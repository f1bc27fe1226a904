/**
 * Triggers declared in trainyard.config.ts, next to the pipelines they start:
 *
 *   export default defineConfig({ triggers: { delays: [schedule("nightly", { cron: "0 2 * * *" })] } });
 *
 * Each helper checks the declaration when the config loads (cron, durations, sources); its params
 * are checked against the pipeline's schema when that pipeline loads, as for `p.schedule(...)`.
 */
import type { RunStatusSpec } from "./event-triggers.js";
import { compileTrigger, type MonitorSpec, type ScheduleSpec, type SensorSpec, type TriggerDecl } from "./triggers.js";

/** Like `p.schedule(name, spec)`, for trainyard.config.ts. */
export function schedule(name: string, spec: ScheduleSpec<Record<string, unknown>>): TriggerDecl {
  return checked({ kind: "schedule", name, spec });
}

/** Like `p.sensor(name, spec)`, for trainyard.config.ts. */
export function sensor(name: string, spec: SensorSpec<Record<string, unknown>>): TriggerDecl {
  return checked({ kind: "sensor", name, spec });
}

/** Like `p.monitor(name, spec)`, for trainyard.config.ts. */
export function monitor(name: string, spec: MonitorSpec<Record<string, unknown>>): TriggerDecl {
  return checked({ kind: "monitor", name, spec });
}

/** Like `p.onRunStatus(name, spec)`, for trainyard.config.ts. */
export function onRunStatus(name: string, spec: RunStatusSpec<Record<string, unknown>>): TriggerDecl {
  return checked({ kind: "run-status", name, spec });
}

function checked(decl: TriggerDecl): TriggerDecl {
  compileTrigger(decl);
  return decl;
}
