/**
 * Every trigger of a pipeline module, compiled: those its module declares (`p.schedule(...)`) and
 * those trainyard.config.ts in the same folder declares for it (`triggers: { <pipeline>: [...] }`),
 * validated the same way, so a bad declaration in either fails at load naming trigger and file.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isTrainyardError, TrainyardError } from "../core/errors.js";
import { compileTriggers, type CompiledTrigger, type TriggerDecl } from "../core/triggers.js";
import type { TrainyardConfig } from "../core/config.js";
import { loadConfigModule } from "../engine/module-loader.js";
import type { Trainyard } from "../engine/trainyard.js";

export interface PipelineTriggers {
  pipeline: string;
  modulePath: string;
  moduleDir: string;
  triggers: CompiledTrigger[];
  /** Where each trigger is declared: "module" or the config file's path. */
  declaredIn: Record<string, string>;
}

const KINDS = ["schedule", "sensor", "monitor", "run-status"];

export async function loadPipelineTriggers(ty: Trainyard, modulePath: string): Promise<PipelineTriggers> {
  const configFile = configFileIn(dirname(resolve(modulePath)));
  let loaded;
  let config: TrainyardConfig | undefined;
  try {
    loaded = await ty.load(modulePath);
    config = await loadConfigModule(loaded.moduleDir, ty.cacheDir);
  } catch (err) {
    throw withConfigFile(err, configFile);
  }
  const name = loaded.pipeline.name;
  const declared = configTriggersFor(config, name, configFile);
  let triggers: CompiledTrigger[];
  try {
    triggers = compileTriggers(loaded.pipeline, { triggers: declared, profiles: config?.profiles });
  } catch (err) {
    // Module declarations were already compiled when the module loaded: what fails here is the config's.
    throw withConfigFile(err, configFile);
  }
  const declaredIn: Record<string, string> = {};
  for (const t of triggers) {
    declaredIn[t.name] = loaded.pipeline.triggers.has(t.name) ? "module" : (configFile ?? "config");
  }
  return { pipeline: name, modulePath: loaded.modulePath, moduleDir: loaded.moduleDir, triggers, declaredIn };
}

function configFileIn(dir: string): string | undefined {
  const names = ["trainyard.config.ts", "trainyard.config.mjs", "trainyard.config.js"];
  return names.map((f) => join(dir, f)).find(existsSync);
}

function configTriggersFor(config: TrainyardConfig | undefined, pipeline: string, file?: string): TriggerDecl[] {
  const all = config?.triggers;
  if (all === undefined) return [];
  const invalid = (field: string, why: string) =>
    new TrainyardError("TRIGGER_INVALID", `${file ?? "trainyard.config"}: ${field} ${why}`, {
      file,
      field,
      hint:
        "write triggers: { <pipeline name>: [schedule(...), sensor(...), monitor(...), onRunStatus(...)] }" +
        ' with the helpers exported by "trainyard"',
    });
  if (typeof all !== "object" || all === null || Array.isArray(all)) {
    throw invalid("triggers", "must map pipeline names to lists");
  }
  const list = all[pipeline];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw invalid(`triggers.${pipeline}`, "must be a list of triggers");
  for (const [i, d] of list.entries()) {
    const decl = d as Partial<TriggerDecl> | null;
    if (!decl || typeof decl !== "object" || !KINDS.includes(String(decl.kind)) || typeof decl.name !== "string") {
      throw invalid(`triggers.${pipeline}[${i}]`, "is not a trigger declaration");
    }
  }
  return list as TriggerDecl[];
}

function withConfigFile(err: unknown, configFile: string | undefined): unknown {
  if (!configFile || !isTrainyardError(err) || err.code !== "TRIGGER_INVALID" || err.fields.file) return err;
  return new TrainyardError("TRIGGER_INVALID", `${err.message} (in ${configFile})`, {
    ...err.fields,
    file: configFile,
    hint: err.hint,
    cause: err.cause,
  });
}
