/** The fs backend through the ArtifactStore conformance suite. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FsArtifactStore } from "../../src/store/fs-artifact-store.js";
import { describeArtifactStoreConformance } from "./artifact-store-conformance.js";

describeArtifactStoreConformance("fs", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-fs-store-"));
  const artifacts = path.join(root, "artifacts");
  return {
    open: async () => new FsArtifactStore(artifacts),
    corrupt: async (digest) => {
      const object = new FsArtifactStore(artifacts).localPath(digest);
      fs.chmodSync(object, 0o644);
      fs.writeFileSync(object, "flipped bytes of the same length?");
    },
    close: async () => fs.rmSync(root, { recursive: true, force: true }),
  };
});
