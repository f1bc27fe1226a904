/**
 * The environment a command step gets. Params and input paths come as JSON in TRAINYARD_PARAMS
 * and TRAINYARD_INPUTS, and always as files named by TRAINYARD_PARAMS_FILE and
 * TRAINYARD_INPUTS_FILE. Above ENV_VALUE_LIMIT a value is in its file only: Linux refuses to
 * start any program whose single environment string passes 128 KiB (E2BIG).
 */
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TrainyardError } from "../../core/errors.js";

/** The largest value put into a command's environment. */
export const ENV_VALUE_LIMIT = 64 * 1024;

/** Value files written in this process, by directory: each distinct value once per run. */
const written = new Map<string, Set<string>>();

export function valuesDir(workRoot: string, runId: string): string {
  return join(workRoot, "values", runId.replace(/[^A-Za-z0-9_.-]/g, "_"));
}

/** A file holding `json`, shared by every command of the run given the same value. */
function valueFile(dir: string, json: string): string {
  const name = `${createHash("sha256").update(json).digest("hex").slice(0, 32)}.json`;
  let files = written.get(dir);
  if (!files) written.set(dir, (files = new Set()));
  const file = `${dir}/${name}`;
  if (files.has(name)) return file;
  try {
    writeFileSync(file, json);
  } catch {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, json);
  }
  files.add(name);
  return file;
}

/** Removes a run's value files (when the run ends). */
export function removeValues(workRoot: string, runId: string): void {
  const dir = valuesDir(workRoot, runId);
  written.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** TRAINYARD_PARAMS(_FILE) and TRAINYARD_INPUTS(_FILE) for one command. */
export function valueVariables(
  dir: string,
  params: Record<string, unknown>,
  inputPaths: Record<string, string>,
): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [name, value] of [
    ["TRAINYARD_PARAMS", params],
    ["TRAINYARD_INPUTS", inputPaths],
  ] as const) {
    const json = JSON.stringify(value);
    vars[`${name}_FILE`] = valueFile(dir, json);
    if (json.length <= ENV_VALUE_LIMIT) vars[name] = json;
  }
  return vars;
}

/** A placeholder's value, refused when no program could be started with it (see ENV_VALUE_LIMIT). */
export function checkedPlaceholder(step: string, key: string, value: string): string {
  if (value.length <= ENV_VALUE_LIMIT) return value;
  const size = Math.ceil(value.length / 1024);
  throw new TrainyardError("PARAM_INVALID", `step "${step}": {${key}} is ${size} KiB, too large to pass to a command`, {
    step,
    hint: `read it from the JSON file named by $TRAINYARD_PARAMS_FILE instead of using {${key}}`,
  });
}
