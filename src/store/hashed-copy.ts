/**
 * A copy that hashes the bytes it writes, in one read of the source: the copy holds exactly the
 * bytes its digest names. (A kernel copy beside a separate hash of the source reads the source
 * twice, and cannot say so when it changes between the two reads; the copy would then have to be
 * hashed a second time.) The next chunk is read while the current one is hashed and written.
 *
 * A source written to meanwhile is reported, not trusted: its size and change times are compared
 * before and after, and the bytes read must be the size it had when it was opened.
 */
import { type FileHandle, open } from "node:fs/promises";
import { type DigestScheme, SHA256, SHA256_BLOCKS } from "../core/digest-format.js";
import { StreamingDigest } from "./digest.js";
import { BLOCKED_MIN } from "./file-hash.js";

/**
 * Read, hashed and written a chunk at a time, small enough to stay in the CPU's cache between the
 * three: 8 MiB chunks cost three times the system CPU of this size here (256 MiB: 0.3-0.7 s
 * against 0.09-0.15 s), 256 KiB ones half as much again.
 */
const CHUNK = 1024 * 1024;

export interface HashedCopy {
  digest: string;
  size: number;
  /** The source changed while it was copied: the copy is some state of it, not a known one. */
  changed: boolean;
}

/**
 * Copies `source` to `dest` (created, or truncated) and returns the copy's digest in `scheme`,
 * or in the scheme its size calls for (file-hash.ts).
 */
export async function copyHashed(source: string, dest: string, scheme?: DigestScheme): Promise<HashedCopy> {
  const from = await open(source, "r");
  let to: FileHandle | undefined;
  try {
    const before = await from.stat({ bigint: true });
    to = await open(dest, "w");
    const size = Number(before.size);
    const hasher = new StreamingDigest(scheme ?? (size >= BLOCKED_MIN ? SHA256_BLOCKS : SHA256));
    const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let reading = readChunk(from, buffers[0], 0);
    let writing: Promise<unknown> = Promise.resolve();
    let total = 0;
    for (let i = 0; ; i++) {
      const got = await reading;
      // The other buffer is free once its write is done; the next chunk is read into it meanwhile.
      await writing;
      if (got === CHUNK) reading = readChunk(from, buffers[(i + 1) % 2], total + got);
      const chunk = buffers[i % 2].subarray(0, got);
      hasher.update(chunk);
      writing = writeAll(to, chunk, total);
      total += got;
      if (got < CHUNK) break;
    }
    await writing;
    const after = await from.stat({ bigint: true });
    const changed =
      total !== size ||
      after.size !== before.size ||
      after.mtimeNs !== before.mtimeNs ||
      after.ctimeNs !== before.ctimeNs;
    return { digest: hasher.digest(), size: total, changed };
  } finally {
    await to?.close();
    await from.close();
  }
}

/** Fills `buf` from `position` unless the file ends first; the bytes read. */
async function readChunk(file: FileHandle, buf: Buffer, position: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await file.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

async function writeAll(file: FileHandle, chunk: Buffer, position: number): Promise<void> {
  for (let done = 0; done < chunk.length; ) {
    const { bytesWritten } = await file.write(chunk, done, chunk.length - done, position + done);
    done += bytesWritten;
  }
}
