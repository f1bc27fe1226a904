/**
 * How objects go up to S3: in one PutObject up to SINGLE_PUT_LIMIT, and in parts when the server
 * refuses one request that large (fauxqs refuses bodies over about 11 MiB with 413). Either way
 * the object reads back verified, and after one refusal the store goes straight to parts.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sha256Digest } from "../../src/core/digest-format.js";
import { hashFile } from "../../src/store/file-hash.js";
import { S3ArtifactStore, UPLOAD_PART_SIZE } from "../../src/store/s3-artifact-store.js";
import { PART_TRIES, partSizeFor } from "../../src/store/s3-part-upload.js";
import { type S3Emulator, startFauxqs, startS3rver } from "../support/s3.js";
import { S3FaultProxy } from "../support/s3-fault-proxy.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-s3-upload-"));
const running: S3Emulator[] = [];
afterAll(async () => {
  await Promise.all(running.map((e) => e.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});

function fileOf(name: string, mib: number): { file: string; bytes: Buffer } {
  const bytes = randomBytes(mib * 1024 * 1024);
  const file = path.join(root, name);
  fs.writeFileSync(file, bytes);
  return { file, bytes };
}

async function storeOn(emulator: S3Emulator, name: string, endpoint = emulator.endpoint): Promise<S3ArtifactStore> {
  running.push(emulator);
  return new S3ArtifactStore({
    url: `s3://${emulator.bucket}/${name}`,
    endpoint,
    credentials: emulator.credentials,
    cacheDir: path.join(root, `cache-${name}`),
  });
}

/** `body` with a store on fauxqs reached through a proxy that can cut part uploads. */
async function onFauxqsBehindProxy(
  name: string,
  body: (emulator: S3Emulator, proxy: S3FaultProxy, store: S3ArtifactStore) => Promise<void>,
): Promise<void> {
  const emulator = await startFauxqs();
  const proxy = await S3FaultProxy.start(emulator.endpoint);
  try {
    const store = await storeOn(emulator, name, proxy.endpoint);
    await body(emulator, proxy, store);
    await store.close();
  } finally {
    await proxy.stop();
  }
}

/** A second store on the same bucket, with an empty cache, reads the object back from the server. */
async function readBack(emulator: S3Emulator, name: string, digest: string): Promise<Buffer> {
  const reader = new S3ArtifactStore({
    url: `s3://${emulator.bucket}/${name}`,
    endpoint: emulator.endpoint,
    credentials: emulator.credentials,
    cacheDir: path.join(root, `reader-${name}-${digest.slice(-8)}`),
  });
  try {
    return fs.readFileSync(await reader.getLocal(digest));
  } finally {
    await reader.close();
  }
}

describe("uploads to S3", () => {
  it("sends a 24 MiB file in one PutObject where the server takes it (s3rver)", async () => {
    const emulator = await startS3rver(path.join(root, "s3rver"));
    const store = await storeOn(emulator, "single");
    const { file, bytes } = fileOf("single.bin", 24);
    const { digest } = await store.putFile(file);
    expect(store.requests.count("PutObjectCommand")).toBe(1);
    expect(store.requests.count("CreateMultipartUploadCommand")).toBe(0);
    // Staged in the cache, then renamed into place: the staging area is empty again.
    expect(fs.readdirSync(path.join(root, "cache-single", ".tmp"))).toEqual([]);
    expect(fs.readFileSync(path.join(root, "cache-single", digest)).equals(bytes)).toBe(true);
    expect((await readBack(emulator, "single", digest)).equals(bytes)).toBe(true);
    await store.close();
  });

  it("sends it in parts when the server refuses it whole (fauxqs), then that size in parts directly", async () => {
    const emulator = await startFauxqs();
    const store = await storeOn(emulator, "refused");
    const first = fileOf("refused-1.bin", 24);
    const a = await store.putFile(first.file);
    expect(store.requests.count("PutObjectCommand")).toBe(1);
    expect(store.requests.count("CreateMultipartUploadCommand")).toBe(1);
    const second = fileOf("refused-2.bin", 28);
    const b = await store.putFile(second.file);
    // The refusal is remembered: no second whole request for an object at least that large.
    expect(store.requests.count("PutObjectCommand")).toBe(1);
    expect(store.requests.count("CreateMultipartUploadCommand")).toBe(2);
    expect((await readBack(emulator, "refused", a.digest)).equals(first.bytes)).toBe(true);
    expect((await readBack(emulator, "refused", b.digest)).equals(second.bytes)).toBe(true);
    await store.close();
  });

  it("reads each part of a file from the file itself, and sends a part cut off mid-body again alone", () =>
    onFauxqsBehindProxy("cut", async (emulator, proxy, store) => {
      const { file, bytes } = fileOf("cut.bin", 20);
      proxy.cut = { partNumber: 2, times: 1 };
      const { digest } = await store.putFile(file, { consume: true });
      // 20 MiB in 8 MiB parts: three, and part 2 twice (cut once); the other parts went once.
      expect(store.requests.count("CreateMultipartUploadCommand")).toBe(1);
      expect(proxy.count(/^PUT .*partNumber=2&/)).toBe(2);
      expect(proxy.count(/^PUT .*partNumber=[13]&/)).toBe(2);
      expect(proxy.count(/x-id=UploadPart /)).toBe(4);
      // Streamed from the file: no part was read into memory and hashed to sign its payload.
      const parts = proxy.requests.filter((r) => /x-id=UploadPart /.test(r));
      expect(parts.every((r) => r.endsWith(" UNSIGNED-PAYLOAD"))).toBe(true);
      expect(store.requests.count("CompleteMultipartUploadCommand")).toBe(1);
      expect(store.requests.count("AbortMultipartUploadCommand")).toBe(0);
      expect((await readBack(emulator, "cut", digest)).equals(bytes)).toBe(true);
    }));

  it("aborts the upload when a part fails every try, and gives the consumed file back", () =>
    onFauxqsBehindProxy("lost", async (emulator, proxy, store) => {
      const { file, bytes } = fileOf("lost.bin", 20);
      proxy.cut = { partNumber: 3, times: Number.POSITIVE_INFINITY };
      const failed = await store.putFile(file, { consume: true }).then(
        () => undefined,
        (err: { code?: string }) => err,
      );
      expect(failed?.code).toMatch(/^OBJECT_STORE_/);
      expect(proxy.count(/^PUT .*partNumber=3&/)).toBeGreaterThanOrEqual(PART_TRIES);
      // The server is told to drop the parts it holds; no object was made.
      expect(proxy.count(/^DELETE .*uploadId=/)).toBe(1);
      expect(store.requests.count("CompleteMultipartUploadCommand")).toBe(0);
      expect(fs.readFileSync(file).equals(bytes)).toBe(true);
      proxy.cut = { partNumber: 0, times: 0 };
      const again = await store.putFile(file, { consume: true });
      expect((await readBack(emulator, "lost", again.digest)).equals(bytes)).toBe(true);
    }));

  it("sends a part the server refuses outright (403) only once, then aborts the upload", () =>
    onFauxqsBehindProxy("refused-part", async (_emulator, proxy, store) => {
      const { file } = fileOf("refused-part.bin", 20);
      proxy.refuse = { partNumber: 2, status: 403 };
      const failed = await store.putFile(file).then(
        () => undefined,
        (err: { code?: string }) => err,
      );
      expect(failed?.code).toMatch(/^OBJECT_STORE_/);
      expect(proxy.count(/^PUT .*partNumber=2&/)).toBe(1);
      expect(proxy.count(/^DELETE .*uploadId=/)).toBe(1);
    }));

  it("raises the part size of a file that would need more than S3's 10,000 parts", () => {
    expect(partSizeFor(256 * 1024 * 1024, UPLOAD_PART_SIZE)).toBe(UPLOAD_PART_SIZE);
    const huge = 200 * 1024 ** 3;
    const size = partSizeFor(huge, UPLOAD_PART_SIZE);
    expect(Math.ceil(huge / size)).toBeLessThanOrEqual(10_000);
    expect(size % (1024 * 1024)).toBe(0);
  });
});

describe("a put that cannot reach the server", () => {
  it("gives a consumed file back and leaves nothing of it in the cache", async () => {
    const emulator = await startS3rver(path.join(root, "s3rver-down"));
    const store = await storeOn(emulator, "down");
    const { file, bytes } = fileOf("consumed.bin", 3);
    await emulator.stop();
    const failed = await store.putFile(file, { consume: true }).then(
      () => undefined,
      (err: { code?: string }) => err,
    );
    expect(failed?.code).toBe("OBJECT_STORE_UNAVAILABLE");
    // The step's output is where the step left it, unchanged, and the cache holds no copy of it.
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    const cacheDir = path.join(root, "cache-down");
    expect(fs.readdirSync(cacheDir).filter((name) => !name.startsWith("."))).toEqual([]);
    expect(fs.readdirSync(path.join(cacheDir, ".tmp"))).toEqual([]);
    await store.close();
  });
});

describe("a digest the caller gives", () => {
  it("is checked before anything is sent: a wrong one fails and leaves no object or cached copy under it", async () => {
    const emulator = await startS3rver(path.join(root, "s3rver-given"));
    const store = await storeOn(emulator, "given");
    const { file, bytes } = fileOf("given.bin", 3);
    const wrong = sha256Digest(Buffer.from("some other content"));
    const failed = await store.putFile(file, { digest: wrong }).then(
      () => undefined,
      (err: { code?: string; message: string }) => err,
    );
    expect(failed?.code).toBe("DIGEST_INVALID");
    expect(failed?.message).toContain(file);
    expect(store.requests.count("PutObjectCommand")).toBe(0);
    expect(await store.has(wrong)).toBe(false);
    expect(fs.existsSync(path.join(root, "cache-given", wrong))).toBe(false);
    // The right digest is taken as given, and the object reads back verified under it.
    const right = (await hashFile(file)).digest;
    expect((await store.putFile(file, { digest: right })).digest).toBe(right);
    expect((await readBack(emulator, "given", right)).equals(bytes)).toBe(true);
    // Other content under a digest already stored: refused without an upload, and the stored object stays.
    const other = fileOf("other.bin", 1);
    const refused = await store.putFile(other.file, { digest: right }).then(
      () => undefined,
      (err: { code?: string }) => err,
    );
    expect(refused?.code).toBe("DIGEST_INVALID");
    expect(store.requests.count("PutObjectCommand")).toBe(1);
    expect(store.requests.count("DeleteObjectCommand")).toBe(0);
    expect(await store.has(right)).toBe(true);
    expect((await readBack(emulator, "given", right)).equals(bytes)).toBe(true);
    // A consumed file's digest is checked likewise, and the file goes back where it was.
    const consumed = fileOf("consumed-given.bin", 1);
    const refusedConsumed = await store.putFile(consumed.file, { digest: wrong, consume: true }).then(
      () => undefined,
      (err: { code?: string }) => err,
    );
    expect(refusedConsumed?.code).toBe("DIGEST_INVALID");
    expect(fs.readFileSync(consumed.file).equals(consumed.bytes)).toBe(true);
    expect(store.requests.count("PutObjectCommand")).toBe(1);
    await store.close();
  });
});

describe("a source that changes while it is stored", () => {
  it("fails the put with ARTIFACT_SOURCE_CHANGED and stores nothing", async () => {
    const emulator = await startS3rver(path.join(root, "s3rver-changing"));
    const store = await storeOn(emulator, "changing");
    // /proc/uptime stats as empty but reads as some bytes: what was copied is not the file that was opened.
    const failed = await store.putFile("/proc/uptime").then(
      () => undefined,
      (err: { code?: string; message: string }) => err,
    );
    expect(failed?.code).toBe("ARTIFACT_SOURCE_CHANGED");
    expect(failed?.message).toContain("/proc/uptime");
    expect(store.requests.count("PutObjectCommand")).toBe(0);
    expect(await store.list()).toEqual([]);
    const cacheDir = path.join(root, "cache-changing");
    expect(fs.readdirSync(cacheDir).filter((name) => !name.startsWith("."))).toEqual([]);
    expect(fs.readdirSync(path.join(cacheDir, ".tmp"))).toEqual([]);
    await store.close();
  });
});
