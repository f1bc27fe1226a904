/**
 * Checks stored objects against their digests before their bytes are used (a step's inputs, a
 * model load, a reused cache entry). Cheap on the common path: an object this process stored or
 * already verified is trusted while its size, mtime and inode stay the same (one stat); a large
 * object verified by another process carries the same stamp in the stat index. Anything else
 * is rehashed in full. A missing or damaged object is quarantined and reported with the step
 * run that wrote it.
 */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseDigest, SHA256_TREE } from "../core/digest-format.js";
import { TrainyardError } from "../core/errors.js";
import type { ArtifactStore } from "./artifact-store.js";
import { hashFileAs, hashTree } from "./file-hash.js";
import type { MetadataStore } from "./metadata-store.js";
import { shortDigest } from "../core/hash.js";

/** Objects from this size on keep their verified stamp in the stat index; smaller ones rehash faster than a lookup. */
export const STAMP_MIN = 1024 * 1024;

interface Stamp {
  size: number;
  mtimeMs: number;
  ino: number;
  isDirectory: boolean;
}

export interface VerifyContext {
  /** What the bytes are for, in words: "input of step train", "model load". */
  use?: string;
  step?: string;
  runId?: string;
}

export type CheckResult =
  | { ok: true; path: string }
  | { ok: false; path: string; problem: "missing" | "corrupt"; detail: string };

export class ObjectVerifier {
  /** digest -> stamp key of the object as this process last hashed it. */
  private readonly known = new Map<string, string>();

  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly metadata: MetadataStore,
  ) {}

  /** Notes an object this process has just hashed and stored: its bytes are what its name says. */
  trust(digest: string, path: string): void {
    const stamp = stampOf(path);
    if (stamp) this.known.set(digest, keyOf(stamp));
  }

  /** Whether the stored bytes match `digest` (and `size`, when known), without side effects. */
  async check(digest: string, size?: number): Promise<CheckResult> {
    if (this.artifacts.verifiesReads) return this.fetchVerified(digest);
    const path = this.artifacts.localPath(digest);
    const stamp = stampOf(path);
    if (!stamp) return { ok: false, path, problem: "missing", detail: "is missing from the store" };
    if (size !== undefined && size >= 0 && stamp.size !== size) {
      return { ok: false, path, problem: "corrupt", detail: `holds ${stamp.size} bytes where ${size} were stored` };
    }
    const key = keyOf(stamp);
    if (this.known.get(digest) === key) return { ok: true, path };
    if (stamp.size >= STAMP_MIN) {
      const e = await this.metadata.getStat(path);
      if (e && e.digest === digest && keyOf({ ...e, isDirectory: stamp.isDirectory }) === key) {
        this.known.set(digest, key);
        return { ok: true, path };
      }
    }
    const actual = await rehashObject(path, digest, stamp);
    if (actual !== digest)
      return { ok: false, path, problem: "corrupt", detail: `hashes to ${shortDigest(actual)}, not to its name` };
    // A file changed while it was hashed keeps no stamp: the next use hashes it again.
    const after = stampOf(path);
    if (!after || keyOf(after) !== key) return { ok: true, path };
    this.known.set(digest, key);
    if (stamp.size >= STAMP_MIN)
      await this.metadata.putStat({ path, size: stamp.size, mtimeMs: stamp.mtimeMs, ino: stamp.ino, digest });
    return { ok: true, path };
  }

  /** A remote store's local copy, verified by the store as it entered its cache. */
  private async fetchVerified(digest: string): Promise<CheckResult> {
    try {
      return { ok: true, path: await this.artifacts.getLocal(digest) };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== "ARTIFACT_MISSING" && code !== "ARTIFACT_CORRUPT") throw err;
      const path = this.artifacts.localPath(digest);
      const problem = code === "ARTIFACT_MISSING" ? "missing" : "corrupt";
      return { ok: false, path, problem, detail: (err as Error).message.replace(/^artifact \S+ /, "") };
    }
  }

  /**
   * The path of a verified object. A missing or damaged one is moved to quarantine and reported
   * as ARTIFACT_MISSING / ARTIFACT_CORRUPT, naming the step run that wrote it.
   */
  async verify(digest: string, ctx: VerifyContext & { size?: number } = {}): Promise<string> {
    const result = await this.check(digest, ctx.size);
    if (result.ok) return result.path;
    this.known.delete(digest);
    const moved = result.problem === "corrupt" ? await this.artifacts.quarantine?.(digest) : undefined;
    throw await damageError(this.metadata, digest, result, moved, ctx);
  }
}

/** The step run that wrote `digest` (the original one when later runs reused it). */
export async function writerOf(
  metadata: MetadataStore,
  digest: string,
): Promise<{ stepRunId: string; runId: string; stepId: string } | undefined> {
  const edges = await metadata.lineageOf(digest);
  const w = edges.find((e) => e.direction === "out" && !e.reused) ?? edges.find((e) => e.direction === "out");
  return w && { stepRunId: w.stepRunId, runId: w.runId, stepId: w.stepId };
}

async function damageError(
  metadata: MetadataStore,
  digest: string,
  result: Extract<CheckResult, { ok: false }>,
  moved: string | undefined,
  ctx: VerifyContext,
): Promise<TrainyardError> {
  const writer = await writerOf(metadata, digest).catch(() => undefined);
  const by = writer ? `; it was written by step "${writer.stepId}" in run ${writer.runId}` : "";
  const where = moved ? `; moved to ${moved}` : "";
  const use = ctx.use ? ` (${ctx.use})` : "";
  const code = result.problem === "missing" ? "ARTIFACT_MISSING" : "ARTIFACT_CORRUPT";
  return new TrainyardError(
    code,
    `artifact ${shortDigest(digest)} at ${result.path} ${result.detail}${use}${by}${where}`,
    {
      digest,
      file: result.path,
      step: ctx.step ?? writer?.stepId,
      runId: ctx.runId ?? writer?.runId,
      writtenBy: writer?.stepRunId,
      quarantined: moved,
      hint:
        "resume or re-run: a step whose stored output is missing or damaged is recomputed; " +
        "`trainyard fsck --repair` checks the whole store",
    },
  );
}

/** The digest of a stored object in the scheme its name uses (sha256, blocks or tree). */
export async function rehashObject(
  path: string,
  digest: string,
  stamp: { isDirectory: boolean; size: number },
): Promise<string> {
  const { scheme } = parseDigest(digest, { file: path });
  if (stamp.isDirectory !== (scheme === SHA256_TREE)) return `(a ${stamp.isDirectory ? "directory" : "file"})`;
  if (scheme === SHA256_TREE) return (await hashTree(path)).digest;
  return (await hashFileAs(path, scheme)).digest;
}

function keyOf(s: Stamp): string {
  return `${s.isDirectory ? "d" : "f"}:${s.size}:${s.mtimeMs}:${s.ino}`;
}

/**
 * A file's size, mtime and inode. A directory's stamp covers every entry under it: total size,
 * newest mtime, and a 48-bit fold of each entry's path, size, mtime, inode and mode.
 */
export function stampOf(path: string): Stamp | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (!st.isDirectory()) return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, isDirectory: false };
  const hash = createHash("sha1");
  let size = 0;
  let mtimeMs = st.mtimeMs;
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const e = lstatSync(join(dir, name));
      hash.update(`${rel}${name}\0${e.size}\0${e.mtimeMs}\0${e.ino}\0${e.mode}\n`);
      mtimeMs = Math.max(mtimeMs, e.mtimeMs);
      if (e.isDirectory()) walk(join(dir, name), `${rel}${name}/`);
      else if (e.isFile()) size += e.size;
    }
  };
  walk(path, "");
  return { size, mtimeMs, ino: parseInt(hash.digest("hex").slice(0, 12), 16), isDirectory: true };
}
