/**
 * Reads one object from S3 into a local file and computes its digest on the way, so the file is
 * never read again to verify it. A block-digest object (files of 64 MiB and more) comes in
 * ranges of whole blocks, several at once, each written at its offset while its blocks are
 * hashed: blocks hash independently. Other objects stream in one GET, hashed as they arrive.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { type FileHandle, open, rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import { parseDigest, SHA256_BLOCKS, SHA256_TREE } from "../core/digest-format.js";
import { TrainyardError } from "../core/errors.js";
import { BLOCK, combineBlockDigests } from "./block-hash.js";
import { StreamingDigest } from "./digest.js";
import { unpackTree } from "./object-archive.js";
import type { S3RequestCounter } from "./s3-request-counter.js";
import { pauseBeforeTry, refusedForGood } from "./s3-retry.js";

/** Bytes per ranged GET: whole blocks, so each range hashes on its own. */
export const RANGE = 2 * BLOCK;
/** Bytes of a range gathered into one write. */
const WRITE_BATCH = 1024 * 1024;
/** Ranged GETs in flight for one object. */
export const RANGES_AT_ONCE = 4;
/** Tries per range (or whole object): a read cut off mid-body, which the SDK's own retries do not cover. */
export const RANGE_TRIES = 3;
/** Object metadata: "file" or "directory" (an archive, object-archive.ts). */
export const KIND_METADATA = "trainyard-kind";
/** Object metadata: the content's size (a directory's files, not its archive). */
export const SIZE_METADATA = "trainyard-size";

export interface ObjectRead {
  client: S3Client;
  bucket: string;
  key: string;
  digest: string;
  /** Where the content goes: a file, or a directory for a tree. */
  target: string;
  counter: S3RequestCounter;
}

/** The digest and size of a file as it was written, or undefined for a tree the caller verifies. */
export type Downloaded = { digest: string; size: number } | undefined;

export async function downloadObject(read: ObjectRead): Promise<Downloaded> {
  if (parseDigest(read.digest).scheme !== SHA256_BLOCKS) return readWhole(read);
  let first: GetObjectCommandOutput;
  try {
    first = await getObject(read, 0, RANGE - 1);
  } catch (err) {
    // An empty object has no range to ask for (416); it is damaged anyway, and read whole it says so.
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 416) throw err;
    return readWhole(read);
  }
  const total = Number(/\/(\d+)$/.exec(first.ContentRange ?? "")?.[1] ?? Number.NaN);
  // A server that ignored the range sent the whole object; so does one whose object fits one range.
  if (!Number.isFinite(total) || total <= RANGE) return writeWhole(read, first);
  if (first.Metadata?.[KIND_METADATA] === "directory") {
    (first.Body as Readable).destroy();
    return readWhole(read);
  }
  return writeRanges(read, first, total);
}

/** One GET of the whole object; an answer cut off mid-body is asked again, the target started afresh. */
async function readWhole(read: ObjectRead): Promise<Downloaded> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeWhole(read, await getObject(read));
    } catch (err) {
      if (err instanceof TrainyardError || attempt >= RANGE_TRIES || refusedForGood(err)) throw err;
      await rm(read.target, { recursive: true, force: true });
      await pauseBeforeTry(attempt);
    }
  }
}

function getObject(read: ObjectRead, start?: number, end?: number): Promise<GetObjectCommandOutput> {
  const Range = start === undefined ? undefined : `bytes=${start}-${end}`;
  return read.client.send(new GetObjectCommand({ Bucket: read.bucket, Key: read.key, Range }));
}

async function writeWhole(read: ObjectRead, got: GetObjectCommandOutput): Promise<Downloaded> {
  const body = read.counter.countBody(got.Body as Readable);
  const { scheme } = parseDigest(read.digest);
  if (got.Metadata?.[KIND_METADATA] === "directory" || scheme === SHA256_TREE) {
    // A tree's digest is over its unpacked files: the cache hashes the directory once it is whole.
    if (got.Metadata?.[KIND_METADATA] === "directory") await unpackTree(body, read.target);
    else await pipeline(body, createWriteStream(read.target));
    return undefined;
  }
  const hasher = new StreamingDigest(scheme);
  await pipeline(
    body,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hasher.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(read.target),
  );
  return { digest: hasher.digest(), size: hasher.size };
}

async function writeRanges(read: ObjectRead, first: GetObjectCommandOutput, total: number): Promise<Downloaded> {
  const ranges = Math.ceil(total / RANGE);
  const blockDigests: Buffer[][] = new Array(ranges);
  const handle = await open(read.target, "w");
  let next = 1;
  let failed = false;
  // A range cut off mid-body is read again alone: it is rewritten at its offset and rehashed whole.
  const readRange = async (i: number, got?: GetObjectCommandOutput) => {
    const start = i * RANGE;
    const length = Math.min(total - start, RANGE);
    for (let attempt = 1; ; attempt++) {
      try {
        const response = got ?? (await getObject(read, start, start + length - 1));
        got = undefined;
        const body = read.counter.countBody(response.Body as Readable);
        blockDigests[i] = await writeRange(handle, body, start, length);
        return;
      } catch (err) {
        got = undefined;
        if (failed || attempt >= RANGE_TRIES || refusedForGood(err)) throw err;
        await pauseBeforeTry(attempt);
      }
    }
  };
  const lane = async (firstRange?: number, got?: GetObjectCommandOutput) => {
    try {
      if (firstRange !== undefined) await readRange(firstRange, got);
      while (!failed && next < ranges) await readRange(next++);
    } catch (err) {
      failed = true;
      throw err;
    }
  };
  try {
    const lanes = [lane(0, first)];
    for (let k = 1; k < Math.min(RANGES_AT_ONCE, ranges); k++) lanes.push(lane());
    // Every lane ends before the file is closed: none writes to a closed handle.
    const settled = await Promise.allSettled(lanes);
    const rejected = settled.find((s) => s.status === "rejected");
    if (rejected) throw (rejected as PromiseRejectedResult).reason;
  } finally {
    await handle.close();
  }
  return { digest: combineBlockDigests(blockDigests.flat(), total), size: total };
}

/**
 * Writes one range at its offset as it arrives, the socket's chunks gathered into one write of
 * WRITE_BATCH bytes or so (a write per 64 KiB chunk cost a thread-pool round trip each), the
 * next batch gathering while the last is written; the sha256 of each of its blocks.
 */
async function writeRange(handle: FileHandle, body: Readable, start: number, length: number): Promise<Buffer[]> {
  const digests: Buffer[] = [];
  let block = createHash("sha256");
  let inBlock = 0;
  let received = 0;
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    await writing;
    if (gatheredBytes === 0) return;
    writing = writeAllAt(handle, gathered, start + received - gatheredBytes);
    // Awaited before the next flush or at the end; until then a failure must not count as unhandled.
    writing.catch(() => undefined);
    gathered = [];
    gatheredBytes = 0;
  };
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (received + chunk.length > length) throw sizeMismatch(start, length, received + chunk.length);
      gathered.push(chunk);
      gatheredBytes += chunk.length;
      received += chunk.length;
      for (let offset = 0; offset < chunk.length; ) {
        const take = Math.min(BLOCK - inBlock, chunk.length - offset);
        block.update(chunk.subarray(offset, offset + take));
        inBlock += take;
        offset += take;
        if (inBlock === BLOCK) {
          digests.push(block.digest());
          block = createHash("sha256");
          inBlock = 0;
        }
      }
      if (gatheredBytes >= WRITE_BATCH) await flush();
    }
  } catch (err) {
    // No write of this range is left in flight when it is read again.
    await writing.catch(() => undefined);
    throw err;
  }
  await flush();
  await writing;
  if (received !== length) throw sizeMismatch(start, length, received);
  if (inBlock > 0) digests.push(block.digest());
  return digests;
}

/** Writes the buffers in order from `position`, however many calls that takes. */
async function writeAllAt(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest, position);
    position += bytesWritten;
    // A short write: drop what went, and the written part of the buffer it stopped in.
    while (rest.length > 0 && bytesWritten >= rest[0].length) {
      bytesWritten -= rest[0].length;
      rest = rest.slice(1);
    }
    if (bytesWritten > 0) rest = [rest[0].subarray(bytesWritten), ...rest.slice(1)];
  }
}

function sizeMismatch(start: number, length: number, got: number): TrainyardError {
  return new TrainyardError(
    "OBJECT_STORE_UNAVAILABLE",
    `the object store answered a read of ${length} bytes at offset ${start} with ${got} bytes`,
    { hint: "the object changed while it was read, or the server mishandles ranged reads; try again" },
  );
}
