/**
 * The HTML reports behind an artifact or a step (`trainyard report`, `GET /api/v1/reports/{digest}`):
 * a file artifact itself, the HTML files a JSON output refers to, or a directory's index.html.
 * Paths come from the artifact store by digest, never from a path stored in a value or given
 * by a caller, so a report lookup cannot leave the store.
 */
import { join } from "node:path";
import { type ArtifactHandle, isArtifactHandle } from "../core/artifacts.js";
import { TrainyardError } from "../core/errors.js";
import { shortDigest } from "../core/hash.js";
import type { ArtifactRecord, StepRunRecord } from "../store/metadata-store.js";
import type { ArtifactIO } from "./artifact-io.js";

export interface FoundReport {
  /** The verified bytes in the store: a stored object, or a directory artifact's index.html. */
  path: string;
  /** What to call it, ending in .html: `<step or short digest>-<kind>.html` (kind as the step tagged it). */
  name: string;
}

interface ReportSources {
  io: ArtifactIO;
}

/** The reports an artifact holds, named after its short digest; NOT_FOUND when it holds none. */
export async function artifactReports(src: ReportSources, art: ArtifactRecord): Promise<FoundReport[]> {
  const short = shortDigest(art.digest);
  const reports = await reportsIn(src, art, short);
  if (!reports.length) {
    throw new TrainyardError("NOT_FOUND", `artifact ${short} (${art.kind}) holds no HTML report`, {
      hint: "pass the digest of a validate/profile/drift/evaluate step output, or a run and a step",
    });
  }
  return reports;
}

/** The reports a step wrote into its output, named after the step; NOT_FOUND naming the step when none. */
export async function stepReports(src: ReportSources, sr: StepRunRecord, stepId: string): Promise<FoundReport[]> {
  const where = { runId: sr.runId, step: stepId };
  if (!sr.outputDigest) {
    throw new TrainyardError("NOT_FOUND", `step "${stepId}" of run ${sr.runId} has no output (${sr.status})`, {
      ...where,
      hint: `see why with \`trainyard show ${sr.runId}\``,
    });
  }
  // A step's output is its JSON value, whether inline in the metadata store or an object.
  const reports = await reportsIn(src, { digest: sr.outputDigest, kind: "json" }, stepId);
  if (!reports.length) {
    throw new TrainyardError("NOT_FOUND", `step "${stepId}" of run ${sr.runId} wrote no HTML report`, {
      ...where,
      hint: "validate, profile, drift and evaluate steps write one; `trainyard show <run>` lists the steps",
    });
  }
  return reports;
}

async function reportsIn(
  src: ReportSources,
  art: Pick<ArtifactRecord, "digest" | "kind">,
  prefix: string,
): Promise<FoundReport[]> {
  if (art.kind === "file") return [{ path: await src.io.verifiedPath(art.digest), name: `${prefix}.html` }];
  if (art.kind === "directory") {
    return [{ path: join(await src.io.verifiedPath(art.digest), "index.html"), name: `${prefix}.html` }];
  }
  if (art.kind !== "json") return [];
  const handles = htmlHandles(await src.io.load(art.digest));
  return Promise.all(
    handles.map(async (h, i) => ({ path: await src.io.verifiedPath(h.digest), name: reportName(prefix, handles, i) })),
  );
}

/** The stored HTML files a value refers to, in the order they appear. */
function htmlHandles(value: unknown): ArtifactHandle[] {
  const found: ArtifactHandle[] = [];
  const walk = (v: unknown) => {
    if (isArtifactHandle(v)) {
      if (v.meta.contentType === "text/html" && v.digest) found.push(v);
    } else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(value);
  return found;
}

/** `<prefix>-<kind>.html`; a second report of the same kind gets its position as a suffix. */
function reportName(prefix: string, handles: ArtifactHandle[], i: number): string {
  const kind = handles[i].meta.report;
  const repeated = handles.slice(0, i).some((h) => h.meta.report === kind);
  return `${prefix}-${typeof kind === "string" ? kind : "report"}${repeated ? `-${i}` : ""}.html`;
}
