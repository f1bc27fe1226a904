import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir, writeTable } from "../data/temp-data.js";
import { digestHex } from "../../src/core/digest-format.js";

const tmp = makeTempDir("ty-datacli-");
afterAll(() => tmp.cleanup());
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ["bin/trainyard.js", ...args], {
    encoding: "utf8",
    env: { ...process.env, TRAINYARD_HOME: join(tmp.dir, "home"), ...env },
  });

describe("trainyard contract infer and report", () => {
  it("drafts an editable TypeScript contract from real data", async () => {
    const data = await writeTable(tmp.path("t.parquet"), { delay: "INTEGER", origin: "VARCHAR" }, [
      [1, "a"],
      [5, "b"],
      [9, "a"],
    ]);
    const r = cli(["contract", "infer", data, "--out", tmp.path("contract.ts")]);
    expect(r.status).toBe(0);
    const text = readFileSync(tmp.path("contract.ts"), "utf8");
    expect(text).toContain("export const contract: Contract");
    expect(text).toMatch(/delay: \{[^}]*type: "integer"/s);
    expect(text).toMatch(/allowedValues: \[\s*"a",\s*"b",?\s*\]/s);
  });

  it("reads several files and quoted globs as one table, so ranges cover every partition", async () => {
    const dir = tmp.path("landing");
    execFileSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "2001-01.csv"), "delay,origin\n1,a\n5,b\n");
    writeFileSync(join(dir, "2001-02.csv"), "delay,origin\n90,c\n7,a\n");
    await writeTable(join(dir, "2001-03.parquet"), { delay: "INTEGER", origin: "VARCHAR" }, [[-3, "d"]]);
    const globbed = cli(["contract", "infer", join(dir, "*.csv"), "--json"]);
    expect(globbed.status, globbed.stderr).toBe(0);
    const fromGlob = JSON.parse(globbed.stdout);
    expect(fromGlob.columns.origin.allowedValues).toEqual(["a", "b", "c"]);
    expect(fromGlob.columns.delay.max).toBeGreaterThanOrEqual(90);
    expect(fromGlob.name).toMatch(/^2 files/);
    const several = cli(["contract", "infer", join(dir, "2001-01.csv"), join(dir, "2001-03.parquet"), "--json"]);
    expect(several.status, several.stderr).toBe(0);
    const mixed = JSON.parse(several.stdout);
    expect(mixed.columns.origin.allowedValues).toEqual(["a", "b", "d"]);
    expect(mixed.columns.delay.min).toBeLessThanOrEqual(-3);
    expect(mixed.columns.delay.max).toBeLessThan(90);
    const none = cli(["contract", "infer", join(dir, "*.json")]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/No data files match the pattern/);
  });

  it("names the file when it cannot be read", () => {
    const r = cli(["contract", "infer", tmp.path("missing.parquet")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("missing.parquet");
    expect(r.stderr).toContain("hint:");
  });

  it("report prints the HTML report path behind a step output", async () => {
    const data = await writeTable(tmp.path("p.parquet"), { x: "INTEGER" }, [[1], [2], [3]]);
    const module = join(process.cwd(), "test", "fixtures", `tmp-report-${process.pid}.ts`);
    writeFileSync(
      module,
      `import { pipeline } from "trainyard";\nimport { profile } from "trainyard/data";\nconst ` +
        `p = pipeline("report-demo");\nconst d = p.step("data", { run: ` +
        `(ctx) => ctx.dataset(${JSON.stringify(data)}) });\nprofile(p, "profile", { data: d });\nexport default p;\n`,
    );
    try {
      const run = cli(["run", module, "--json"]);
      expect(run.status, run.stdout + run.stderr).toBe(0);
      const { runId } = JSON.parse(run.stdout);
      const shown = JSON.parse(cli(["show", runId, "--json"]).stdout);
      const digest = shown.steps.find((s: { stepId: string }) => s.stepId === "profile").outputDigest as string;
      const rep = cli(["report", digestHex(digest).slice(0, 10)]);
      expect(rep.status).toBe(0);
      expect(readFileSync(rep.stdout.trim(), "utf8")).toContain("<html");
      // By run and step: a link named after the step and the report's kind, ending in .html.
      const byStep = cli(["report", runId, "profile"]);
      expect(byStep.status, byStep.stderr).toBe(0);
      const path = byStep.stdout.trim();
      expect(path).toBe(join(tmp.dir, "home", "reports", runId, "profile-profile.html"));
      const html = readFileSync(path, "utf8");
      expect(html).toContain("<title>Profile of step &quot;profile&quot;: 3 rows, 1 columns</title>");
      expect(realpathSync(path)).toBe(realpathSync(rep.stdout.trim()));
      expect(cli(["report", runId, "profile"]).stdout.trim()).toBe(path);
      const noReport = cli(["report", runId, "data"]);
      expect(noReport.status).toBe(1);
      expect(noReport.stderr).toContain(`step "data" of run ${runId} wrote no HTML report`);
      const noStep = cli(["report", runId, "profil"]);
      expect(noStep.status).toBe(1);
      expect(noStep.stderr).toContain('has no step "profil"');
    } finally {
      execFileSync("rm", ["-f", module]);
    }
  });
});
