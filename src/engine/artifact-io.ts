/**
 * Moves step outputs into the stores and back. A step's output value becomes a JSON manifest
 * (artifact handles inside it replaced by their digests); small manifests live inline in the
 * metadata store, larger ones in the artifact store. Loading re-attaches local paths (a remote
 * store's objects are fetched into its local cache when verified before use).
 */
import { statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { digestOfValue, handlesIn, isArtifactHandle, mapHandles, toManifest } from "../core/artifacts.js";
import type { ArtifactHandle } from "../core/artifacts.js";
import { TrainyardError } from "../core/errors.js";
import { isLegacyDigest, sha256Digest } from "../core/digest-format.js";
import { shortDigest, canonicalJson } from "../core/hash.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import type { ArtifactRecord, MetadataStore } from "../store/metadata-store.js";
import { upgradeLegacyHandleDigest } from "../store/digest-scheme-migration.js";
import { ObjectVerifier, type VerifyContext } from "../store/object-verifier.js";

/** Manifests up to this size are stored inline in the metadata store. */
export const INLINE_LIMIT = 64 * 1024;
/** Manifests up to this size are kept as bytes too, to travel inside tasks (see smallManifest). */
const SMALL_MANIFEST = 1024;

export interface FinalizedOutput {
  digest: string;
  /** The output with stored handles (paths into the artifact store). */
  value: unknown;
  artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>;
  /** Output field name -> digest, for lineage edges. */
  produced: Array<{ name: string; digest: string }>;
}

export class ArtifactIO {
  private readonly memo = new Map<string, unknown>();
  /** The bytes of small manifests this process stored or loaded, by digest. */
  private readonly small = new Map<string, Uint8Array>();
  readonly verifier: ObjectVerifier;
  /** TRAINYARD_VERIFY=0 turns input checks off, for measuring what they cost (bench only). */
  private readonly checking = process.env.TRAINYARD_VERIFY !== "0";

  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly metadata: MetadataStore,
  ) {
    this.verifier = new ObjectVerifier(artifacts, metadata);
  }

  /**
   * Checks every stored artifact inside `value` against its digest before its bytes are used;
   * a missing or damaged one is quarantined and thrown as ARTIFACT_MISSING / ARTIFACT_CORRUPT.
   */
  async verifyValue(value: unknown, ctx: VerifyContext = {}): Promise<void> {
    for (const h of handlesIn(value)) {
      if (!h.digest) continue;
      if (this.checking) await this.verifier.verify(h.digest, { ...ctx, size: h.size });
      else await this.artifacts.getLocal(h.digest);
    }
  }

  /**
   * Checks that a stored output about to be reused is still whole. A local store's objects are
   * verified now; a remote store's are only confirmed present: whoever reads their bytes fetches
   * them through the verifying cache, so a reuse nobody reads downloads nothing.
   */
  async confirmStored(value: unknown, ctx: VerifyContext = {}): Promise<void> {
    if (!this.artifacts.verifiesReads) return this.verifyValue(value, ctx);
    for (const h of handlesIn(value)) {
      if (!h.digest || (await this.artifacts.has(h.digest))) continue;
      throw new TrainyardError("ARTIFACT_MISSING", `artifact ${shortDigest(h.digest)} is not in the object store`, {
        digest: h.digest,
        step: ctx.step,
        runId: ctx.runId,
      });
    }
  }

  /**
   * Brings the objects a step is about to read into place: a remote store's through its
   * verifying cache. A local store's were verified by confirmStored already.
   */
  async hydrateForUse(value: unknown, ctx: VerifyContext = {}): Promise<void> {
    if (this.artifacts.verifiesReads) await this.verifyValue(value, ctx);
  }

  /** The local path of a verified object (model loads, copies out of the store). */
  verifiedPath(digest: string, ctx: VerifyContext = {}): Promise<string> {
    return this.verifier.verify(digest, ctx);
  }

  /** Keeps objects about to be reused from gc until the records naming them commit. */
  retain(digests: Iterable<string>): void {
    this.artifacts.retain?.(digests);
  }

  /** Holds this process's pending journal for a run; call the result once its records committed. */
  holdPending(): () => void {
    return this.artifacts.holdPending?.() ?? (() => undefined);
  }

  /** Stores every pending handle in `value`, then the manifest of the whole value. */
  async finalize(value: unknown, step: string, workdir: string | undefined): Promise<FinalizedOutput> {
    checkSerializable(value, step, "output");
    const records: FinalizedOutput["artifacts"] = [];
    const produced: FinalizedOutput["produced"] = [];
    const now = Date.now();
    const stored = new Map<ArtifactHandle, ArtifactHandle>();
    const pending: Array<[ArtifactHandle, string]> = [];
    collectHandles(value, "output", pending);
    for (const [h, name] of pending) {
      if (h.digest) {
        produced.push({ name, digest: h.digest });
        continue;
      }
      const path = isAbsolute(h.path) || !workdir ? h.path : join(workdir, h.path);
      const st = seenStats.get(h) ?? statOrUndefined(path);
      if (!st) {
        throw new TrainyardError(
          "OUTPUT_INVALID",
          `step "${step}" declared ${h.$artifact} output ${name} at ${path}, but no file is there`,
          {
            step,
            file: path,
            hint:
              `write the file ` +
              `before returning ctx.${h.$artifact === "directory" ? "directory" : h.$artifact}(path); relative paths ` +
              `are inside ctx.workdir`,
          },
        );
      }
      const isDir = st.isDirectory();
      // A file in the attempt's work directory is the step's to give up: the store may take it over.
      const inWorkdir = workdir !== undefined && path.startsWith(workdir);
      const obj =
        isDir || h.$artifact === "directory"
          ? await this.artifacts.putDirectory(path, { consume: inWorkdir })
          : await this.artifacts.putFile(path, { consume: inWorkdir, size: st.size });
      this.verifier.trust(obj.digest, obj.path);
      const meta = { ...(h.meta as Record<string, unknown>) };
      records.push({
        record: { digest: obj.digest, kind: h.$artifact, size: obj.size, meta, createdAt: now, inline: false },
      });
      produced.push({ name, digest: obj.digest });
      stored.set(h, {
        $artifact: h.$artifact,
        digest: obj.digest,
        size: obj.size,
        meta,
        path: obj.path,
      } as ArtifactHandle);
    }
    const withStored = stored.size ? mapHandles(value, (h) => stored.get(h) ?? h) : value;
    const text = canonicalJson(toManifest(withStored) ?? null);
    const bytes = Buffer.from(text);
    // Downstream steps get the stored form (sorted keys, dates as strings), exactly what a
    // reuse reads back, so a step's output never depends on whether its upstream ran.
    const manifest = JSON.parse(text) as unknown;
    const digest = sha256Digest(bytes);
    if (bytes.byteLength <= INLINE_LIMIT) {
      // An inline value has no object, but gc must still see it as pending until its records commit.
      this.artifacts.retain?.([digest]);
      if (bytes.byteLength <= SMALL_MANIFEST) this.small.set(digest, bytes);
      records.push({
        record: { digest, kind: "json", size: bytes.byteLength, meta: {}, createdAt: now, inline: true },
        bytes,
      });
    } else {
      const obj = await this.artifacts.putBytes(bytes);
      this.verifier.trust(obj.digest, obj.path);
      records.push({
        record: { digest: obj.digest, kind: "json", size: bytes.byteLength, meta: {}, createdAt: now, inline: false },
      });
    }
    const hydrated = this.hydrate(manifest);
    this.memo.set(digest, hydrated);
    return { digest, value: hydrated, artifacts: records, produced };
  }

  /** Makes every stored artifact durable (before metadata that refers to them is committed). */
  async sync(): Promise<void> {
    await this.artifacts.sync?.();
  }

  /**
   * The output value stored under `digest`, with local paths attached to its handles. `inline`: the
   * manifest's bytes as a worker's result carried them, used (once they match the digest) without a read.
   */
  async load(digest: string, inline?: Uint8Array): Promise<unknown> {
    if (this.memo.has(digest)) return this.memo.get(digest);
    let bytes = inline && sha256Digest(inline) === digest ? inline : await this.metadata.getInlineBytes(digest);
    if (!bytes) {
      const path = await this.verifier.verify(digest, { use: "a stored output value" });
      const { readFile } = await import("node:fs/promises");
      bytes = await readFile(path);
    }
    const manifest = await this.withSchemes(JSON.parse(Buffer.from(bytes).toString("utf8")) as unknown);
    const value = this.hydrate(manifest);
    this.memo.set(digest, value);
    if (bytes.byteLength <= SMALL_MANIFEST) this.small.set(digest, bytes);
    return value;
  }

  /** The bytes of a small output manifest this process stored or loaded, if it has them (a reader checks them). */
  smallManifest(digest: string): Uint8Array | undefined {
    return this.small.get(digest);
  }

  /** A value stored before digests named their scheme: its handles' bare hex gets the scheme recorded for it. */
  private async withSchemes(manifest: unknown): Promise<unknown> {
    const handles: ArtifactHandle[] = [];
    collectPlain(manifest, handles);
    const legacy = handles.filter((h) => isLegacyDigest(h.digest));
    if (!legacy.length) return manifest;
    const upgraded = new Map<string, string>();
    for (const h of legacy) {
      const recorded = (await this.metadata.getArtifact(h.digest))?.digest;
      upgraded.set(h.digest, recorded ?? upgradeLegacyHandleDigest(h.digest, h.$artifact, h.size));
    }
    return mapPlain(manifest, (h) => ({ ...h, digest: upgraded.get(h.digest) ?? h.digest }));
  }

  /**
   * Names the local path of every artifact in a manifest, without I/O: a remote object is fetched
   * into the local cache (and verified) only when a step or a load asks for its bytes.
   */
  private hydrate(manifest: unknown): unknown {
    return mapPlain(manifest, (h) => ({ ...h, path: this.artifacts.localPath(h.digest) }));
  }
}

/** Stats a runner took of an output it just collected, so that finalize need not ask again. */
const seenStats = new WeakMap<ArtifactHandle, import("node:fs").Stats>();

export function withStats<T extends ArtifactHandle>(handle: T, stats: import("node:fs").Stats): T {
  seenStats.set(handle, stats);
  return handle;
}

function statOrUndefined(path: string): import("node:fs").Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Selects a field path of an output value; the digest of a selection is the hash of its manifest. */
export function pickValue(value: unknown, path: readonly string[], step: string, input: string): unknown {
  let cur = value;
  for (const key of path) {
    if (cur === null || typeof cur !== "object" || !(key in (cur as object))) {
      throw new TrainyardError(
        "MISSING_INPUT",
        `input "${input}" picks field "${path.join(".")}" of step "${step}", whose output has no such field`,
        {
          step,
          hint: "pick a field that the step returns",
        },
      );
    }
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** The digest an input contributes to a cache key: a picked artifact counts as its own content. */
export function pickedDigest(value: unknown): string {
  return isArtifactHandle(value) && value.digest ? value.digest : digestOfValue(value);
}

export { digestOfValue, toManifest };

function collectHandles(value: unknown, name: string, out: Array<[ArtifactHandle, string]>): void {
  if (isArtifactHandle(value)) out.push([value, name]);
  else if (Array.isArray(value)) value.forEach((v, i) => collectHandles(v, `${name}[${i}]`, out));
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) collectHandles(v, name === "output" ? k : `${name}.${k}`, out);
}

const isPlainHandle = (v: unknown): v is ArtifactHandle =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as { $artifact?: unknown }).$artifact === "string" &&
  typeof (v as { digest?: unknown }).digest === "string";

function collectPlain(value: unknown, out: ArtifactHandle[]): void {
  if (isPlainHandle(value)) out.push(value);
  else if (Array.isArray(value)) for (const v of value) collectPlain(v, out);
  else if (value !== null && typeof value === "object") for (const v of Object.values(value)) collectPlain(v, out);
}

function mapPlain(value: unknown, fn: (h: ArtifactHandle) => unknown): unknown {
  if (isPlainHandle(value)) return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapPlain(v, fn));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapPlain(v, fn);
    return out;
  }
  return value;
}

function checkSerializable(value: unknown, step: string, where: string, depth = 0): void {
  if (depth > 64) throw invalid(step, where, "is nested too deeply (more than 64 levels)");
  if (value === null || value === undefined) return;
  const t = typeof value;
  if (t === "string" || t === "boolean") return;
  if (t === "number") return;
  if (t === "function" || t === "symbol") throw invalid(step, where, `is a ${t}`);
  if (t === "bigint") throw invalid(step, where, "is a bigint");
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkSerializable(v, step, `${where}[${i}]`, depth + 1));
    return;
  }
  if (value instanceof Date) return;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw invalid(step, where, `is a ${proto?.constructor?.name ?? "class instance"}`);
  }
  if (isArtifactHandle(value)) return;
  for (const [k, v] of Object.entries(value as object)) checkSerializable(v, step, `${where}.${k}`, depth + 1);
}

function invalid(step: string, where: string, what: string): TrainyardError {
  return new TrainyardError(
    "OUTPUT_INVALID",
    `step "${step}" returned a value whose ${where} ${what}, which cannot be stored as an artifact`,
    {
      step,
      hint:
        "return JSON data (objects, arrays, strings, numbers, booleans), " +
        "or write bulk data to a file in ctx.workdir and return ctx.file()/ctx.dataset()",
    },
  );
}
