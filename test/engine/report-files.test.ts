/**
 * Finding a run's HTML reports (the lookup `trainyard report` and `GET /api/v1/reports/{digest}`
 * share): by run and step, by the digest of a step output, of a file and of a directory.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { shortDigest } from "../../src/core/hash.js";
import { rejectionOf, useHomes } from "./support.js";

const homes = useHomes();

const MODULE = `import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "trainyard";
const p = pipeline("reports");
p.step("pages", {
  run: (ctx) => {
    for (const [name, text] of [["a.html", "page A"], ["b.html", "page B"], ["c.html", "page C"], ["n.txt", "notes"]]) {
      writeFileSync(join(ctx.workdir, name), text);
    }
    mkdirSync(join(ctx.workdir, "site"));
    writeFileSync(join(ctx.workdir, "site", "index.html"), "site index");
    return {
      first: ctx.file("a.html", { contentType: "text/html", report: "drift" }),
      nested: { second: ctx.file("b.html", { contentType: "text/html", report: "drift" }) },
      untagged: ctx.file("c.html", { contentType: "text/html" }),
      notes: ctx.file("n.txt", { contentType: "text/plain" }),
      site: ctx.directory("site"),
    };
  },
});
p.step("number", { run: () => 3 });
export default p;
`;

async function reportRun() {
  const { ty } = await homes.open();
  const file = path.join(homes.fixtureDir(), "reports.ts");
  fs.writeFileSync(file, MODULE);
  const run = await ty.run(file);
  expect(run.status).toBe("succeeded");
  const output = (await ty.output(run.runId, "pages")) as Record<string, { digest: string }> & {
    nested: { second: { digest: string } };
  };
  return { ty, runId: run.runId, output };
}

const read = (p: string) => fs.readFileSync(p, "utf8");

describe("report files", () => {
  it("finds a step's reports in its output, named after the step and each report's kind", async () => {
    const { ty, runId, output } = await reportRun();
    const { runId: full, reports } = await ty.query.stepReports(runId.slice(0, 12), "pages");
    expect(full).toBe(runId);
    expect(reports.map((r) => r.name)).toEqual(["pages-drift.html", "pages-drift-1.html", "pages-report.html"]);
    expect(reports.map((r) => read(r.path))).toEqual(["page A", "page B", "page C"]);
    // Paths come from the store by digest, not from the path recorded in the value.
    expect(reports[1].path).toBe(await ty.verifiedPath(output.nested.second.digest));

    const sr = await ty.query.stepRun(runId, "pages");
    const byDigest = await ty.query.artifactReports(sr.outputDigest!.slice(0, 16));
    const short = shortDigest(sr.outputDigest!);
    expect(byDigest.map((r) => r.name)).toEqual([
      `${short}-drift.html`,
      `${short}-drift-1.html`,
      `${short}-report.html`,
    ]);
    expect(byDigest.map((r) => r.path)).toEqual(reports.map((r) => r.path));
  });

  it("finds a file artifact itself and a directory's index.html by digest", async () => {
    const { ty, output } = await reportRun();
    const [page] = await ty.query.artifactReports(output.first.digest);
    expect(page).toEqual({
      path: await ty.verifiedPath(output.first.digest),
      name: `${shortDigest(output.first.digest)}.html`,
    });
    const [site] = await ty.query.artifactReports(output.site.digest);
    expect(site.name).toBe(`${shortDigest(output.site.digest)}.html`);
    expect(path.basename(site.path)).toBe("index.html");
    expect(read(site.path)).toBe("site index");
  });

  it("says which step wrote no report, and which artifact is unknown or holds none", async () => {
    const { ty, runId } = await reportRun();
    const none = await rejectionOf(ty.query.stepReports(runId, "number"));
    expect(none.code).toBe("NOT_FOUND");
    expect(none.message).toBe(`step "number" of run ${runId} wrote no HTML report`);
    expect(none.hint).toContain("trainyard show <run>");
    const noStep = await rejectionOf(ty.query.stepReports(runId, "page"));
    expect(noStep.message).toContain(`has no step "page"`);
    const unknown = await rejectionOf(ty.query.artifactReports("sha256:0000000000"));
    expect(unknown.code).toBe("NOT_FOUND");
    expect(unknown.message).toContain('no artifact "sha256:0000000000"');
    const numberOut = (await ty.query.stepRun(runId, "number")).outputDigest!;
    const empty = await rejectionOf(ty.query.artifactReports(numberOut));
    expect(empty.message).toBe(`artifact ${shortDigest(numberOut)} (json) holds no HTML report`);
  });
});
