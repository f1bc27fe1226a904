/**
 * Streaming sha256 of files and directory trees. Small files (most step outputs) are read in one
 * synchronous call: a few microseconds, against several thread-pool round trips and a 4 MiB
 * buffer each. Larger files are read in 4 MiB chunks with the next read in flight while the
 * current chunk is hashed, so throughput is that of sha256 rather than read + sha256.
 *
 * One sha256 stream runs on one core. Files of BLOCKED_MIN bytes or more (datasets, model
 * weights, the inputs whose first hash a user waits for) are therefore digested as blocks: the
 * sha256 of every BLOCK-byte block is computed on the thread pool, several blocks at once, and the
 * file's digest is the sha256 of a header naming the scheme, block size and file size, followed
 * by the block digests in order. Like a plain sha256 it depends on the content alone, so it
 * addresses the content just as well; it is simply not what `sha256sum` prints for such a file.
 */
import { createHash, webcrypto } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { open, readdir, lstat } from "node:fs/promises";
import { join, relative, sep } from "node:path";

const CHUNK = 4 * 1024 * 1024;
/** Files up to this size are hashed with one blocking read. */
const SMALL = 256 * 1024;
/** Files from this size on are hashed as blocks, in parallel (see the header comment). */
export const BLOCKED_MIN = 64 * 1024 * 1024;
export const BLOCK = 8 * 1024 * 1024;
/** Blocks read and hashed at once: enough to keep every core busy while a read is in flight. */
const LANES = 4;

export async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  const fd = openSync(path, "r");
  let handle;
  let expected: number;
  try {
    expected = fstatSync(fd).size;
    if (expected <= SMALL) return hashSmall(fd, expected);
    handle = await open(path, "r");
  } finally {
    closeSync(fd);
  }
  try {
    return await (expected >= BLOCKED_MIN ? hashBlocks(handle) : hashLarge(handle));
  } finally {
    await handle.close();
  }
}

/** Reads to end of file even if it grew since fstat, so the digest always covers every byte. */
function hashSmall(fd: number, expected: number): { digest: string; size: number } {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(Math.max(expected, 1) + 1);
  let size = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    hash.update(buf.subarray(0, n));
    size += n;
    // A short read of a regular file is its end; only a file that grew needs another read.
    if (n < buf.length) break;
  }
  return { digest: hash.digest("hex"), size };
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
  return { digest: hash.digest("hex"), size };
}

/**
 * The block digest of a file. Lanes take block numbers in order and stop at the first short
 * block, so a file that grew or shrank since its size was read is still covered to its end.
 */
async function hashBlocks(handle: import("node:fs/promises").FileHandle): Promise<{ digest: string; size: number }> {
  const digests: Buffer[] = [];
  const sizes: number[] = [];
  let next = 0;
  let end = Infinity;
  const lane = async (): Promise<void> => {
    const buf = Buffer.allocUnsafe(BLOCK);
    for (;;) {
      const i = next++;
      if (i > end) return;
      const { bytesRead } = await readFully(handle, buf, i * BLOCK);
      if (bytesRead < BLOCK) end = Math.min(end, i);
      if (i > end || (bytesRead === 0 && i > 0)) return;
      digests[i] = Buffer.from(await webcrypto.subtle.digest("SHA-256", buf.subarray(0, bytesRead)));
      sizes[i] = bytesRead;
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  const blocks = digests.slice(0, end + 1).filter(Boolean);
  const size = sizes.slice(0, end + 1).reduce((a, b) => a + (b ?? 0), 0);
  const hash = createHash("sha256").update(`trainyard-blocks sha256 ${BLOCK} ${size}\n`);
  for (const d of blocks) hash.update(d);
  return { digest: hash.digest("hex"), size };
}

/** Reads until `buf` is full or the file ends (a read may return less than asked). */
async function readFully(handle: import("node:fs/promises").FileHandle, buf: Buffer, position: number): Promise<{ bytesRead: number }> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await handle.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return { bytesRead: got };
}

export interface TreeEntry {
  rel: string;
  digest: string;
  size: number;
  mode: number;
}

/** Every regular file under `root` with its digest, sorted by relative path. */
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
        entries.push({ rel: relative(root, full).split(sep).join("/"), digest, size, mode: st.mode & 0o111 ? 0o755 : 0o644 });
      }
    }
  };
  await walk(root);
  entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const manifest = entries.map((e) => `${e.rel}\t${e.mode.toString(8)}\t${e.digest}\n`).join("");
  const digest = createHash("sha256").update("tree\n").update(manifest).digest("hex");
  return { digest, size: entries.reduce((s, e) => s + e.size, 0), entries };
}
