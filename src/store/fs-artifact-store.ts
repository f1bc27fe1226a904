/**
 * Content-addressed files under `<home>/artifacts/objects/ab/<digest>`. Writes go to a temp file
 * on the same file system, are fsynced, then renamed into place, so a crash never leaves partial
 * content under a valid digest; stored files are made read-only.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, copyFile, cp, mkdir, mkdtemp, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { TrainyardError } from "../core/errors.js";
import { sha256 } from "../core/hash.js";
import type { ArtifactStore, StoredObject } from "./artifact-store.js";
import { hashFile, hashTree } from "./file-hash.js";

export class FsArtifactStore implements ArtifactStore {
  readonly backend = "fs";
  private readonly objects: string;
  private readonly tmp: string;
  private ready?: Promise<void>;
  /** Prefix directories known to exist: one mkdir per prefix per process, not per object. */
  private readonly prefixes = new Set<string>();

  constructor(readonly root: string) {
    this.objects = join(root, "objects");
    this.tmp = join(root, "tmp");
  }

  private init(): Promise<void> {
    this.ready ??= Promise.all([mkdir(this.objects, { recursive: true }), mkdir(this.tmp, { recursive: true })]).then(() => undefined);
    return this.ready;
  }

  private objectPath(digest: string): string {
    return join(this.objects, digest.slice(0, 2), digest);
  }

  private async ensurePrefix(digest: string): Promise<void> {
    const prefix = digest.slice(0, 2);
    if (this.prefixes.has(prefix)) return;
    await mkdir(join(this.objects, prefix), { recursive: true });
    this.prefixes.add(prefix);
  }

  async putFile(source: string, opts: { move?: boolean; digest?: string } = {}): Promise<StoredObject> {
    await this.init();
    const { digest, size } = opts.digest ? { digest: opts.digest, size: (await stat(source)).size } : await hashFile(source);
    const target = this.objectPath(digest);
    if (await exists(target)) {
      if (opts.move) await rm(source, { force: true });
      return { digest, size, path: target };
    }
    await this.ensurePrefix(digest);
    const temp = join(this.tmp, `${digest}.${randomBytes(4).toString("hex")}`);
    try {
      if (opts.move) await rename(source, temp);
      else await copyFile(source, temp, constants.COPYFILE_FICLONE);
      if (!process.env.XNOFSYNC) await fsyncPath(temp);
      await chmod(temp, 0o444);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw writeError(err, source);
    }
    return { digest, size, path: target };
  }

  async putDirectory(source: string, opts: { move?: boolean } = {}): Promise<StoredObject> {
    await this.init();
    const { digest, size } = await hashTree(source);
    const target = this.objectPath(digest);
    if (await exists(target)) {
      if (opts.move) await rm(source, { recursive: true, force: true });
      return { digest, size, path: target };
    }
    await this.ensurePrefix(digest);
    const temp = join(this.tmp, `${digest}.${randomBytes(4).toString("hex")}`);
    try {
      if (opts.move) await rename(source, temp);
      else await cp(source, temp, { recursive: true });
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      throw writeError(err, source);
    }
    return { digest, size, path: target };
  }

  async putBytes(bytes: Uint8Array): Promise<StoredObject> {
    await this.init();
    const digest = sha256(bytes);
    const target = this.objectPath(digest);
    if (await exists(target)) return { digest, size: bytes.byteLength, path: target };
    await this.ensurePrefix(digest);
    const temp = join(this.tmp, `${digest}.${randomBytes(4).toString("hex")}`);
    try {
      const fh = await open(temp, "w", 0o444);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw writeError(err, "(bytes)");
    }
    return { digest, size: bytes.byteLength, path: target };
  }

  async has(digest: string): Promise<boolean> {
    return exists(this.objectPath(digest));
  }

  async pathOf(digest: string): Promise<string> {
    return this.objectPath(digest);
  }

  async remove(digest: string): Promise<void> {
    const path = this.objectPath(digest);
    await chmodTree(path).catch(() => undefined);
    await rm(path, { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    await this.init();
    const out: string[] = [];
    for (const prefix of await readdir(this.objects)) {
      for (const name of await readdir(join(this.objects, prefix))) out.push(name);
    }
    return out;
  }

  async makeWorkDir(label: string): Promise<string> {
    await this.init();
    return mkdtemp(join(this.tmp, `work-${label.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 60)}-`));
  }

  /** Removes temp files left behind by killed processes. */
  async sweepTemp(olderThanMs = 0): Promise<number> {
    await this.init();
    let removed = 0;
    const now = Date.now();
    for (const name of await readdir(this.tmp)) {
      const p = join(this.tmp, name);
      const st = await stat(p).catch(() => undefined);
      if (st && now - st.mtimeMs >= olderThanMs) {
        await chmodTree(p).catch(() => undefined);
        await rm(p, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function chmodTree(path: string): Promise<void> {
  const st = await stat(path);
  await chmod(path, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const name of await readdir(path)) await chmodTree(join(path, name));
}

function writeError(err: unknown, source: string): TrainyardError {
  const code = (err as { code?: string }).code;
  const full = code === "ENOSPC" || code === "EDQUOT";
  return new TrainyardError("ARTIFACT_WRITE", `could not store ${source} in the artifact store: ${(err as Error).message}`, {
    file: source,
    cause: err,
    hint: full ? "the disk is full: free space (try `trainyard gc`) or point --home at a larger disk, then resume the run" : "check that the home directory is writable",
  });
}

