/**
 * Finds transactions a write-ahead log is about to lose. SQLite replays a WAL up to its last
 * valid commit frame and silently drops the rest; reading the frames first lets the store say
 * that the last transaction(s) of a crashed writer were discarded, and where.
 *
 * Format (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte header (magic, version,
 * page size, checkpoint sequence, two salts, checksum), then frames of a 24-byte header (page
 * number, database size after commit or 0, the salts, a cumulative checksum) and one page.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";

const WAL_HEADER = 32;
const FRAME_HEADER = 24;
const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;
/** Bytes read at a time while walking the log. */
const CHUNK_BYTES = 1024 * 1024;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export interface WalTail {
  /** Frames SQLite will replay (up to and including the last commit frame). */
  committedFrames: number;
  /** Whole, valid frames written after the last commit: an uncommitted transaction. */
  uncommittedFrames: number;
  /** Bytes of a frame cut short (or failing its checksum) at the end of the current log. */
  tornBytes: number;
}

/** True when opening the database will drop something that was written to its log. */
export function walLosesData(tail: WalTail | undefined): tail is WalTail {
  return tail !== undefined && (tail.uncommittedFrames > 0 || tail.tornBytes > 0);
}

/** Reads `<db>-wal` and describes its tail; undefined when there is no log or it holds nothing of now. */
export function inspectWalTail(walFile: string): WalTail | undefined {
  let fd: number;
  try {
    fd = openSync(walFile, "r");
  } catch {
    return undefined;
  }
  try {
    return scanFrames(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

function readAt(fd: number, position: number, length: number, into?: Buffer): Buffer {
  const buf = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Walks the frames of the current log in chunks; frames of an older generation end the walk. */
function scanFrames(fd: number, size: number): WalTail | undefined {
  if (size < WAL_HEADER) return size > 0 ? { committedFrames: 0, uncommittedFrames: 0, tornBytes: size } : undefined;
  const header = readAt(fd, 0, WAL_HEADER);
  const magic = header.readUInt32BE(0);
  if (magic !== MAGIC_LE && magic !== MAGIC_BE) return undefined;
  const bigEndian = magic === MAGIC_BE;
  const pageSize = header.readUInt32BE(8);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return undefined;
  const salt1 = header.readUInt32BE(16);
  const salt2 = header.readUInt32BE(20);
  let [s1, s2] = checksum(header, 0, 24, bigEndian, 0, 0);
  // A header failing its own checksum means SQLite ignores the whole log: nothing of now is in it.
  if (s1 !== header.readUInt32BE(24) || s2 !== header.readUInt32BE(28)) return undefined;

  const frameSize = FRAME_HEADER + pageSize;
  const framesPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / frameSize));
  let chunk: Buffer | undefined;
  let valid = 0;
  let committed = 0;
  let off = WAL_HEADER;
  while (off + frameSize <= size) {
    const frames = Math.min(framesPerChunk, Math.floor((size - off) / frameSize));
    chunk = readAt(fd, off, frames * frameSize, chunk);
    for (let at = 0; at + frameSize <= chunk.length; at += frameSize) {
      // Frames of an older generation of the log carry other salts: leftovers, not losses.
      const current = chunk.readUInt32BE(at + 8) === salt1 && chunk.readUInt32BE(at + 12) === salt2;
      if (!current) return tail(committed, valid, 0);
      [s1, s2] = checksum(chunk, at, 8, bigEndian, s1, s2);
      [s1, s2] = checksum(chunk, at + FRAME_HEADER, pageSize, bigEndian, s1, s2);
      // Same salts, wrong checksum: a frame of the current log written only in part.
      const whole = s1 === chunk.readUInt32BE(at + 16) && s2 === chunk.readUInt32BE(at + 20);
      if (!whole) return tail(committed, valid, frameSize);
      valid++;
      if (chunk.readUInt32BE(at + 4) !== 0) committed = valid;
    }
    off += frames * frameSize;
  }
  const rest = size - off;
  if (rest === 0) return tail(committed, valid, 0);
  // A partial frame right after the current log's frames: the write of its last frame was cut.
  const head = readAt(fd, off, Math.min(rest, 16));
  const restIsCurrent = head.length < 16 || (head.readUInt32BE(8) === salt1 && head.readUInt32BE(12) === salt2);
  return tail(committed, valid, restIsCurrent ? rest : 0);
}

function tail(committed: number, valid: number, tornBytes: number): WalTail {
  return { committedFrames: committed, uncommittedFrames: valid - committed, tornBytes };
}

/** SQLite's WAL checksum: two running sums over 32-bit words, in the byte order the magic names. */
function checksum(
  buf: Buffer,
  start: number,
  length: number,
  bigEndian: boolean,
  a: number,
  b: number,
): [number, number] {
  let s1 = a;
  let s2 = b;
  const end = start + length;
  if (bigEndian) {
    for (let i = start; i < end; i += 8) {
      s1 = (s1 + buf.readUInt32BE(i) + s2) >>> 0;
      s2 = (s2 + buf.readUInt32BE(i + 4) + s1) >>> 0;
    }
  } else if ((buf.byteOffset + start) % 4 === 0 && LITTLE_ENDIAN_HOST) {
    // A word view is several times faster than readUInt32LE on a log of thousands of pages.
    const words = new Uint32Array(buf.buffer, buf.byteOffset + start, length >>> 2);
    for (let i = 0; i < words.length; i += 2) {
      s1 = (s1 + words[i] + s2) >>> 0;
      s2 = (s2 + words[i + 1] + s1) >>> 0;
    }
  } else {
    for (let i = start; i < end; i += 8) {
      s1 = (s1 + buf.readUInt32LE(i) + s2) >>> 0;
      s2 = (s2 + buf.readUInt32LE(i + 4) + s1) >>> 0;
    }
  }
  return [s1, s2];
}

/**
 * A log left by a clean close: its stamp is noted beside it (`<db>-wal.closed`), and an open that
 * finds the log unchanged since skips the scan, which grows with the log (tens of ms per command).
 */
export function noteCleanClose(walFile: string): void {
  const stamp = fileStamp(walFile);
  try {
    if (stamp === undefined) rmSync(`${walFile}.closed`, { force: true });
    else writeFileSync(`${walFile}.closed`, stamp);
  } catch {
    /* a read-only home: the next open scans */
  }
}

export function closedCleanly(walFile: string, stamp: string): boolean {
  try {
    return readFileSync(`${walFile}.closed`, "utf8") === stamp;
  } catch {
    return false;
  }
}

/** Size and mtime of a file, to tell a log still being written from one a crash left behind. */
export function fileStamp(file: string): string | undefined {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return undefined;
  }
}
