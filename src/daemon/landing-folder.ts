/**
 * Where a file sensor looks: a listing of (name, size, mtime) and a content digest per name.
 * A local folder implements it now; an object-store prefix (ETag-less: the digest reads the
 * object) can implement the same interface later without changing the sensor.
 */
import { statSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { join, resolve } from "node:path";
import { hashFileNow } from "../store/file-hash.js";
import { globBase, globToRegExp } from "./glob-pattern.js";

export interface LandingEntry {
  /** Path relative to the landing folder (or prefix), "/"-separated. */
  name: string;
  size: number;
  mtimeMs: number;
  /**
   * Changes whenever the entry may have (inode and ctime here, an ETag for an object store): a
   * file replaced by one of the same size and mtime is still read again.
   */
  version?: string;
}

export interface LandingSource {
  /** The folder or prefix, for messages. */
  readonly location: string;
  /** Entries matching the sensor's glob; undefined when the folder (or prefix) does not exist. */
  list(): Promise<LandingEntry[] | undefined>;
  /**
   * The content digest of one entry, with the size and mtime it had once read; undefined if it
   * vanished. A size or mtime that differs from the listing means it changed while being read.
   */
  digest(name: string): Promise<{ digest: string; size: number; mtimeMs: number } | undefined>;
}

/** Stats done synchronously between yields: a thread-pool round trip per file cost 10x more. */
const STAT_BATCH = 500;

export function localLandingFolder(folder: string, glob: string): LandingSource {
  const root = resolve(folder);
  const match = globToRegExp(glob);
  const base = globBase(glob);
  return {
    location: root,
    async list() {
      const start = base ? join(root, base) : root;
      try {
        if (!(await stat(root)).isDirectory()) return undefined;
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
      const names: string[] = [];
      await walk(start, base, names);
      const wanted = names.filter((n) => match.test(n));
      const out: LandingEntry[] = [];
      for (let i = 0; i < wanted.length; i++) {
        if (i > 0 && i % STAT_BATCH === 0) await yieldToLoop();
        // A file deleted between the listing and its stat is simply not there this time.
        const st = statSync(join(root, wanted[i]), { throwIfNoEntry: false });
        if (st?.isFile()) out.push({ name: wanted[i], size: st.size, mtimeMs: st.mtimeMs, version: versionOf(st) });
      }
      return out;
    },
    async digest(name) {
      const path = join(root, name);
      try {
        // Small files hash synchronously (no thread-pool round trip); the sensor yields between files.
        const { digest } = await hashFileNow(path);
        const after = statSync(path, { throwIfNoEntry: false });
        return after ? { digest, size: after.size, mtimeMs: after.mtimeMs } : undefined;
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },
  };
}

async function walk(dir: string, rel: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    // A sub-folder removed while listing, or a base folder of the glob that is not there yet.
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === "ENOTDIR") return;
    throw err;
  }
  for (const e of entries) {
    const name = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (!e.name.startsWith(".")) await walk(join(dir, e.name), name, out);
    } else if (e.isFile() || e.isSymbolicLink()) out.push(name);
  }
}

function versionOf(st: { ino: number; ctimeMs: number }): string {
  return `${st.ino}:${st.ctimeMs}`;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === "ENOENT";
}
