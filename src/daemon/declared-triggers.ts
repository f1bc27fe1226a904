/**
 * The daemon's view of the triggers a pipeline declares (`p.schedule/p.sensor/p.monitor/
 * p.onRunStatus`, or `trainyard.config.ts`): each compiled trigger becomes a DaemonTrigger whose
 * `evaluate` is `evaluateTrigger`, with a schedule's overlap policy applied to its active runs.
 */
import { statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { CONFIG_FILE_NAMES } from "../core/config.js";
import type { StepDef } from "../core/step.js";
import type { CompiledTrigger, OverlapPolicy } from "../core/triggers.js";
import type { Trainyard } from "../engine/trainyard.js";
import { openRegistry } from "../lib/registry/open-registry.js";
import type { DaemonTrigger, TickRequest, TriggerEvaluation } from "./daemon-trigger.js";
import { evaluateTrigger, type TriggerContext as EvaluationContext } from "./evaluate-trigger.js";
import { waitForFolderChange } from "./folder-watch.js";
import { referenceProfileLoader } from "./monitor-reference.js";
import { decideOverlap } from "./overlap-policy.js";
import { loadPipelineTriggers } from "./pipeline-triggers.js";

/** Triggers per home and (module bundle, config file stamp): an unchanged module keeps its trigger objects. */
const compiledFor = new WeakMap<Trainyard, Map<string, DaemonTrigger[]>>();

/** Every trigger a pipeline module (and its folder's trainyard.config.ts) declares. */
export async function loadDeclaredTriggers(ty: Trainyard, modulePath: string): Promise<DaemonTrigger[]> {
  const { bundlePath, moduleDir } = await ty.load(modulePath);
  const configs = CONFIG_FILE_NAMES.map((name) => statSync(join(moduleDir, name), { throwIfNoEntry: false }));
  const key = `${bundlePath}|${configs.map((c) => (c ? `${c.mtimeMs}:${c.size}` : "")).join("|")}`;
  let compiled = compiledFor.get(ty);
  if (!compiled) compiledFor.set(ty, (compiled = new Map()));
  const hit = compiled.get(key);
  if (hit) return hit;
  const loaded = await loadPipelineTriggers(ty, modulePath);
  const { pipeline } = await ty.load(modulePath);
  const models = modelsRegisteredBy(pipeline);
  const triggers = loaded.triggers.map((t) => declaredTrigger(ty, { ...loaded, models }, t));
  compiled.set(key, triggers);
  return triggers;
}

interface LoadedModule {
  pipeline: string;
  modulePath: string;
  moduleDir: string;
  /** Models the pipeline registers itself. */
  models: string[];
}

function declaredTrigger(ty: Trainyard, loaded: LoadedModule, t: CompiledTrigger): DaemonTrigger {
  const { pipeline, modulePath, moduleDir } = loaded;
  const monitor =
    t.kind === "monitor"
      ? { registry: openRegistry(ty), referenceProfile: referenceProfileLoader(ty), declaredModels: loaded.models }
      : undefined;
  return {
    id: `${pipeline}/${t.name}`,
    name: t.name,
    kind: t.kind,
    pipeline,
    modulePath,
    async evaluate({ now, cursor, activeRuns }): Promise<TriggerEvaluation> {
      const ctx: EvaluationContext = {
        moduleDir,
        runs: ty,
        pipeline,
        monitor,
        triggerRuns: activeRuns.map((r) => ({ id: r.runId, key: r.tickKey, status: r.status })),
      };
      const r = await evaluateTrigger(t, cursor ?? null, now, ctx);
      const ticks: TickRequest[] = [];
      // Runs requested earlier in this same evaluation (catch-up) count as active for the later ticks.
      const active = activeRuns.map((a) => ({ id: a.runId, status: a.status }));
      for (const q of r.requests) {
        const overlap = overlapOf(t);
        const tick: TickRequest = {
          key: q.key,
          scheduledAt: q.tickAt ?? now,
          status: "requested",
          reason: q.reason,
          event: q.event ?? (q.files ? { files: q.files } : undefined),
          // Under "queue" every run of the trigger waits its turn, also one asked for while none was active.
          runs: [{ params: q.params, profile: q.profile, ...(overlap === "queue" ? { serial: true } : {}) }],
        };
        if (overlap) {
          const decision = decideOverlap(overlap, active);
          if (decision.action === "skip")
            Object.assign(tick, { status: "skipped", reason: `skipped: ${decision.reason}`, runs: [] });
          else if (active.length) tick.reason = `${q.reason}; ${decision.reason}`;
          if (decision.action === "cancel-running") tick.cancelRuns = activeRuns.map((a) => a.runId);
        }
        if (tick.status === "requested") active.push({ id: `of tick ${q.key}`, status: "queued" });
        ticks.push(tick);
      }
      // A skipped slot (catch-up limit, late, before start) is a tick of its own, with its reason.
      for (const s of r.skips) {
        if (s.key)
          ticks.push({
            key: s.key,
            scheduledAt: s.at ?? now,
            status: "skipped",
            reason: `skipped (${s.reason}): ${s.message}`,
          });
      }
      return { ticks, cursor: r.cursor, nextEvaluationAt: r.nextWakeAt };
    },
    wake:
      t.kind === "sensor" && t.source === "files"
        ? watchFolder(isAbsolute(t.folder) ? t.folder : join(moduleDir, t.folder))
        : undefined,
  };
}

/** Model names the pipeline's side-effect steps are configured with (register's `name`). */
export function modelsRegisteredBy(p: { steps: ReadonlyMap<string, StepDef> }): string[] {
  const names = new Set<string>();
  for (const step of p.steps.values()) {
    const name = (step.options.config as { name?: unknown } | undefined)?.name;
    if (step.options.sideEffect && typeof name === "string") names.add(name);
  }
  return [...names];
}

/** Schedules and sensors have an overlap policy; monitors (cool-down) and run-status triggers do not. */
function overlapOf(t: CompiledTrigger): OverlapPolicy | undefined {
  return t.kind === "schedule" || t.kind === "sensor" ? t.overlap : undefined;
}

/** fs.watch only wakes the loop early; the sensor's poll stays the source of truth. */
function watchFolder(folder: string): (signal: () => void) => () => void {
  return (signal) => {
    const stop = new AbortController();
    void (async () => {
      // A folder that does not exist yet is watched once the timeout has passed and it does.
      while (!stop.signal.aborted) if ((await waitForFolderChange(folder, 5_000, stop.signal)) === "change") signal();
    })();
    return () => stop.abort();
  };
}
