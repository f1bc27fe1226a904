/**
 * The HTML reports behind an artifact digest (`trainyard report`, `GET /api/v1/reports/{digest}`):
 * a file artifact itself, the HTML files a JSON output refers to, or a directory's index.html.
 * Paths come from the artifact store by digest, never from a path stored in a value or given
 * by a caller, so a report lookup cannot leave the store.
 */
import { isArtifactHandle } from "../core/artifacts.js";
import { TrainyardError } from "../core/errors.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import type { MetadataStore } from "../store/metadata-store.js";
import type { ArtifactIO } from "./artifact-io.js";
import { shortDigest } from "../core/hash.js";

interface Sources {
  home: string;
  metadata: MetadataStore;
  artifacts: ArtifactStore;
  io: ArtifactIO;
}

export async function reportFiles(src: Sources, digestOrPrefix: string): Promise<string[]> {
  const art = await src.metadata.getArtifact(digestOrPrefix);
  if (!art) {
    throw new TrainyardError("NOT_FOUND", `no artifact "${digestOrPrefix}" in ${src.home}`, {
      hint: "a unique prefix of 6+ characters of the digest is enough; see `trainyard show <run> --json`",
    });
  }
  let paths: string[] = [];
  if (art.kind === "file") paths = [await src.artifacts.pathOf(art.digest)];
  else if (art.kind === "directory") paths = [`${await src.artifacts.pathOf(art.digest)}/index.html`];
  else if (art.kind === "json") {
    const digests: string[] = [];
    const walk = (v: unknown) => {
      if (isArtifactHandle(v)) {
        if (v.meta.contentType === "text/html" && v.digest) digests.push(v.digest);
      } else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(await src.io.load(art.digest));
    paths = await Promise.all(digests.map((d) => src.artifacts.pathOf(d)));
  }
  if (!paths.length) {
    throw new TrainyardError("NOT_FOUND", `artifact ${shortDigest(art.digest)} (${art.kind}) holds no HTML report`, {
      hint: "pass the digest of a validate/profile/drift/evaluate step output",
    });
  }
  return paths;
}
