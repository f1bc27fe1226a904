// `trainyard init`: what it writes and keeps, and that the scaffold runs and passes its own test
// as generated, in a folder where the packed package was installed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scaffoldProject } from "../../src/cli/commands/init.js";
import { cli } from "../cli/support.js";
import { runIn, scaffoldedProject, succeeded, type ScaffoldedProject } from "../support/packed-project.js";

const SCAFFOLD = [
  "package.json",
  "tsconfig.json",
  "pipeline.ts",
  "test/pipeline.test.ts",
  ".gitignore",
  "README.md",
  "data/penguins.csv",
];

describe("trainyard init in this repository's build", () => {
  const root = mkdtempSync(join(tmpdir(), "ty-init-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("creates a missing folder with every scaffold file", async () => {
    const dir = join(root, "new project");
    const r = await cli(["init", dir], join(root, "home"));
    expect(r.code, r.stderr).toBe(0);
    for (const f of SCAFFOLD) expect(existsSync(join(dir, f)), f).toBe(true);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(pkg).toMatchObject({ name: "new-project", type: "module", private: true });
    expect(pkg.dependencies.trainyard).toMatch(/^\^\d+\.\d+\.\d+/);
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(["@types/node", "tsx", "typescript"]);
    expect(pkg.allowScripts).toEqual({ "better-sqlite3": true, esbuild: true, "msgpackr-extract": true });
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toMatch(/^\.trainyard\/$/m);
    expect(r.stdout).toContain("npx trainyard run pipeline.ts");
  });

  it("completes an existing package.json and .gitignore and keeps the user's other files", () => {
    const dir = join(root, "existing");
    mkdirSync(dir);
    const mine = {
      name: "mine",
      dependencies: { trainyard: "file:../trainyard-0.1.0.tgz" },
      scripts: { test: "my-test" },
    };
    writeFileSync(join(dir, "package.json"), JSON.stringify(mine));
    writeFileSync(join(dir, ".gitignore"), "node_modules/\ncoverage/");
    writeFileSync(join(dir, "README.md"), "my notes\n");
    const report = scaffoldProject(dir, { force: false });
    expect(report.completed.sort()).toEqual([".gitignore", "package.json"]);
    expect(report.kept).toEqual(["README.md"]);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(pkg.name).toBe("mine");
    expect(pkg.dependencies.trainyard).toBe("file:../trainyard-0.1.0.tgz");
    expect(pkg.scripts.test).toBe("my-test");
    expect(pkg.scripts.typecheck).toBe("tsc --noEmit");
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe("node_modules/\ncoverage/\n.trainyard/\n");
    expect(readFileSync(join(dir, "README.md"), "utf8")).toBe("my notes\n");
    const again = scaffoldProject(dir, { force: false });
    expect(again.kept).toEqual(expect.arrayContaining([".gitignore", "README.md", "pipeline.ts"]));
    scaffoldProject(dir, { force: true });
    expect(readFileSync(join(dir, "README.md"), "utf8")).toContain("Trainyard project");
  });

  it("refuses two folders and an unknown option, with the usage", async () => {
    const two = await cli(["init", "a", "b"], join(root, "home"));
    expect(two.code).toBe(2);
    expect(two.stderr).toContain("trainyard init [dir] [--force]");
    const unknown = await cli(["init", "--frce"], join(root, "home"));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--frce");
  });
});

describe("the scaffold, installed from the packed package", () => {
  let project: ScaffoldedProject;
  beforeAll(async () => {
    project = await scaffoldedProject();
  }, 15 * 60_000);

  it("was written next to the installed package, which it keeps as its dependency", () => {
    for (const f of SCAFFOLD) expect(existsSync(join(project.dir, f)), f).toBe(true);
    const pkg = JSON.parse(readFileSync(join(project.dir, "package.json"), "utf8"));
    expect(pkg.dependencies.trainyard).toMatch(/^file:.*trainyard-.*\.tgz$/);
    expect(`${project.devInstall.stdout}${project.devInstall.stderr}`).not.toMatch(/npm warn/i);
  });

  it("runs as generated, and a second run reuses every cached step", async () => {
    const first = succeeded(await runIn(project.dir, ["npx", "trainyard", "run", "pipeline.ts", "--json"]));
    const summary = JSON.parse(first.stdout) as { status: string; steps: Array<{ step: string; status: string }> };
    expect(summary.status).toBe("succeeded");
    const steps = summary.steps.map((s) => s.step);
    expect(steps).toEqual(expect.arrayContaining(["ingest", "split", "train", "gates", "deploy"]));
    const again = succeeded(await runIn(project.dir, ["npx", "trainyard", "run", "pipeline.ts", "--json"]));
    const second = JSON.parse(again.stdout);
    const reused = second.steps.filter((s: { cached: boolean }) => s.cached).map((s: { step: string }) => s.step);
    expect(reused).toEqual(expect.arrayContaining(["ingest", "split", "features", "train", "evaluate"]));
  });

  it("passes its own test (npm test) and type-checks (npm run typecheck)", async () => {
    const test = await runIn(project.dir, ["npm", "test"]);
    expect(test.code, `${test.stdout}\n${test.stderr}`).toBe(0);
    // node --test prints TAP totals ("# pass 1") on Node 20 and its spec totals ("ℹ pass 1") on Node 24.
    expect(test.stdout).toMatch(/(#|ℹ) pass 1\b/);
    expect(test.stdout).toMatch(/(#|ℹ) fail 0\b/);
    const types = await runIn(project.dir, ["npm", "run", "typecheck"]);
    expect(types.code, `${types.stdout}\n${types.stderr}`).toBe(0);
  });
});
