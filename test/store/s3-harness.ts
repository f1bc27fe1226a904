/** A conformance harness for the S3 store on an emulator: stores on one bucket prefix, a cache each. */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { S3ArtifactStore, s3ObjectKey } from "../../src/store/s3-artifact-store.js";
import { rawS3Client, type S3Emulator } from "../support/s3.js";
import type { StoreHarness } from "./artifact-store-conformance.js";

/** Stores on one bucket prefix, each with a cache of its own; corrupt() overwrites an object with a raw client. */
export async function s3Harness(
  emulator: S3Emulator,
  root: string,
  onClose: () => Promise<void>,
): Promise<StoreHarness> {
  const prefix = `t-${randomBytes(4).toString("hex")}`;
  const options = {
    url: `s3://${emulator.bucket}/${prefix}`,
    endpoint: emulator.endpoint,
    credentials: emulator.credentials,
  };
  const raw = rawS3Client(emulator);
  let caches = 0;
  return {
    open: async () => new S3ArtifactStore({ ...options, cacheDir: path.join(root, `cache-${++caches}`) }),
    corrupt: async (digest: string) => {
      const Key = `${prefix}/${s3ObjectKey(digest)}`;
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
