/**
 * The S3 artifact store through the ArtifactStore conformance suite, against s3rver on loopback
 * (a real server process whose data directory survives its restart).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startS3rver } from "../support/s3.js";
import { describeArtifactStoreConformance } from "./artifact-store-conformance.js";
import { s3Harness } from "./s3-harness.js";

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
