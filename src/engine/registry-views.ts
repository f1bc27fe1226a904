/**
 * Read views of the model registry shared by the CLI, the daemon and the HTTP API: models,
 * one model with its versions, pins and alias history, and one version by `name@version|alias`.
 */
import type { ModelRef } from "../core/model-ref.js";
import {
  registryErrors,
  type AliasEvent,
  type AliasRecord,
  type ModelSummary,
  type ModelVersionRecord,
  type RegistryStore,
} from "../store/registry-store.js";

export interface ModelDetail extends ModelSummary {
  /** Aliases a person pinned (rollback, forced promotion). */
  pins: AliasRecord[];
  versions: ModelVersionRecord[];
  /** Every alias move, oldest first. */
  history: AliasEvent[];
}

export interface VersionDetail extends ModelVersionRecord {
  /** The aliases pointing at this version now. */
  aliases: string[];
}

/**
 * The version a reference names; for a bare name, the alias `production` if set, else the latest.
 * Throws NOT_FOUND naming the model, version or alias that does not exist.
 */
export async function resolveModelVersion(reg: RegistryStore, r: ModelRef): Promise<ModelVersionRecord> {
  const summary = await reg.getModel(r.model);
  if (!summary) throw registryErrors.unknownModel(r.model);
  const ref = r.ref ?? (summary.aliases.production !== undefined ? "production" : summary.latestVersion);
  const found = await reg.getVersion(r.model, ref);
  if (found) return found;
  if (typeof ref === "number") throw registryErrors.unknownVersion(r.model, ref, summary.latestVersion);
  throw registryErrors.unknownAlias(r.model, ref, Object.keys(summary.aliases));
}

export async function modelDetail(reg: RegistryStore, name: string): Promise<ModelDetail> {
  const summary = await reg.getModel(name);
  if (!summary) throw registryErrors.unknownModel(name);
  const versions = await reg.listVersions(name);
  const history = await reg.aliasHistory(name);
  const pins = (await reg.listAliases(name)).filter((a) => a.pin);
  return { ...summary, pins, versions, history };
}

export async function versionDetail(reg: RegistryStore, ref: ModelRef): Promise<VersionDetail> {
  const v = await resolveModelVersion(reg, ref);
  const aliases = (await reg.listAliases(v.model)).filter((a) => a.version === v.version).map((a) => a.alias);
  return { ...v, aliases };
}
