/**
 * Artifact handles: what steps return and receive for anything that is not a small JSON value.
 * A handle is plain data ({ $artifact, digest, path, ... }) so it crosses processes unchanged.
 * While a step runs, a handle it creates is "pending" (it points at a file in the step's work
 * directory); the engine hashes it, moves it into the artifact store and hands the stored
 * handle to downstream steps.
 */
import { sha256Digest } from "./digest-format.js";
import { canonicalJson } from "./hash.js";

export type ArtifactKind = "json" | "file" | "directory" | "dataset" | "model";

interface HandleBase<K extends ArtifactKind, M> {
  readonly $artifact: K;
  /** sha256 of the content; empty while pending. */
  readonly digest: string;
  /** Absolute path to read the content from (read-only once stored). */
  readonly path: string;
  readonly size: number;
  readonly meta: M;
}

export interface DatasetMeta {
  format: "parquet" | "csv" | "json";
  rows?: number;
  schema?: Array<{ name: string; type: string }>;
  [key: string]: unknown;
}

/**
 * The format a dataset file's name says (stored copies lose the name, so it is recorded in the
 * meta): .csv/.txt and .tsv are CSV, .json/.jsonl/.ndjson JSON, anything else Parquet.
 */
export function datasetMetaOfPath(path: string): Pick<DatasetMeta, "format"> & { delimiter?: string } {
  const lower = path.toLowerCase();
  if (lower.endsWith(".tsv")) return { format: "csv", delimiter: "\t" };
  if (lower.endsWith(".csv") || lower.endsWith(".txt")) return { format: "csv" };
  if (/\.(json|jsonl|ndjson)$/.test(lower)) return { format: "json" };
  return { format: "parquet" };
}

export interface ModelMeta {
  format?: string;
  [key: string]: unknown;
}

export type FileArtifact = HandleBase<"file", Record<string, unknown>>;
export type DirectoryArtifact = HandleBase<"directory", Record<string, unknown>>;
export type Dataset = HandleBase<"dataset", DatasetMeta>;
export type ModelArtifact = HandleBase<"model", ModelMeta>;
export type ArtifactHandle = FileArtifact | DirectoryArtifact | Dataset | ModelArtifact;

export function isArtifactHandle(value: unknown): value is ArtifactHandle {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { $artifact?: unknown }).$artifact === "string" &&
    typeof (value as { path?: unknown }).path === "string"
  );
}

export function pendingHandle<H extends ArtifactHandle>(kind: H["$artifact"], path: string, meta: H["meta"]): H {
  return { $artifact: kind, digest: "", path, size: -1, meta } as unknown as H;
}

/** Walks a JSON-like value and yields every artifact handle inside it (outputs may nest them). */
export function* handlesIn(value: unknown): Generator<ArtifactHandle> {
  if (isArtifactHandle(value)) {
    yield value;
    return;
  }
  if (Array.isArray(value)) for (const v of value) yield* handlesIn(v);
  else if (value !== null && typeof value === "object") for (const v of Object.values(value)) yield* handlesIn(v);
}

/** Replaces every handle inside a value by `fn(handle)`, returning a new value. */
export function mapHandles(value: unknown, fn: (h: ArtifactHandle) => unknown): unknown {
  if (isArtifactHandle(value)) return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapHandles(v, fn));
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapHandles(v, fn);
    return out;
  }
  return value;
}

/** Handles reduced to their content identity (no local paths). */
export function toManifest(value: unknown): unknown {
  return mapHandles(value, (h) => ({ $artifact: h.$artifact, digest: h.digest, size: h.size, meta: h.meta }));
}

/** The digest of a step output value as the engine records it (artifacts count by their content). */
export function digestOfValue(value: unknown): string {
  return sha256Digest(canonicalJson(toManifest(value) ?? null));
}
