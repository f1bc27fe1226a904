/**
 * Cache keys. A step's key is the sha256 over its code fingerprint, its `version`, the params it
 * declares, its input artifact digests and the engine's cache version, plus (for library steps)
 * its JSON config, (for commands) the digests of the files it names, and (for map items) the item.
 */
import { isAbsolute, join } from "node:path";
import { canonicalJson, hashJson, sha256 } from "../core/hash.js";
import type { StepDef } from "../core/step.js";
import type { KeyComponents, StatIndexStore } from "../store/metadata-store.js";
import { digestPath } from "../store/stat-index.js";
import { referencedSource, type CodeContext } from "./code-context.js";

/** Bumped when the engine changes how outputs are produced or stored. */
export const ENGINE_CACHE_VERSION = "1";

export interface CodeFingerprint {
  code: string;
  files?: Record<string, string>;
}

/** Source of the step's function (or its command line), plus digests of the files a command names. */
export async function codeFingerprint(
  def: StepDef,
  moduleDir: string,
  metadata: StatIndexStore,
  context?: CodeContext,
): Promise<CodeFingerprint> {
  if (def.kind === "command" && def.command) {
    const run = def.command.run;
    const text = typeof run === "function" ? run.toString() : canonicalJson(run);
    const outputs = canonicalJson(def.command.outputs);
    const files: Record<string, string> = {};
    for (const f of def.command.files)
      files[f] = (await digestPath(metadata, join(moduleDir, f), { step: def.id })).digest;
    return { code: sha256(`command\n${text}\n${outputs}\n${canonicalJson(def.command.env ?? {})}`), files };
  }
  const text = def.run?.toString() ?? "";
  if (!context) return { code: sha256(`${def.kind}\n${text}`) };
  return { code: sha256(`${def.kind}\n${text}\n${referencedSource(text, context)}\n${context.dependencies}`) };
}

/** Digests of the files a step's `sources` option names (through the stat index). */
export async function sourceDigests(
  def: StepDef,
  params: Record<string, unknown>,
  moduleDir: string,
  metadata: StatIndexStore,
): Promise<Record<string, string>> {
  if (!def.options.sources) return {};
  const out: Record<string, string> = {};
  for (const f of await def.options.sources(params)) {
    const abs = isAbsolute(f) ? f : join(moduleDir, f);
    out[abs] = (await digestPath(metadata, abs, { step: def.id })).digest;
  }
  return out;
}

export function keyComponents(
  def: StepDef,
  fingerprint: CodeFingerprint,
  params: Record<string, unknown>,
  inputs: Record<string, string>,
  item?: string,
): KeyComponents {
  const c: KeyComponents = {
    engine: ENGINE_CACHE_VERSION,
    code: fingerprint.code,
    version: def.options.version ?? "",
    params,
    inputs,
  };
  if (def.options.config !== undefined) c.config = hashJson(def.options.config);
  if (fingerprint.files && Object.keys(fingerprint.files).length) c.files = fingerprint.files;
  if (item !== undefined) c.item = item;
  return c;
}

export function cacheKey(components: KeyComponents): string {
  return hashJson(components);
}
