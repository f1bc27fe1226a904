/**
 * Content-addressed files under `<home>/artifacts/objects/a/<hex>` (digest schemes other than
 * sha256 under `objects/<scheme>/a/<hex>`), fanned out over sixteen directories by the first
 * hex digit. Content appears under its digest only by an atomic rename, so a killed process never leaves partial
 * content under a valid digest; `sync()` makes
 * it durable (the engine calls it before committing metadata that refers to it), and a torn
 * object left by a power loss is detected by its size and replaced. Stored files are made
 * read-only.
 *
 * Sixteen directories, not git's 256: creating a directory is slow here (docs/performance.md);
 * stores made with two-digit fan-out (`objects/ab/<digest>`) are read and written in their own layout.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, constants, createReadStream, mkdirSync, readdirSync, renameSync } from "node:fs";
import { chmod, copyFile, cp, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { crashPoint } from "../core/crash-point.js";
import { shortDigest } from "../core/hash.js";
import { TrainyardError } from "../core/errors.js";
import { DIGEST_SCHEMES, type DigestScheme, parseDigest, SHA256, sha256Digest } from "../core/digest-format.js";
import type { ArtifactStore, LogCopies, ObjectStat, PutFileOptions, StoredObject } from "./artifact-store.js";
import { hashFileNow, hashTree } from "./file-hash.js";
import { FileSystemSync } from "./fs-sync.js";
import { listTree, packTree } from "./object-archive.js";
import { FsLogCopies } from "./fs-log-copies.js";
import { PendingJournal, scanPendingJournals } from "./pending-journal.js";

/** From this many unsynced objects on, one syncfs of the whole file system beats an fsync each. */
const SYNCFS_MIN = 3;

export class FsArtifactStore implements ArtifactStore {
  readonly backend = "fs";
  readonly verifiesReads = false;
  private readonly objects: string;
  private readonly tmp: string;
  private ready?: Promise<void>;
  /** Objects renamed into place whose content is not yet fsynced (see sync). */
  private readonly unsynced = new Set<string>();
  /** Prefix directories known to exist: one mkdir per prefix per process, not per object. */
  private readonly prefixes = new Set<string>();
  private readonly fsSync: FileSystemSync;
  /** Hex digits of the digest that name its prefix directory: 1, or 2 in a store made so. */
  private readonly width: number;
  /** init() has finished: callers skip awaiting it (one microtask turn per stored object). */
  private initialized = false;
  private readonly pending: PendingJournal;
  readonly logCopies: LogCopies;

  constructor(readonly root: string) {
    this.objects = join(root, "objects");
    this.logCopies = new FsLogCopies(join(root, "logs"));
    this.tmp = join(root, "tmp");
    this.fsSync = new FileSystemSync(root);
    this.width = prefixWidth(this.objects);
    this.pending = new PendingJournal(join(root, "pending"));
  }

  private init(): Promise<void> | undefined {
    if (this.initialized) return undefined;
    this.ready ??= Promise.all([mkdir(this.objects, { recursive: true }), mkdir(this.tmp, { recursive: true })]).then(
      () => {
        this.initialized = true;
      },
    );
    return this.ready;
  }

  private added(target: string): void {
    this.unsynced.add(target);
  }

  // The root is absolute and the parts are checked, so no path.join (its normalizing showed in profiles).
  private objectPath(digest: string): string {
    const { scheme, hex } = parseDigest(digest);
    return `${this.objects}/${prefixOf(scheme, hex, this.width)}/${hex}`;
  }

  private prefixOf(digest: string): string {
    const { scheme, hex } = parseDigest(digest);
    return prefixOf(scheme, hex, this.width);
  }

  /** A prefix directory removed behind our back (the store wiped in this process) is made again. */
  private async renameIntoPlace(from: string, to: string, digest: string): Promise<void> {
    try {
      await rename(from, to);
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT" || !this.prefixes.delete(this.prefixOf(digest))) throw err;
      await this.ensurePrefix(digest);
      await rename(from, to);
    }
  }

  private renameIntoPlaceSync(from: string, to: string, digest: string): void {
    try {
      renameSync(from, to);
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT" || !this.prefixes.delete(this.prefixOf(digest))) throw err;
      mkdirSync(join(this.objects, this.prefixOf(digest)), { recursive: true });
      this.prefixes.add(this.prefixOf(digest));
      renameSync(from, to);
    }
  }

  private async ensurePrefix(digest: string): Promise<void> {
    const prefix = this.prefixOf(digest);
    if (this.prefixes.has(prefix)) return;
    await mkdir(join(this.objects, prefix), { recursive: true });
    this.prefixes.add(prefix);
  }

  async putFile(source: string, opts: PutFileOptions = {}): Promise<StoredObject> {
    const init = this.init();
    if (init) await init;
    const hashed = opts.digest
      ? { digest: opts.digest, size: opts.size ?? (await stat(source)).size }
      : hashFileNow(source, opts.size, { makeReadOnly: opts.consume });
    const { digest, size } = hashed instanceof Promise ? await hashed : hashed;
    const readOnly = !(hashed instanceof Promise) && "madeReadOnly" in hashed && hashed.madeReadOnly === true;
    const target = this.objectPath(digest);
    this.pending.append(digest);
    if (opts.consume) {
      // A consumed file is already private to us, so it is renamed straight into place (atomic on
      // one file system); renaming over an existing object replaces identical content, which
      // costs less than asking first. Both are metadata-only calls of microseconds, made
      // synchronously: a thread-pool round trip cost several times the call itself.
      try {
        const prefix = this.prefixOf(digest);
        if (!this.prefixes.has(prefix)) {
          mkdirSync(join(this.objects, prefix), { recursive: true });
          this.prefixes.add(prefix);
        }
        if (!readOnly) chmodSync(source, 0o444);
        this.renameIntoPlaceSync(source, target, digest);
      } catch (err) {
        throw writeError(err, source);
      }
      crashPoint("after-object-rename");
      this.added(target);
      return { digest, size, path: target };
    }
    // A stored object of another size is a torn write (a power loss before its sync): replace it.
    if ((await sizeOf(target)) === size && (await refreshEntryTime(target, 0o444)))
      return { digest, size, path: target };
    // A copy goes through a temp file so that no reader sees it half written.
    const temp = join(this.tmp, `${digest}.${randomBytes(4).toString("hex")}`);
    try {
      await this.ensurePrefix(digest);
      await copyFile(source, temp, constants.COPYFILE_FICLONE);
      await chmod(temp, 0o444);
      await this.renameIntoPlace(temp, target, digest);
    } catch (err) {
      await rm(temp, { force: true });
      throw writeError(err, source);
    }
    crashPoint("after-object-rename");
    this.added(target);
    return { digest, size, path: target };
  }

  /**
   * Makes every object stored so far durable. Objects are fsynced here rather than one by one
   * in putFile (a synchronous journal commit per file cost more than a short step); the engine
   * calls this before committing the metadata that references them, so a record never points
   * at content a power loss could tear.
   */
  async sync(): Promise<void> {
    if (!this.unsynced.size) return;
    const paths = [...this.unsynced];
    this.unsynced.clear();
    if (paths.length >= SYNCFS_MIN && (await this.fsSync.sync())) return;
    // Two at a time: each fsync holds a thread-pool thread that running steps also need.
    let next = 0;
    const worker = async () => {
      while (next < paths.length) {
        const path = paths[next++];
        await fsyncPath(path).catch((err) => ignoreGone(err, path));
      }
    };
    await Promise.all([worker(), worker()]);
  }

  /** Stops the store's sync helper. */
  async close(): Promise<void> {
    this.fsSync.close();
    this.pending.close();
  }

  async putDirectory(source: string, opts: { consume?: boolean } = {}): Promise<StoredObject> {
    await this.init();
    const { digest, size } = await hashTree(source);
    const target = this.objectPath(digest);
    this.pending.append(digest);
    if ((await exists(target)) && (await refreshEntryTime(target, 0o555))) {
      if (opts.consume) await rm(source, { recursive: true, force: true });
      return { digest, size, path: target };
    }
    const temp = join(this.tmp, `${digest}.${randomBytes(4).toString("hex")}`);
    try {
      await this.ensurePrefix(digest);
      if (opts.consume) await rename(source, temp);
      else await cp(source, temp, { recursive: true });
      await makeReadOnly(temp);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      throw writeError(err, source);
    }
    crashPoint("after-object-rename");
    return { digest, size, path: target };
  }

  async putBytes(bytes: Uint8Array): Promise<StoredObject> {
    await this.init();
    const digest = sha256Digest(bytes);
    const target = this.objectPath(digest);
    this.pending.append(digest);
    if ((await sizeOf(target)) === bytes.byteLength && (await refreshEntryTime(target, 0o444))) {
      return { digest, size: bytes.byteLength, path: target };
    }
    const temp = join(this.tmp, `${digest}.${randomBytes(4).toString("hex")}`);
    try {
      await this.ensurePrefix(digest);
      const fh = await open(temp, "w", 0o444);
      try {
        await fh.writeFile(bytes);
      } finally {
        await fh.close();
      }
      await this.renameIntoPlace(temp, target, digest);
      crashPoint("after-object-rename");
      this.added(target);
    } catch (err) {
      await rm(temp, { force: true });
      throw writeError(err, "(bytes)");
    }
    return { digest, size: bytes.byteLength, path: target };
  }

  async has(digest: string): Promise<boolean> {
    return exists(this.objectPath(digest));
  }

  localPath(digest: string): string {
    return this.objectPath(digest);
  }

  /** The object itself: it is local already; the engine's ObjectVerifier checks it against its stamps. */
  async getLocal(digest: string): Promise<string> {
    const path = this.objectPath(digest);
    if (!(await exists(path))) {
      throw new TrainyardError("ARTIFACT_MISSING", `artifact ${shortDigest(digest)} is not in the store`, {
        digest,
        file: path,
      });
    }
    return path;
  }

  async stream(digest: string): Promise<Readable> {
    const path = await this.getLocal(digest);
    return (await stat(path)).isDirectory() ? packTree(path, await listTree(path)) : createReadStream(path);
  }

  async stat(digest: string): Promise<ObjectStat | undefined> {
    const st = await stat(this.objectPath(digest)).catch(() => undefined);
    return (
      st && { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, isDirectory: st.isDirectory() }
    );
  }

  /** Renames a damaged object to `<root>/quarantine/<digest>.<ms>`, out of every reader's way. */
  async quarantine(digest: string): Promise<string | undefined> {
    const from = this.objectPath(digest);
    const st = await stat(from).catch(() => undefined);
    if (!st) return undefined;
    const dir = join(this.root, "quarantine");
    await mkdir(dir, { recursive: true });
    const to = join(dir, `${digest}.${Date.now()}`);
    // Moving a directory to another parent rewrites its "..": it must be writable for that.
    if (st.isDirectory()) await chmod(from, 0o755);
    await rename(from, to);
    return to;
  }

  retain(digests: Iterable<string>): void {
    this.pending.appendAll(digests);
  }

  holdPending(): () => void {
    return this.pending.hold();
  }

  pendingDigests(opts: { removeDead?: boolean } = {}): { digests: Set<string>; owners: string[]; removed: number } {
    return scanPendingJournals(this.pending.dir, opts);
  }

  async delete(digest: string): Promise<void> {
    const path = this.objectPath(digest);
    await chmodTree(path).catch(() => undefined);
    await rm(path, { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    await this.init();
    const out: string[] = [];
    for (const top of await readdir(this.objects)) {
      if (isDigestScheme(top)) {
        for (const prefix of await readdir(join(this.objects, top))) {
          for (const name of await readdir(join(this.objects, top, prefix))) out.push(`${top}:${name}`);
        }
      } else for (const name of await readdir(join(this.objects, top))) out.push(`${SHA256}:${name}`);
    }
    return out;
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

/**
 * sha256 objects keep the original layout (`objects/a/<hex>`); other schemes have
 * a directory of their own (`objects/sha256-tree/a/<hex>`), so a listing names every scheme.
 */
function prefixOf(scheme: DigestScheme, hex: string, width: number): string {
  return scheme === SHA256 ? hex.slice(0, width) : `${scheme}/${hex.slice(0, width)}`;
}

function isDigestScheme(name: string): name is DigestScheme {
  return (DIGEST_SCHEMES as readonly string[]).includes(name);
}

/** 2 for a store made with two-digit fan-out (it has a two-digit prefix directory), else 1. */
function prefixWidth(objects: string): number {
  try {
    return readdirSync(objects).some((name) => name.length === 2) ? 2 : 1;
  } catch {
    return 1;
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

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** An object removed (gc) before its sync needs no sync; other failures are write errors. */
function ignoreGone(err: unknown, path: string): void {
  if ((err as { code?: string }).code !== "ENOENT") throw writeError(err, path);
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Stored trees are immutable like stored files: files 0444 (0555 when executable: the tree's
 * digest covers exec bits), directories 0555.
 */
async function makeReadOnly(path: string): Promise<void> {
  const st = await stat(path);
  if (st.isDirectory()) {
    for (const name of await readdir(path)) await makeReadOnly(join(path, name));
    await chmod(path, 0o555);
  } else await chmod(path, st.mode & 0o111 ? 0o555 : 0o444);
}

/**
 * A chmod to the object's own mode sets its change time: gc's grace period then counts from
 * this reuse. False when the object vanished meanwhile (gc), so the caller stores it again.
 */
async function refreshEntryTime(path: string, mode: number): Promise<boolean> {
  try {
    await chmod(path, mode);
    return true;
  } catch {
    return false;
  }
}

async function chmodTree(path: string): Promise<void> {
  const st = await stat(path);
  await chmod(path, st.isDirectory() || st.mode & 0o111 ? 0o755 : 0o644);
  if (st.isDirectory()) for (const name of await readdir(path)) await chmodTree(join(path, name));
}

function writeError(err: unknown, source: string): TrainyardError {
  const code = (err as { code?: string }).code;
  const full = code === "ENOSPC" || code === "EDQUOT";
  return new TrainyardError(
    "ARTIFACT_WRITE",
    `could not store ${source} in the artifact store: ${(err as Error).message}`,
    {
      file: source,
      cause: err,
      hint: full
        ? "the disk is full: free space (try `trainyard gc`) or point --home at a larger disk, then resume the run"
        : "check that the home directory is writable",
    },
  );
}
