/**
 * A file sent to S3 in parts, each part a ranged read of the file streamed as its request's body,
 * several at once. Nothing is buffered: a part read into memory (as lib-storage does, six of
 * them at a time) is also a payload the SDK hashes on the event loop to sign it. A part that
 * fails is read from the file and sent again on its own; the upload is aborted only when one
 * fails every try, so the server keeps no orphaned parts.
 */
import { createReadStream } from "node:fs";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { pauseBeforeTry, refusedForGood } from "./s3-retry.js";

/** S3's limit on the parts of one upload. */
const MAX_PARTS = 10_000;
/** Tries per part, the SDK's own retries aside (it cannot rewind a streamed body). */
export const PART_TRIES = 3;

export interface PartUpload {
  client: S3Client;
  bucket: string;
  key: string;
  metadata: Record<string, string>;
  file: string;
  size: number;
  /** Bytes per part; raised for a file that would need more than S3's 10,000 parts. */
  partSize: number;
  /** Parts in flight at once. */
  lanes: number;
  /** Bytes per read of the file. */
  readChunk: number;
}

/** The part size for `size` bytes: `partSize`, or larger so that the file fits in 10,000 parts. */
export function partSizeFor(size: number, partSize: number): number {
  const MIB = 1024 * 1024;
  return Math.max(partSize, Math.ceil(size / MAX_PARTS / MIB) * MIB);
}

export async function uploadFileInParts(up: PartUpload): Promise<void> {
  const { client, bucket: Bucket, key: Key } = up;
  const partSize = partSizeFor(up.size, up.partSize);
  const count = Math.max(1, Math.ceil(up.size / partSize));
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, Metadata: up.metadata }));
  const UploadId = created.UploadId;
  const parts: CompletedPart[] = [];
  let next = 0;
  let failed = false;
  const sendPart = async (index: number): Promise<void> => {
    const start = index * partSize;
    const end = Math.min(up.size, start + partSize);
    for (let attempt = 1; ; attempt++) {
      const Body = createReadStream(up.file, { start, end: end - 1, highWaterMark: up.readChunk });
      try {
        const PartNumber = index + 1;
        const sent = await client.send(
          new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body, ContentLength: end - start }),
        );
        parts[index] = { PartNumber, ETag: sent.ETag };
        return;
      } catch (err) {
        Body.destroy();
        if (failed || attempt >= PART_TRIES || refusedForGood(err)) throw err;
        await pauseBeforeTry(attempt);
      }
    }
  };
  const lane = async () => {
    while (!failed && next < count) {
      try {
        await sendPart(next++);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  try {
    const lanes = await Promise.allSettled(Array.from({ length: Math.min(up.lanes, count) }, lane));
    const refused = lanes.find((l) => l.status === "rejected");
    if (refused) throw refused.reason;
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw err;
  }
}
