/**
 * `trainyard report <run> <step>` and `trainyard report <digest>`: the path of the HTML report a
 * step wrote. Stored objects are named by digest, so each report is reached through a link named
 * `<step>-<kind>.html` under <home>/reports/: a browser opens it as HTML and the name says what it is.
 */
import { mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { isArtifactHandle, type ArtifactHandle } from "../../core/artifacts.js";
import { TrainyardError } from "../../core/errors.js";
import type { Trainyard } from "../../engine/trainyard.js";
import { has, usage, type ParsedArgs } from "../args.js";
import { openHome } from "../open-home.js";
import { shortDigest } from "../../core/hash.js";

interface FoundReport {
  /** Where the bytes are: a stored object or a directory's index.html. */
  target: string;
  /** What the link is called, ending in .html. */
  name: string;
}

export async function reportCommand(args: ParsedArgs): Promise<number> {
  const [first, step, ...extra] = args.positionals;
  if (!first) throw usage("trainyard report needs a run id and a step (or the digest of a report or step output)");
  if (extra.length) throw usage(`unexpected argument "${extra[0]}"`);
  const ty = await openHome(args);
  try {
    const { reports, folder } = step ? await reportsOfStep(ty, first, step) : await reportsOfDigest(ty, first);
    const paths = reports.map((r) => linkReport(join(ty.home, "reports", folder), r));
    process.stdout.write(has(args, "json") ? `${JSON.stringify(paths)}\n` : `${paths.join("\n")}\n`);
    return 0;
  } finally {
    await ty.close();
  }
}

async function reportsOfStep(ty: Trainyard, runIdOrPrefix: string, stepId: string) {
  const sr = await ty.query.stepRun(runIdOrPrefix, stepId);
  if (!sr.outputDigest) {
    throw new TrainyardError("NOT_FOUND", `step "${stepId}" of run ${sr.runId} has no output (${sr.status})`, {
      runId: sr.runId,
      step: stepId,
      hint: `see why with \`trainyard show ${sr.runId}\``,
    });
  }
  const reports = htmlIn(await ty.io.load(sr.outputDigest), stepId);
  if (!reports.length) {
    throw new TrainyardError("NOT_FOUND", `step "${stepId}" of run ${sr.runId} wrote no HTML report`, {
      runId: sr.runId,
      step: stepId,
      hint: "validate, profile, drift and evaluate steps write one; `trainyard show <run>` lists the steps",
    });
  }
  return { reports, folder: sr.runId };
}

async function reportsOfDigest(ty: Trainyard, digest: string) {
  const art = await ty.metadata.getArtifact(digest);
  if (!art) {
    throw new TrainyardError("NOT_FOUND", `no artifact "${digest}" in ${ty.home}`, {
      hint: "pass a run id and a step (`trainyard report <run> <step>`), or a unique digest prefix of 6+ characters",
    });
  }
  const short = shortDigest(art.digest);
  let reports: FoundReport[] = [];
  if (art.kind === "file") reports = [{ target: await ty.artifacts.pathOf(art.digest), name: `${short}.html` }];
  else if (art.kind === "json") reports = htmlIn(await ty.io.load(art.digest), short);
  else if (art.kind === "directory") {
    reports = [{ target: join(await ty.artifacts.pathOf(art.digest), "index.html"), name: `${short}.html` }];
  }
  if (!reports.length) {
    throw new TrainyardError("NOT_FOUND", `artifact ${short} (${art.kind}) holds no HTML report`, {
      hint: "pass the digest of a validate/profile/drift/evaluate step output, or `<run> <step>`",
    });
  }
  return { reports, folder: "by-digest" };
}

/** HTML files inside a step's output value, named after the step and the report's kind. */
function htmlIn(value: unknown, prefix: string): FoundReport[] {
  const found: ArtifactHandle[] = [];
  const walk = (v: unknown) => {
    if (isArtifactHandle(v)) {
      if (v.meta.contentType === "text/html") found.push(v);
    } else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(value);
  return found.map((h, i) => {
    const kind = typeof h.meta.report === "string" ? h.meta.report : "report";
    const suffix = found.length > 1 && found.slice(0, i).some((o) => o.meta.report === h.meta.report) ? `-${i}` : "";
    return { target: h.path, name: `${prefix}-${kind}${suffix}.html` };
  });
}

/** A symlink to the stored report; replaced when it points elsewhere (a rerun of the step). */
function linkReport(dir: string, report: FoundReport): string {
  const link = join(dir, report.name.replace(/[^\w.@-]+/g, "_"));
  mkdirSync(dir, { recursive: true });
  let current: string | undefined;
  try {
    current = readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current === report.target) return link;
  if (current !== undefined) rmSync(link, { force: true });
  try {
    symlinkSync(report.target, link);
  } catch (err) {
    // Another `trainyard report` made the same link meanwhile.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST" || readlinkSync(link) !== report.target) throw err;
  }
  return link;
}
