/**
 * Streaming sha256 of files and directory trees. Small files (most step outputs) are read in one
 * synchronous call: a few microseconds, against several thread-pool round trips and a 4 MiB
 * buffer each. Larger files are read in 4 MiB chunks with the next read in flight while the
 * current chunk is hashed, so throughput is that of sha256 rather than read + sha256.
 *
 * One sha256 stream runs on one core. Files of BLOCKED_MIN bytes or more (datasets, model
 * weights, the inputs whose first hash a user waits for) are therefore digested as blocks: the
 * sha256 of every BLOCK-byte block is computed by two threads at once (block-hash.ts), and the
 * file's digest is the sha256 of a header naming the scheme, block size and file size, followed
 * by the block digests in order. Every digest names its scheme (`sha256:`, `sha256-blocks-8m:`,
 * `sha256-tree:`; docs/digests.md), so a reader never guesses which one a stored object used.
 */
import { createHash } from "node:crypto";
import { closeSync, fchmodSync, fstatSync, openSync, readSync } from "node:fs";
import { lstat, open, readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { type DigestScheme, SHA256, SHA256_BLOCKS, SHA256_TREE } from "../core/digest-format.js";
import { sha256 } from "../core/hash.js";
import { hashBlocks } from "./block-hash.js";

export { BLOCK } from "./block-hash.js";

const CHUNK = 4 * 1024 * 1024;
/** Files up to this size are hashed with one blocking read. */
const SMALL = 256 * 1024;
/** Files from this size on are hashed as blocks, in parallel (see the header comment). */
export const BLOCKED_MIN = 64 * 1024 * 1024;

export async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  return hashFileNow(path);
}

/**
 * hashFile, but a small file's digest is returned as a value rather than a promise: most step
 * outputs are small, and awaiting each cost a turn of the microtask queue. `sizeHint`, the size
 * a caller has just seen from stat, saves an fstat; a file that has grown since is still read
 * to its end.
 */
export function hashFileNow(
  path: string,
  sizeHint?: number,
  opts: { makeReadOnly?: boolean } = {},
): { digest: string; size: number; madeReadOnly?: boolean } | Promise<{ digest: string; size: number }> {
  const fd = openSync(path, "r");
  let expected: number;
  try {
    expected = sizeHint !== undefined && sizeHint <= SMALL ? sizeHint : fstatSync(fd).size;
    if (expected <= SMALL) {
      const hashed = hashSmall(fd, expected);
      // Through the descriptor already open: a chmod by path would look the path up again.
      if (!opts.makeReadOnly) return hashed;
      fchmodSync(fd, 0o444);
      return { ...hashed, madeReadOnly: true };
    }
  } finally {
    closeSync(fd);
  }
  return expected < BLOCKED_MIN ? hashMedium(path) : hashBlocks(path, expected);
}

/** Plain sha256 whatever the size: the digest of bytes stored with putBytes (large manifests). */
export async function hashFileSha256(path: string): Promise<{ digest: string; size: number }> {
  return hashSha256(path);
}

/** The file's digest in a named scheme, whatever its size (verification of a stored digest). */
export async function hashFileAs(path: string, scheme: DigestScheme): Promise<{ digest: string; size: number }> {
  if (scheme === SHA256) return hashSha256(path);
  if (scheme === SHA256_BLOCKS) return hashBlocks(path, (await stat(path)).size);
  throw new Error(`a file has no ${scheme} digest`);
}

/** Plain sha256, a small file in one read: verifying a reused run's outputs hashes many small files. */
function hashSha256(path: string): { digest: string; size: number } | Promise<{ digest: string; size: number }> {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size <= SMALL) return hashSmall(fd, size);
  } finally {
    closeSync(fd);
  }
  return hashMedium(path);
}

async function hashMedium(path: string): Promise<{ digest: string; size: number }> {
  const handle = await open(path, "r");
  try {
    return await hashLarge(handle);
  } finally {
    await handle.close();
  }
}

/** Reads to end of file even if it grew since fstat, so the digest always covers every byte. */
function hashSmall(fd: number, expected: number): { digest: string; size: number } {
  let buf = Buffer.allocUnsafe(Math.max(expected, 1) + 1);
  const first = readSync(fd, buf, 0, buf.length, null);
  // The usual case: the whole file in one short read.
  if (first < buf.length) return { digest: `${SHA256}:${sha256(buf.subarray(0, first))}`, size: first };
  const hash = createHash("sha256").update(buf);
  let size = first;
  // The file grew since its size was taken: read the rest in larger pieces.
  if (buf.length < SMALL) buf = Buffer.allocUnsafe(SMALL);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    hash.update(buf.subarray(0, n));
    size += n;
    // A short read of a regular file is its end; only a file that grew needs another read.
    if (n < buf.length) break;
  }
  return { digest: `${SHA256}:${hash.digest("hex")}`, size };
}

async function hashLarge(handle: import("node:fs/promises").FileHandle): Promise<{ digest: string; size: number }> {
  const hash = createHash("sha256");
  const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let size = 0;
  let which = 0;
  let pending = handle.read(bufs[0], 0, CHUNK, null);
  for (;;) {
    const { bytesRead } = await pending;
    if (bytesRead === 0) break;
    const buf = bufs[which];
    which ^= 1;
    pending = handle.read(bufs[which], 0, CHUNK, null);
    hash.update(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
    size += bytesRead;
  }
  return { digest: `${SHA256}:${hash.digest("hex")}`, size };
}

export interface TreeEntry {
  rel: string;
  /** The file's own digest, `sha256:` or `sha256-blocks-8m:` by its size. */
  digest: string;
  size: number;
  mode: number;
}

/**
 * Every regular file under `root` with its digest, sorted by relative path. The manifest lists
 * each file's hex alone: its scheme follows from its size (below BLOCKED_MIN sha256, else blocks).
 */
export async function hashTree(root: string): Promise<{ digest: string; size: number; entries: TreeEntry[] }> {
  const entries: TreeEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const full = join(dir, name);
      const st = await lstat(full);
      if (st.isDirectory()) await walk(full);
      else if (st.isFile()) {
        const { digest, size } = await hashFile(full);
        entries.push({
          rel: relative(root, full).split(sep).join("/"),
          digest,
          size,
          mode: st.mode & 0o111 ? 0o755 : 0o644,
        });
      }
    }
  };
  await walk(root);
  entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const manifest = entries.map((e) => `${e.rel}\t${e.mode.toString(8)}\t${hexOf(e.digest)}\n`).join("");
  const digest = `${SHA256_TREE}:${createHash("sha256").update("tree\n").update(manifest).digest("hex")}`;
  return { digest, size: entries.reduce((s, e) => s + e.size, 0), entries };
}

function hexOf(digest: string): string {
  return digest.slice(digest.lastIndexOf(":") + 1);
}
