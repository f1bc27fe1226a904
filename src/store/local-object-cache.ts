/**
 * A worker's local read-through cache of a remote store's objects: `<root>/<digest>`, each
 * verified against its digest (in the digest's own scheme) before it is renamed into place and then made read-only, so
 * whatever is under a digest here is what the digest names. An object already here is used
 * without asking the remote store (an unchanged input on a warm worker reads no bytes).
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, copyFile, cp, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseDigest } from "../core/digest-format.js";
import { checkDigest, verifyFile } from "./digest.js";

/** Writes an object's content to `target`; its digest and size when it hashed them on the way. */
export type ObjectDownload = (target: string) => Promise<{ digest: string; size: number } | undefined>;

export class LocalObjectCache {
  private readonly tmp: string;
  private ready?: Promise<unknown>;
  /** Fetches in flight, so that concurrent readers of one digest share a download. */
  private readonly fetching = new Map<string, Promise<string>>();

  constructor(readonly root: string) {
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

  /** The cached copy's path, or undefined when the cache does not hold `digest`. */
  async lookup(digest: string): Promise<string | undefined> {
    const path = this.pathOf(digest);
    return (await stat(path).catch(() => undefined)) ? path : undefined;
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
    try {
      await rename(temp, target);
    } catch (err) {
      // Another process admitted the same digest first (a non-empty directory cannot be replaced).
      if (!(await this.lookup(digest))) throw err;
    }
    return target;
  }
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
