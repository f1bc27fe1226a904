/**
 * Lineage of a model version: the version record names the run and the model artifact; the
 * metadata store's lineage edges lead from that artifact up through every step that produced
 * an input, to the raw data no step wrote. Answers "which data, which code, which params,
 * which run, which gates" for any registered version.
 */
import type { ModelRef } from "../core/model-ref.js";
import type { MetadataStore } from "../store/metadata-store.js";
import type { GateVerdict, RegistryStore } from "../store/registry-store.js";
import { resolveModelVersion } from "./registry-views.js";

/** What lineage is read from: the metadata store and the registry in the same database. */
export interface LineageSources {
  metadata: MetadataStore;
  registry: RegistryStore;
}

export interface ArtifactLineage {
  digest: string;
  kind?: string;
  size?: number;
  /** Already shown higher up in the same tree (a shared input); not expanded again. */
  repeated?: boolean;
  /** The step run that wrote the artifact (the original one when it was reused from cache). */
  producedBy?: {
    stepRunId: string;
    runId: string;
    stepId: string;
    inputs: Array<{ name: string; node: ArtifactLineage }>;
  };
}

export interface ModelLineage {
  model: string;
  version: number;
  aliases: string[];
  run?: {
    id: string;
    pipeline: string;
    status: string;
    params: Record<string, unknown>;
    codeVersion: string;
    createdAt: number;
  };
  stepRunId?: string;
  codeFingerprint?: string;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  gates: GateVerdict[];
  dataDigests: string[];
  referenceProfileDigest?: string;
  artifact: ArtifactLineage;
  /** Leaves of the tree: artifacts no step wrote, or written by steps without inputs (ingest). */
  sources: Array<{ digest: string; kind?: string; size?: number }>;
}

/** Walks lineage edges upward from an artifact; cycles and very deep graphs are cut off. */
export async function artifactLineage(
  ty: Pick<LineageSources, "metadata">,
  digest: string,
  depth = 0,
  seen = new Set<string>(),
): Promise<ArtifactLineage> {
  const art = await ty.metadata.getArtifact(digest);
  const node: ArtifactLineage = { digest, kind: art?.kind, size: art?.size };
  if (seen.has(digest)) return { ...node, repeated: true };
  if (depth >= 30) return node;
  seen.add(digest);
  const edges = await ty.metadata.lineageOf(digest);
  const writer = edges.find((e) => e.direction === "out" && !e.reused) ?? edges.find((e) => e.direction === "out");
  if (!writer) return node;
  const sr = await ty.metadata.getStepRun(writer.stepRunId);
  // A cached step run read nothing itself: its inputs are those of the run it reused.
  const origin = sr?.cachedFrom ?? writer.stepRunId;
  const inputs: Array<{ name: string; node: ArtifactLineage }> = [];
  for (const e of await inputEdges(ty, origin)) {
    inputs.push({ name: e.name, node: await artifactLineage(ty, e.digest, depth + 1, seen) });
  }
  node.producedBy = { stepRunId: origin, runId: writer.runId, stepId: writer.stepId, inputs };
  return node;
}

export async function modelLineage(ty: LineageSources, ref: ModelRef): Promise<ModelLineage> {
  const reg = ty.registry;
  const v = await resolveModelVersion(reg, ref);
  const run = v.runId ? await ty.metadata.getRun(v.runId) : undefined;
  const artifact = await artifactLineage(ty, v.artifactDigest);
  const sources = new Map<string, { digest: string; kind?: string; size?: number }>();
  // Raw data: the leaves, i.e. artifacts no step wrote or that an ingest step (no inputs) brought in.
  const collect = async (n: ArtifactLineage): Promise<void> => {
    // A node shown above had its leaves collected there; it is not raw data itself.
    if (n.repeated) return;
    if (n.producedBy?.inputs.length) {
      for (const i of n.producedBy.inputs) await collect(i.node);
      return;
    }
    // An ingest step's output is a JSON manifest; the data are the files it declared.
    const files = n.producedBy ? await outputFiles(ty, n.producedBy.stepRunId) : [];
    for (const f of files.length ? files : [n]) sources.set(f.digest, { digest: f.digest, kind: f.kind, size: f.size });
  };
  await collect(artifact);
  // A model artifact with no lineage edges (registered from outside a run) is its own source;
  // the declared training data are then the best answer we have.
  if (!artifact.producedBy)
    for (const d of v.dataDigests) sources.set(d, { digest: d, kind: (await ty.metadata.getArtifact(d))?.kind });
  const aliases = (await reg.listAliases(v.model)).filter((a) => a.version === v.version).map((a) => a.alias);
  return {
    model: v.model,
    version: v.version,
    aliases,
    run: run && {
      id: run.id,
      pipeline: run.pipeline,
      status: run.status,
      params: run.params,
      codeVersion: run.codeVersion,
      createdAt: run.createdAt,
    },
    stepRunId: v.stepRunId,
    codeFingerprint: v.codeFingerprint,
    params: v.params,
    metrics: v.metrics,
    gates: v.gates,
    dataDigests: v.dataDigests,
    referenceProfileDigest: v.referenceProfileDigest,
    artifact,
    sources: [...sources.values()],
  };
}

/** A step run's inputs; a map item's are its map step's (the list it fans out over and shared inputs). */
async function inputEdges(ty: Pick<LineageSources, "metadata">, stepRunId: string) {
  const own = (await ty.metadata.lineageOfStepRun(stepRunId)).filter((e) => e.direction === "in");
  if (own.length) return own;
  const item = /^(.*)\[\d+\]$/.exec(stepRunId);
  if (!item) return own;
  return (await ty.metadata.lineageOfStepRun(item[1])).filter((e) => e.direction === "in");
}

async function outputFiles(
  ty: Pick<LineageSources, "metadata">,
  stepRunId: string,
): Promise<Array<{ digest: string; kind?: string; size?: number }>> {
  const out: Array<{ digest: string; kind?: string; size?: number }> = [];
  for (const e of await ty.metadata.lineageOfStepRun(stepRunId)) {
    if (e.direction !== "out") continue;
    const art = await ty.metadata.getArtifact(e.digest);
    if (art && art.kind !== "json") out.push({ digest: art.digest, kind: art.kind, size: art.size });
  }
  return out;
}
