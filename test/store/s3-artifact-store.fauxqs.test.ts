/**
 * The S3 artifact store through the conformance suite against a second emulator, fauxqs (another
 * code base than s3rver, in memory, so without the server-restart case).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startFauxqs } from "../support/s3.js";
import { describeArtifactStoreConformance } from "./artifact-store-conformance.js";
import { s3Harness } from "./s3-harness.js";

describeArtifactStoreConformance("s3 on fauxqs", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-fauxqs-"));
  const emulator = await startFauxqs();
  return s3Harness(emulator, root, async () => {
    await emulator.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });
});
