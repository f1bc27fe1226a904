/**
 * A process killed by SIGKILL in the middle of a multipart upload leaves the upload open on the
 * server, whose parts S3 keeps (and bills) until someone aborts it. The store records each upload
 * it opens in its cache; the next store on that cache aborts the ones whose owner is dead.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UploadPartCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3ArtifactStore } from "../../src/store/s3-artifact-store.js";
import { plantAbandonedUpload, rawS3Client, type S3Emulator, startFauxqs, startS3rver } from "../support/s3.js";
import { S3FaultProxy } from "../support/s3-fault-proxy.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-s3-abandoned-"));
let emulator: S3Emulator;
let proxy: S3FaultProxy;
beforeAll(async () => {
  emulator = await startFauxqs();
  proxy = await S3FaultProxy.start(emulator.endpoint);
});
afterAll(async () => {
  await proxy?.stop();
  await emulator?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

const cacheDir = path.join(root, "cache");
const options = () => ({
  url: `s3://${emulator.bucket}/abandoned`,
  endpoint: proxy.endpoint,
  credentials: emulator.credentials,
  cacheDir,
});

/** A process that puts `file` through a store on the proxy, killed by SIGKILL once part 2 is on its way. */
async function killedMidUpload(file: string): Promise<void> {
  const script = `
    const { S3ArtifactStore } = await import(${JSON.stringify(path.join(ROOT, "src/store/s3-artifact-store.ts"))});
    const store = new S3ArtifactStore(JSON.parse(process.argv[1]));
    await store.putFile(process.argv[2]);`;
  proxy.hold = 2;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script, JSON.stringify(options()), file],
    { cwd: ROOT, stdio: "ignore" },
  );
  const exited = new Promise((done) => child.once("exit", done));
  const deadline = Date.now() + 30_000;
  while (!proxy.count(/^PUT .*partNumber=2&/)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("the upload never reached part 2");
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  await exited;
  proxy.hold = 0;
}

describe("a multipart upload left open by a killed process", () => {
  it("is aborted by the next store on the same cache, and a live process's own is not", async () => {
    const file = path.join(root, "big.bin");
    fs.writeFileSync(file, randomBytes(28 * 1024 * 1024));
    await killedMidUpload(file);
    const created = proxy.requests.find((r) => /^POST .*\?uploads/.test(r));
    expect(created).toBeDefined();
    const left = fs.readdirSync(path.join(cacheDir, ".uploads"));
    expect(left).toHaveLength(1);
    const { uploadId, key } = JSON.parse(fs.readFileSync(path.join(cacheDir, ".uploads", left[0]), "utf8"));
    expect(proxy.count(/^DELETE /)).toBe(0);

    // An upload this (live) process has open is left alone.
    fs.writeFileSync(
      path.join(cacheDir, ".uploads", `${process.pid}-mine`),
      JSON.stringify({
        owner: (await import("../../src/store/process-identity.js")).selfIdentity(),
        bucket: "b",
        key,
        uploadId: "mine",
      }),
    );
    const store = new S3ArtifactStore(options());
    expect(await store.abortAbandonedUploads()).toBe(1);
    expect(proxy.count(new RegExp(`^DELETE .*uploadId=${uploadId}`))).toBe(1);
    expect(fs.readdirSync(path.join(cacheDir, ".uploads"))).toEqual([`${process.pid}-mine`]);
    // The server dropped the upload: a part sent to it now is refused.
    const late = await rawS3Client(emulator)
      .send(new UploadPartCommand({ Bucket: emulator.bucket, Key: key, UploadId: uploadId, PartNumber: 3, Body: "x" }))
      .then(
        () => undefined,
        (err: { name?: string }) => err.name,
      );
    expect(late).toBe("NoSuchUpload");
    // A store's own uploads leave no record once completed: the same file goes up whole in parts.
    fs.rmSync(path.join(cacheDir, ".uploads", `${process.pid}-mine`));
    await store.putFile(file);
    expect(store.requests.count("CompleteMultipartUploadCommand")).toBe(1);
    expect(fs.readdirSync(path.join(cacheDir, ".uploads"))).toEqual([]);
    await store.close();
  });

  it("forgets the record on a server that cannot abort uploads (s3rver answers 405)", async () => {
    const s3rver = await startS3rver(path.join(root, "s3rver"));
    try {
      const cache = path.join(root, "cache-s3rver");
      await plantAbandonedUpload(s3rver, path.join(cache, ".uploads"), "abandoned/objects/left-open");
      const store = new S3ArtifactStore({
        url: `s3://${s3rver.bucket}/abandoned`,
        endpoint: s3rver.endpoint,
        credentials: s3rver.credentials,
        cacheDir: cache,
      });
      expect(await store.abortAbandonedUploads()).toBe(0);
      expect(fs.readdirSync(path.join(cache, ".uploads"))).toEqual([]);
      await store.close();
    } finally {
      await s3rver.stop();
    }
  });
});
