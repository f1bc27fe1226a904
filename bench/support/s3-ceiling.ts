/**
 * What an S3 emulator itself can do with the raw SDK, no store in between: one PutObject and one
 * GetObject of a buffer, a multipart upload through lib-storage, and parallel ranged GETs; with a
 * file, also one PutObject streamed from it as the store sends it. The store's figures are read
 * against these.
 */
import { createReadStream } from "node:fs";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { UPLOAD_PART_SIZE, UPLOAD_QUEUE_SIZE, UPLOAD_READ_CHUNK } from "../../src/store/s3-artifact-store.js";
import { RANGE, RANGES_AT_ONCE } from "../../src/store/s3-object-download.js";
import { rawS3Client, type S3Emulator } from "../../test/support/s3.js";

export interface CeilingRow {
  operation: string;
  mbPerSecond: number | string;
}

const MIB = 1024 * 1024;

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += chunk.byteLength;
  return n;
}

/** Raw SDK throughput against `emulator` for `body`; an operation the server refuses is reported, not fatal. */
export async function measureCeiling(emulator: S3Emulator, body: Buffer, file?: string): Promise<CeilingRow[]> {
  const client = rawS3Client(emulator);
  const Bucket = emulator.bucket;
  const rows: CeilingRow[] = [];
  const timed = async (operation: string, run: () => Promise<unknown>) => {
    const t = performance.now();
    try {
      await run();
      rows.push({ operation, mbPerSecond: Math.round(body.length / 1e6 / ((performance.now() - t) / 1000)) });
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      rows.push({ operation, mbPerSecond: `refused (${status ?? (err as Error).message})` });
    }
  };
  try {
    await timed(`multipart, ${UPLOAD_PART_SIZE / MIB} MiB parts x${UPLOAD_QUEUE_SIZE}`, () =>
      new Upload({
        client,
        params: { Bucket, Key: "ceiling/multi", Body: body },
        partSize: UPLOAD_PART_SIZE,
        queueSize: UPLOAD_QUEUE_SIZE,
      }).done(),
    );
    await timed("GetObject, one request", async () => {
      const got = await client.send(new GetObjectCommand({ Bucket, Key: "ceiling/multi" }));
      await drain(got.Body as AsyncIterable<Uint8Array>);
    });
    await timed(`ranged GETs, ${RANGE / MIB} MiB x${RANGES_AT_ONCE}`, async () => {
      const range = RANGE;
      let next = 0;
      const lane = async () => {
        while (next * range < body.length) {
          const start = next++ * range;
          const end = Math.min(body.length, start + range) - 1;
          const got = await client.send(
            new GetObjectCommand({ Bucket, Key: "ceiling/multi", Range: `bytes=${start}-${end}` }),
          );
          await drain(got.Body as AsyncIterable<Uint8Array>);
        }
      };
      await Promise.all(Array.from({ length: RANGES_AT_ONCE }, lane));
    });
    // Last: a server that refuses a body this large (413) closes the connection mid-request.
    await timed("PutObject, one request", () =>
      client.send(new PutObjectCommand({ Bucket, Key: "ceiling/single", Body: body })),
    );
    // A buffer's sha256 goes into the request's signature; a stream is sent unsigned, as the store sends it.
    // A server that refused the buffer refuses the stream too.
    if (file && typeof rows[rows.length - 1].mbPerSecond === "number") {
      await timed(`PutObject, streamed from a file in ${UPLOAD_READ_CHUNK / MIB} MiB reads`, () =>
        client.send(
          new PutObjectCommand({
            Bucket,
            Key: "ceiling/streamed",
            Body: createReadStream(file, { highWaterMark: UPLOAD_READ_CHUNK }),
            ContentLength: body.length,
          }),
        ),
      );
    }
  } finally {
    client.destroy();
  }
  return rows;
}
