/**
 * A worker's local read-through cache of a remote store's objects: `<root>/<digest>`, each
 * verified against its digest (in the digest's own scheme) before it is renamed into place and then made read-only, so
 * whatever is under a digest here is what the digest names. An object already here is used
 * without asking the remote store (an unchanged input on a warm worker reads no bytes).
 *
 * Bounded: once its objects pass `maxBytes`, the least recently used are removed until they fill
 * nine tenths of it (each use sets an object's access time). Never removed: an object used since
 * the oldest run or step still under way in this process began (work-in-progress.ts), or within
 * `minIdleMs` (a step of another process sharing the cache). A removed object is fetched and
 * verified again when next asked for. Before, the cache kept every object it ever saw, so a worker
 * left running filled its disk.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, copyFile, cp, mkdir, readdir, rename, rm, stat, statfs, utimes } from "node:fs/promises";
import { join } from "node:path";
import { parseDigest } from "../core/digest-format.js";
import { oldestWorkStart } from "../core/work-in-progress.js";
import { checkDigest, verifyFile } from "./digest.js";

/** Writes an object's content to `target`; its digest and size when it hashed them on the way. */
export type ObjectDownload = (target: string) => Promise<{ digest: string; size: number } | undefined>;

export interface CacheBound {
  /** Bytes the cached objects may fill. @default a quarter of the size of the file system holding the cache */
  maxBytes?: number;
  /** An object used this recently is kept whatever its size. @default 10 minutes */
  minIdleMs?: number;
}

/** What a trim found and removed. */
export interface CacheTrim {
  /** Bytes of the objects cached before and after. */
  before: number;
  after: number;
  removed: number;
  /** The bound it trimmed to. */
  maxBytes: number;
}

export class LocalObjectCache {
  private readonly tmp: string;
  private ready?: Promise<unknown>;
  /** Fetches in flight, so that concurrent readers of one digest share a download. */
  private readonly fetching = new Map<string, Promise<string>>();
  /** Bytes cached as last counted, plus those admitted since; unknown until first needed. */
  private cachedBytes?: number;
  private maxBytes?: number;
  /** The trim under way: one at a time. */
  private trimming?: Promise<CacheTrim>;

  constructor(
    readonly root: string,
    private readonly bound: CacheBound = {},
  ) {
    this.tmp = join(root, ".tmp");
  }

  private init(): Promise<unknown> {
    this.ready ??= mkdir(this.tmp, { recursive: true });
    return this.ready;
  }

  pathOf(digest: string): string {
    parseDigest(digest);
    return join(this.root, digest);
  }

  /** The cached copy's path, or undefined when the cache does not hold `digest`. A hit counts as a use. */
  async lookup(digest: string): Promise<string | undefined> {
    const path = this.pathOf(digest);
    const st = await stat(path).catch(() => undefined);
    if (!st) return undefined;
    await utimes(path, new Date(), st.mtime).catch(() => undefined);
    return path;
  }

  /**
   * The verified local copy of `digest`, fetched by `download` (which writes the content to the
   * path it is given: a file, or a directory for a tree) when the cache lacks it. A download that
   * hashed the bytes as it wrote them returns their digest, and the file is not read again.
   */
  get(digest: string, source: string, download: ObjectDownload): Promise<string> {
    const running = this.fetching.get(digest);
    if (running) return running;
    const fetched = this.fetch(digest, source, download).finally(() => this.fetching.delete(digest));
    this.fetching.set(digest, fetched);
    return fetched;
  }

  private async fetch(digest: string, source: string, download: ObjectDownload): Promise<string> {
    const hit = await this.lookup(digest);
    if (hit) return hit;
    await this.init();
    const temp = this.tempPath(digest);
    try {
      const written = await download(temp);
      // Throws ARTIFACT_CORRUPT (naming the digest) unless the bytes hash to it in its scheme.
      if (written) checkDigest(digest, written.digest, written.size, { file: source });
      else await verifyFile(temp, digest, { file: source });
      const st = await stat(temp);
      return await this.admit(temp, digest, st.isDirectory());
    } finally {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /**
   * Adds content whose digest the caller has just computed. With `consume` the source is renamed
   * in (a step's output on the same file system), else cloned where the file system can (a
   * hard link would let a later write to the source change the cached copy), else copied.
   */
  async add(source: string, digest: string, opts: { consume?: boolean; isDirectory?: boolean } = {}): Promise<string> {
    const hit = await this.lookup(digest);
    if (hit) {
      if (opts.consume) await rm(source, { recursive: true, force: true });
      return hit;
    }
    await this.init();
    const temp = this.tempPath(digest);
    try {
      if (opts.consume) {
        await rename(source, temp).catch(async (err: NodeJS.ErrnoException) => {
          if (err.code !== "EXDEV") throw err;
          await cp(source, temp, { recursive: true });
          await rm(source, { recursive: true, force: true });
        });
      } else if (opts.isDirectory) await cp(source, temp, { recursive: true });
      else await copyFile(source, temp, constants.COPYFILE_FICLONE);
      return await this.admit(temp, digest, opts.isDirectory ?? false);
    } finally {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** A fresh path in the cache's temporary directory, for content about to be hashed and admitted. */
  async stagingPath(): Promise<string> {
    await this.init();
    return join(this.tmp, `staged.${randomBytes(6).toString("hex")}`);
  }

  /**
   * Renames a staged file (see stagingPath) into place under `digest`, which the caller computed
   * from that very file: nothing else writes to the staging directory, so nothing changed it since.
   */
  admitStaged(staged: string, digest: string): Promise<string> {
    return this.admit(staged, digest, false);
  }

  /** Removes a cached copy (a damaged one, or one whose object was deleted). */
  async evict(digest: string): Promise<void> {
    const path = this.pathOf(digest);
    await makeWritable(path).catch(() => undefined);
    await rm(path, { recursive: true, force: true });
  }

  /** Removes temp files of killed processes. */
  async sweepTemp(olderThanMs: number): Promise<number> {
    await this.init();
    let removed = 0;
    for (const name of await readdir(this.tmp)) {
      const p = join(this.tmp, name);
      const st = await stat(p).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs >= olderThanMs) {
        await makeWritable(p).catch(() => undefined);
        await rm(p, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  private tempPath(digest: string): string {
    return join(this.tmp, `${digest}.${randomBytes(4).toString("hex")}`);
  }

  private async admit(temp: string, digest: string, isDirectory: boolean): Promise<string> {
    await makeReadOnly(temp, isDirectory);
    const target = this.pathOf(digest);
    const bytes = await sizeOf(temp);
    try {
      await rename(temp, target);
    } catch (err) {
      // Another process admitted the same digest first (a non-empty directory cannot be replaced).
      if (!(await this.lookup(digest))) throw err;
      return target;
    }
    if (this.cachedBytes !== undefined) this.cachedBytes += bytes;
    // Aside: a put or a read does not wait for older objects to be removed.
    void this.trimIfOver().catch(() => undefined);
    return target;
  }

  /** Trims (see trim) once the objects counted pass the bound; counts them first if not yet counted. */
  private async trimIfOver(): Promise<void> {
    if (this.trimming) return;
    const maxBytes = await this.bytesAllowed();
    this.cachedBytes ??= (await this.entries()).reduce((sum, e) => sum + e.bytes, 0);
    if (this.cachedBytes > maxBytes) await this.trim();
  }

  /**
   * Removes the least recently used objects until those left fill at most nine tenths of the bound,
   * keeping any used since the oldest run or step under way here began or within `minIdleMs`.
   */
  trim(): Promise<CacheTrim> {
    // After the trim under way, if any: it may have read the objects before the latest uses.
    const after = this.trimming?.catch(() => undefined) ?? Promise.resolve();
    const mine: Promise<CacheTrim> = after
      .then(() => this.trimNow())
      .finally(() => {
        if (this.trimming === mine) this.trimming = undefined;
      });
    this.trimming = mine;
    return mine;
  }

  private async trimNow(): Promise<CacheTrim> {
    const maxBytes = await this.bytesAllowed();
    const entries = await this.entries();
    const before = entries.reduce((sum, e) => sum + e.bytes, 0);
    const keepFrom = Math.min(
      Date.now() - (this.bound.minIdleMs ?? DEFAULT_MIN_IDLE_MS),
      oldestWorkStart() ?? Infinity,
    );
    let left = before;
    let removed = 0;
    for (const entry of entries.sort((a, b) => a.usedAt - b.usedAt)) {
      if (left <= maxBytes * 0.9) break;
      if (entry.usedAt >= keepFrom) break;
      await this.evict(entry.digest).catch(() => undefined);
      if (await this.lookup(entry.digest)) continue;
      left -= entry.bytes;
      removed++;
    }
    this.cachedBytes = left;
    return { before, after: left, removed, maxBytes };
  }

  /** The bound: as given, else a quarter of the file system holding the cache. */
  private async bytesAllowed(): Promise<number> {
    if (this.bound.maxBytes !== undefined) return this.bound.maxBytes;
    if (this.maxBytes === undefined) {
      await this.init();
      const fs = await statfs(this.root);
      this.maxBytes = Math.floor((fs.blocks * fs.bsize) / 4);
    }
    return this.maxBytes;
  }

  /** The objects cached, with their sizes and last use. */
  private async entries(): Promise<Array<{ digest: string; bytes: number; usedAt: number }>> {
    await this.init();
    const found = await Promise.all(
      (await readdir(this.root)).map(async (name) => {
        // Only objects: the staging area, journals and anything else put here stay.
        if (!isDigest(name)) return undefined;
        const path = join(this.root, name);
        const st = await stat(path).catch(() => undefined);
        if (!st) return undefined;
        const bytes = await sizeOf(path).catch(() => 0);
        return { digest: name, bytes, usedAt: Math.max(st.atimeMs, st.mtimeMs) };
      }),
    );
    return found.filter((e) => e !== undefined);
  }
}

/** An object used within this long is kept, whatever the bound: a step of another process may be reading it. */
const DEFAULT_MIN_IDLE_MS = 10 * 60_000;

function isDigest(name: string): boolean {
  try {
    parseDigest(name);
    return true;
  } catch {
    return false;
  }
}

/** Bytes of a file, or of every file under a directory. */
async function sizeOf(path: string): Promise<number> {
  const st = await stat(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

async function makeReadOnly(path: string, isDirectory: boolean): Promise<void> {
  if (!isDirectory) {
    await chmod(path, 0o444);
    return;
  }
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) await makeReadOnly(full, true);
    else if (entry.isFile()) await chmod(full, (await stat(full)).mode & 0o111 ? 0o555 : 0o444);
  }
  await chmod(path, 0o555);
}

async function makeWritable(path: string): Promise<void> {
  const st = await stat(path);
  await chmod(path, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const name of await readdir(path)) await makeWritable(join(path, name));
}
