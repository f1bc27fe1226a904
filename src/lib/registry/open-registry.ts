/**
 * Opening the registry of a Trainyard home and resolving `name@version` / `name@alias`
 * references with errors that say what exists instead.
 */
import { TrainyardError } from "../../core/errors.js";
import type { Trainyard } from "../../engine/trainyard.js";
import { registryErrors, type ModelVersionRecord, type RegistryStore } from "../../store/registry-store.js";
import { isPostgresMetadata, PostgresRegistryStore } from "../../store/postgres-registry-store.js";
import { SqliteMetadataStore } from "../../store/sqlite-metadata-store.js";
import { SqliteRegistryStore } from "../../store/sqlite-registry-store.js";

const opened = new WeakMap<Trainyard, RegistryStore>();

/**
 * The registry living next to a home's metadata (same backend, same database), one per
 * Trainyard instance. Closing the Trainyard closes the shared database.
 */
export function openRegistry(ty: Trainyard): RegistryStore {
  let reg = opened.get(ty);
  if (reg) return reg;
  if (ty.metadata instanceof SqliteMetadataStore) reg = new SqliteRegistryStore(ty.metadata);
  else if (isPostgresMetadata(ty.metadata)) reg = new PostgresRegistryStore(ty.metadata);
  else {
    throw new TrainyardError("REGISTRY_UNSUPPORTED", `the model registry has no implementation for the "${ty.metadata.backend}" metadata backend yet`, {
      hint: "use the SQLite or PostgreSQL metadata store",
    });
  }
  opened.set(ty, reg);
  return reg;
}

/** A parsed `name`, `name@3` or `name@production`. */
export interface ModelRef {
  model: string;
  /** A version number, an alias name, or absent for "the model as a whole". */
  ref?: number | string;
}

export function parseModelRef(text: string): ModelRef {
  const at = text.indexOf("@");
  if (at === 0 || at === text.length - 1) {
    throw new TrainyardError("USAGE", `"${text}" is not a model reference`, { hint: "write <name>, <name>@<version> or <name>@<alias>, e.g. flights@3 or flights@production" });
  }
  if (at < 0) return { model: text };
  const model = text.slice(0, at);
  const ref = text.slice(at + 1);
  return { model, ref: /^\d+$/.test(ref) ? Number(ref) : ref };
}

export function formatModelRef(r: ModelRef): string {
  return r.ref === undefined ? r.model : `${r.model}@${r.ref}`;
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
