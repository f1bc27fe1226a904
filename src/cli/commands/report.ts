/**
 * `trainyard report <run> <step>` and `trainyard report <digest>`: the path of the HTML report a
 * step wrote. Stored objects are named by digest, so each report is reached through a link named
 * `<step>-<kind>.html` under <home>/reports/: a browser opens it as HTML and the name says what it is.
 */
import { mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { FoundReport } from "../../engine/report-files.js";
import { has, usage, type ParsedArgs } from "../args.js";
import { openHome } from "../open-home.js";

export async function reportCommand(args: ParsedArgs): Promise<number> {
  const [first, step, ...extra] = args.positionals;
  if (!first) throw usage("trainyard report needs a run id and a step (or the digest of a report or step output)");
  if (extra.length) throw usage(`unexpected argument "${extra[0]}"`);
  const ty = await openHome(args);
  try {
    const { reports, folder } = step
      ? await ty.query.stepReports(first, step).then((r) => ({ reports: r.reports, folder: r.runId }))
      : { reports: await ty.query.artifactReports(first), folder: "by-digest" };
    const paths = reports.map((r) => linkReport(join(ty.home, "reports", folder), r));
    process.stdout.write(has(args, "json") ? `${JSON.stringify(paths)}\n` : `${paths.join("\n")}\n`);
    return 0;
  } finally {
    await ty.close();
  }
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
  if (current === report.path) return link;
  if (current !== undefined) rmSync(link, { force: true });
  try {
    symlinkSync(report.path, link);
  } catch (err) {
    // Another `trainyard report` made the same link meanwhile.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST" || readlinkSync(link) !== report.path) throw err;
  }
  return link;
}
