/**
 * The S3 artifact store through the ArtifactStore conformance suite, against s3rver on loopback
 * (a real server process whose data directory survives its restart).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { S3ArtifactStore } from "../../src/store/s3-artifact-store.js";
import { type S3Emulator, startS3rver } from "../support/s3.js";
import { describeArtifactStoreConformance } from "./artifact-store-conformance.js";

/** Stores on one bucket prefix, each with a cache of its own; corrupt() overwrites an object with a raw client. */
export async function s3Harness(emulator: S3Emulator, root: string, onClose: () => Promise<void>) {
  const prefix = `t-${randomBytes(4).toString("hex")}`;
  const options = {
    url: `s3://${emulator.bucket}/${prefix}`,
    endpoint: emulator.endpoint,
    credentials: emulator.credentials,
  };
  const raw = new S3Client({
    endpoint: emulator.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: emulator.credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  let caches = 0;
  return {
    open: async () => new S3ArtifactStore({ ...options, cacheDir: path.join(root, `cache-${++caches}`) }),
    corrupt: async (digest: string) => {
      const Key = `${prefix}/objects/${digest}`;
      const Metadata = { "trainyard-kind": "file" };
      await raw.send(new PutObjectCommand({ Bucket: emulator.bucket, Key, Body: "not what it was", Metadata }));
    },
    restartServer: () => emulator.restart(),
    close: async () => {
      raw.destroy();
      await onClose();
    },
  };
}

describeArtifactStoreConformance(
  "s3 on s3rver",
  async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-s3rver-"));
    const emulator = await startS3rver(path.join(root, "server"));
    return s3Harness(emulator, root, async () => {
      await emulator.stop();
      fs.rmSync(root, { recursive: true, force: true });
    });
  },
  { server: true },
);
