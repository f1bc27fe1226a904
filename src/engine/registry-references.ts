/**
 * What registered model versions refer to, for gc and fsck: the run that registered each one,
 * its artifacts, and every run whose records its lineage reads (the producers of the model and
 * of each input above it, back to the raw data, including the originals of cached steps).
 */
import type { MetadataStore } from "../store/metadata-store.js";
import type { RegistryStore } from "../store/registry-store.js";
import { SqliteMetadataStore } from "../store/sqlite-metadata-store.js";
import { SqliteRegistryStore } from "../store/sqlite-registry-store.js";

export interface VersionReference {
  model: string;
  version: number;
  runId?: string;
  stepRunId?: string;
  /** The model artifact first, then its reference profile and training data. */
  digests: string[];
}

/** Every version of every registered model; none for a backend without a registry. */
export async function registeredVersions(metadata: MetadataStore): Promise<VersionReference[]> {
  const reg = await registryOf(metadata);
  if (!reg) return [];
  const out: VersionReference[] = [];
  for (const m of await reg.listModels()) {
    for (const v of await reg.listVersions(m.name)) {
      const digests = [
        v.artifactDigest,
        ...(v.referenceProfileDigest ? [v.referenceProfileDigest] : []),
        ...v.dataDigests,
      ];
      out.push({ model: v.model, version: v.version, runId: v.runId, stepRunId: v.stepRunId, digests });
    }
  }
  return out;
}

/**
 * Runs whose records the lineage of `digests` reads: each artifact's writer, the step run it
 * was reused from, and so on up through their inputs.
 */
export async function runsInLineage(metadata: MetadataStore, digests: Iterable<string>): Promise<Set<string>> {
  const runs = new Set<string>();
  const seen = new Set<string>();
  const stack = [...digests];
  while (stack.length) {
    const digest = stack.pop()!;
    if (seen.has(digest)) continue;
    seen.add(digest);
    const edges = await metadata.lineageOf(digest);
    const writer = edges.find((e) => e.direction === "out" && !e.reused) ?? edges.find((e) => e.direction === "out");
    if (!writer) continue;
    runs.add(writer.runId);
    const sr = await metadata.getStepRun(writer.stepRunId);
    const origin = sr?.cachedFrom ? await metadata.getStepRun(sr.cachedFrom) : undefined;
    if (origin) runs.add(origin.runId);
    for (const e of await metadata.lineageOfStepRun(origin?.id ?? writer.stepRunId))
      if (e.direction === "in") stack.push(e.digest);
  }
  return runs;
}

async function registryOf(metadata: MetadataStore): Promise<RegistryStore | undefined> {
  if (metadata instanceof SqliteMetadataStore) return new SqliteRegistryStore(metadata);
  if (metadata.backend !== "postgres") return undefined;
  // Loaded on demand, as the metadata store itself: `pg` stays off the path of SQLite homes.
  const { isPostgresMetadata, PostgresRegistryStore } = await import("../store/postgres-registry-store.js");
  return isPostgresMetadata(metadata) ? new PostgresRegistryStore(metadata) : undefined;
}
