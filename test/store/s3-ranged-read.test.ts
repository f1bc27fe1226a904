/**
 * Large objects are read from S3 in parallel ranges, hashed as they land: a whole object verifies
 * and is cached; a damaged or shortened one fails with ARTIFACT_CORRUPT and leaves nothing in the
 * cache. Objects are written with a raw client, under a block digest, so the damage is exact.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SHA256_BLOCKS } from "../../src/core/digest-format.js";
import { digestOfBytes } from "../../src/store/digest.js";
import { S3ArtifactStore, s3ObjectKey } from "../../src/store/s3-artifact-store.js";
import { RANGE, RANGE_TRIES } from "../../src/store/s3-object-download.js";
import { rawS3Client, type S3Emulator, startS3rver } from "../support/s3.js";
import { S3FaultProxy } from "../support/s3-fault-proxy.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-s3-ranges-"));
let emulator: S3Emulator;
let raw: S3Client;
/** In front of the emulator, for the tests that cut reads off; its faults and requests reset per test. */
let proxy: S3FaultProxy;
let caches = 0;
/** Two and a half ranges: three ranged GETs, the last one short. */
const bytes = randomBytes(RANGE * 2 + RANGE / 2 + 12_345);
const digest = digestOfBytes(bytes, SHA256_BLOCKS);

beforeAll(async () => {
  emulator = await startS3rver(path.join(root, "server"));
  raw = rawS3Client(emulator);
  proxy = await S3FaultProxy.start(emulator.endpoint);
});
beforeEach(() => proxy.reset());
afterAll(async () => {
  await proxy?.stop();
  raw?.destroy();
  await emulator?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

async function storeWith(prefix: string, body: Buffer, endpoint = emulator.endpoint): Promise<S3ArtifactStore> {
  const Key = `${prefix}/${s3ObjectKey(digest)}`;
  await raw.send(
    new PutObjectCommand({ Bucket: emulator.bucket, Key, Body: body, Metadata: { "trainyard-kind": "file" } }),
  );
  return storeOn(prefix, endpoint);
}

function storeOn(prefix: string, endpoint = emulator.endpoint): S3ArtifactStore {
  return new S3ArtifactStore({
    url: `s3://${emulator.bucket}/${prefix}`,
    endpoint,
    credentials: emulator.credentials,
    cacheDir: path.join(root, `cache-${++caches}`),
  });
}

/** Everything in the cache directory, temp files included. */
function cacheEntries(store: S3ArtifactStore): string[] {
  const dir = store.cache.root;
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((p) => !fs.statSync(path.join(dir, p)).isDirectory());
}

describe("ranged reads of large objects from S3", () => {
  it("reads an intact object in ranges, verifies it and caches it", async () => {
    const store = await storeWith("intact", bytes);
    const local = await store.getLocal(digest);
    expect(fs.readFileSync(local).equals(bytes)).toBe(true);
    expect(store.requests.count("GetObjectCommand")).toBe(Math.ceil(bytes.length / RANGE));
    expect(store.requests.bytesRead).toBe(bytes.length);
    expect(cacheEntries(store)).toEqual([digest]);
    await store.close();
  });

  it("refuses an object with one byte changed in a middle range, and caches nothing", async () => {
    const damaged = Buffer.from(bytes);
    damaged[RANGE + 4321] ^= 0xff;
    const store = await storeWith("damaged", damaged);
    await expect(store.getLocal(digest)).rejects.toMatchObject({
      code: "ARTIFACT_CORRUPT",
      message: expect.stringContaining(digest),
    });
    expect(cacheEntries(store)).toEqual([]);
    await store.close();
  });

  it("refuses a shortened object, and caches nothing", async () => {
    const store = await storeWith("short", bytes.subarray(0, bytes.length - RANGE / 2));
    await expect(store.getLocal(digest)).rejects.toMatchObject({
      code: "ARTIFACT_CORRUPT",
      message: expect.stringContaining(digest),
    });
    expect(cacheEntries(store)).toEqual([]);
    await store.close();
  });

  it("reads a range again alone when its answer is cut off mid-body, and the object still verifies", async () => {
    const store = await storeWith("cut-read", bytes, proxy.endpoint);
    proxy.cutRead = { start: RANGE, times: 1 };
    const local = await store.getLocal(digest);
    expect(fs.readFileSync(local).equals(bytes)).toBe(true);
    expect(proxy.count(new RegExp(`range=bytes=${RANGE}-`))).toBe(2);
    expect(proxy.count(/range=bytes=0-/)).toBe(1);
    expect(proxy.count(new RegExp(`range=bytes=${2 * RANGE}-`))).toBe(1);
    expect(cacheEntries(store)).toEqual([digest]);
    await store.close();
  });

  it("fails the read when a range is cut off on every try, and caches nothing", async () => {
    const store = await storeWith("cut-always", bytes, proxy.endpoint);
    proxy.cutRead = { start: RANGE, times: Number.POSITIVE_INFINITY };
    await expect(store.getLocal(digest)).rejects.toMatchObject({ code: expect.stringMatching(/^OBJECT_STORE_/) });
    expect(proxy.count(new RegExp(`range=bytes=${RANGE}-`))).toBe(RANGE_TRIES);
    expect(cacheEntries(store)).toEqual([]);
    await store.close();
  });

  it("asks again for a small object read in one GET whose answer is cut off mid-body", async () => {
    const small = randomBytes(3 * 1024 * 1024);
    const file = path.join(root, "small.bin");
    fs.writeFileSync(file, small);
    const writer = storeOn("cut-whole");
    const { digest: smallDigest } = await writer.putFile(file);
    await writer.close();
    const reader = storeOn("cut-whole", proxy.endpoint);
    proxy.cutRead = { start: "whole", times: 1 };
    expect(fs.readFileSync(await reader.getLocal(smallDigest)).equals(small)).toBe(true);
    expect(proxy.count(/^GET .*GetObject/)).toBe(2);
    await reader.close();
  });
});
