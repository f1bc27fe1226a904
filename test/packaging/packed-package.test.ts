// The published package: what `npm pack` holds, that it installs into an empty folder without a
// warning, and that a pipeline there needs nothing but `trainyard`.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../engine/support.js";
import {
  installedProject,
  packedTarball,
  readmeStartProject,
  runIn,
  succeeded,
  useLocalPrebuild,
  type InstalledProject,
} from "../support/packed-project.js";

const TIMEOUT = 15 * 60_000;

// The shared installs below mostly wait on the registry: they start now and proceed while the tests
// before them run; each test that needs one awaits it (and fails with its error).
beforeAll(() => {
  for (const shared of [installedProject(), readmeStartProject()]) shared.catch(() => undefined);
});

describe("npm pack", () => {
  let files: string[];
  let manifest: Record<string, any>;
  let extracted: string;
  beforeAll(async () => {
    const { path } = await packedTarball();
    extracted = mkdtempSync(join(tmpdir(), "trainyard-packed-"));
    execFileSync("tar", ["-xzf", path, "-C", extracted]);
    files = execFileSync("tar", ["-tzf", path], { encoding: "utf8" }).split("\n").filter(Boolean);
    manifest = JSON.parse(execFileSync("tar", ["-xzOf", path, "package/package.json"], { encoding: "utf8" }));
  }, TIMEOUT);
  afterAll(() => extracted && rmSync(extracted, { recursive: true, force: true }));

  it("ships the built JavaScript, declaration files for every export, the bin and the init templates", () => {
    const exports = manifest.exports as Record<string, { types: string; default: string }>;
    for (const [subpath, entry] of Object.entries(exports)) {
      expect(files, `${subpath} code`).toContain(`package/${entry.default.slice(2)}`);
      expect(files, `${subpath} types`).toContain(`package/${entry.types.slice(2)}`);
      expect(entry.types, subpath).toMatch(/^\.\/dist\/types\/.*\.d\.ts$/);
    }
    expect(files).toContain("package/bin/trainyard.js");
    expect(files).toContain("package/bin/v8-flags.js"); // imported by bin/trainyard.js
    expect(files).toContain("package/dist/cli/entry.js");
    expect(files).toContain("package/dist/engine/child-entry.js");
    expect(files).toContain("package/templates/init/data/penguins.csv");
    expect(files).toContain("package/templates/init/gitignore");
    expect(files.filter((f) => /^package\/(src|test|bench|examples)\//.test(f))).toEqual([]);
  });

  it("ships no chunk that no other built file imports (no leftovers of earlier builds)", () => {
    const js = files.filter((f) => /^package\/dist\/.*\.js$/.test(f));
    const chunks = js.filter((f) => f.startsWith("package/dist/chunks/"));
    expect(chunks.length).toBeGreaterThan(0);
    const texts = new Map(js.map((f) => [f, readFileSync(join(extracted, f), "utf8")]));
    const unused = chunks.filter((chunk) => {
      const name = chunk.slice(chunk.lastIndexOf("/") + 1);
      return ![...texts].some(([f, text]) => f !== chunk && text.includes(name));
    });
    expect(unused).toEqual([]);
  });

  it("declares only runtime needs as dependencies; onnxruntime-node is an optional peer", () => {
    const deps = Object.keys(manifest.dependencies);
    for (const dev of ["onnxruntime-node", "tsx", "vega-datasets", "typescript", "vitest"]) {
      expect(deps).not.toContain(dev);
    }
    expect(deps).toEqual(expect.arrayContaining(["better-sqlite3", "@duckdb/node-api", "esbuild", "zod"]));
    expect(manifest.peerDependencies["onnxruntime-node"]).toBeTruthy();
    expect(manifest.peerDependenciesMeta["onnxruntime-node"].optional).toBe(true);
    expect(manifest.scripts.prepare).toBeUndefined(); // a lifecycle script a consumer's npm would list
    for (const oldest of ["20.19.0", "22.12.0", "24.0.0"]) {
      expect(satisfies(oldest, manifest.engines.node), oldest).toBe(true);
    }
    expect(satisfies("18.20.0", manifest.engines.node)).toBe(false);
  });
});

describe("the packed package installed in a folder without a package.json", () => {
  // npm 11 lists every dependency install script a project has not approved; the three native parts
  // (better-sqlite3's addon, esbuild's binary check, the queue's msgpack codec) cannot ship without
  // one, so a project approves them in its package.json (`trainyard init` and docs/new-project.md
  // do): nothing else may warn.
  it(
    "warns only about the three install scripts a project approves in allowScripts",
    async () => {
      const { path: tarball } = await packedTarball();
      const dir = mkdtempSync(join(tmpdir(), "trainyard-bare-"));
      try {
        await useLocalPrebuild(dir, dir);
        const install = succeeded(await runIn(dir, ["npm", "i", tarball]));
        const warnings = `${install.stdout}\n${install.stderr}`.split("\n").filter((l) => /npm (warn|WARN)/.test(l));
        const other = warnings.filter((l) => !l.startsWith("npm warn install-scripts"));
        expect(other).toEqual([]);
        const named = warnings.flatMap((l) => /install-scripts {3}(\S+)@/.exec(l)?.[1] ?? []).sort();
        expect(named).toEqual(["better-sqlite3", "esbuild", "msgpackr-extract"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );
});

describe("README's sequence for a new project, typed in an empty folder", () => {
  // The approval of install scripts must be in package.json before npm installs anything, or npm
  // 11 lists the unapproved scripts: `npx -y trainyard init` writes it, then `npm install` reads it.
  it(
    "shows no npm warning, runs the scaffold, and the project depends on the build it was made by",
    async () => {
      const start = await readmeStartProject();
      expect(start.block).toMatch(/^npx -y trainyard init my-app && cd my-app && npm install\b/);
      const output = `${start.output.stdout}\n${start.output.stderr}`;
      expect(output.split("\n").filter((l) => /npm (warn|WARN|error|ERR)/.test(l))).toEqual([]);
      expect(output).toContain("scaffolded a Trainyard project in my-app");
      expect(start.dir.endsWith("/my-app")).toBe(true);
      const pkg = JSON.parse(readFileSync(join(start.dir, "package.json"), "utf8"));
      expect(pkg.dependencies.trainyard).toMatch(/^file:.*trainyard-.*\.tgz$/);
      expect(pkg.allowScripts).toEqual({ "better-sqlite3": true, esbuild: true, "msgpackr-extract": true });
      expect(existsSync(join(start.dir, "node_modules", "trainyard", "dist", "index.js"))).toBe(true);
      expect(existsSync(join(start.dir, ".trainyard"))).toBe(true); // the README's `npx trainyard run` ran
    },
    TIMEOUT,
  );
});

describe("the packed package installed in an empty folder", () => {
  let project: InstalledProject;
  beforeAll(async () => {
    project = await installedProject();
  }, TIMEOUT);

  it("installs without a single npm warning, and without the optional ONNX runtime or dev tools", () => {
    const output = `${project.install.stdout}\n${project.install.stderr}`;
    expect(output.split("\n").filter((l) => /npm (warn|WARN|error|ERR)/.test(l))).toEqual([]);
    // As the install left it: another test file may have scaffolded a project there since.
    expect(project.installed).toContain("trainyard");
    for (const absent of ["onnxruntime-node", "tsx", "vega-datasets"]) expect(project.installed).not.toContain(absent);
    expect(existsSync(join(project.dir, "node_modules", "trainyard", "dist", "index.js"))).toBe(true);
  });

  it("answers `npx trainyard help`", async () => {
    const r = succeeded(await runIn(project.dir, ["npx", "trainyard", "help"]));
    expect(r.stdout).toMatch(/\n {2}init +scaffold a project/);
    expect(r.stderr).toBe("");
  });

  it("runs a pipeline outside the repository that imports nothing but trainyard (z included)", async () => {
    const dir = join(project.dir, "outside");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "pipeline.ts"),
      [
        'import { pipeline, z } from "trainyard";',
        'const p = pipeline("outside", { params: z.object({ n: z.number().int().default(4) }) });',
        'const numbers = p.step("numbers", {',
        '  params: ["n"],',
        "  run: (ctx) => Array.from({ length: ctx.params.n }, (_, i) => i + 1),",
        "});",
        'p.step("total", { inputs: { numbers }, run: (_ctx, { numbers }) => numbers.reduce((a, b) => a + b, 0) });',
        "export default p;",
        "",
      ].join("\n"),
    );
    const run = succeeded(await runIn(dir, ["npx", "trainyard", "run", "pipeline.ts", "--param", "n=5", "--json"]));
    expect(JSON.parse(run.stdout).status).toBe("succeeded");
    expect(existsSync(join(dir, ".trainyard"))).toBe(true);
    // trainyard/testing from outside the repository too: the step's stored output.
    writeFileSync(
      join(dir, "check.mjs"),
      'import { runPipeline } from "trainyard/testing";\n' +
        'const t = await runPipeline("pipeline.ts", { params: { n: 5 } });\n' +
        'console.log(JSON.stringify({ status: t.result.status, total: await t.output("total") }));\n' +
        "await t.cleanup();\n",
    );
    const check = succeeded(await runIn(dir, ["node", "check.mjs"]));
    expect(JSON.parse(check.stdout)).toEqual({ status: "succeeded", total: 15 });
  });

  it("type-checks that pipeline against the shipped declaration files, and catches a type error", async () => {
    const dir = join(project.dir, "outside");
    const tsconfig = {
      compilerOptions: {
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
    };
    writeFileSync(
      join(dir, "wrong.ts"),
      'import { pipeline, z } from "trainyard";\n' +
        'const p = pipeline("wrong", { params: z.object({ n: z.number() }) });\n' +
        'p.step("s", { params: ["n"], run: (ctx) => { const text: string = ctx.params.n; return text; } });\n',
    );
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ ...tsconfig, files: ["pipeline.ts", "wrong.ts"] }));
    // One compiler run: the pipeline is clean, the wrong file has exactly its one error.
    const r = await runIn(dir, ["node", join(REPO, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);
    expect(r.code).not.toBe(0);
    const errors = r.stdout.split("\n").filter((l) => /error TS\d+/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^wrong\.ts\(3,.*TS2322: Type 'number' is not assignable to type 'string'/);
  });

  it("loads onnxruntime-node only for ONNX models, and says how to install it when it is missing", async () => {
    const script = [
      'import { OnnxModel } from "trainyard/models";',
      "try {",
      '  await OnnxModel.load(new Uint8Array(8), { task: "regression", signature: [] });',
      '  console.log("loaded");',
      "} catch (err) {",
      "  console.log(JSON.stringify({ code: err.code, message: err.message, hint: err.hint }));",
      "}",
    ].join("\n");
    writeFileSync(join(project.dir, "onnx-check.mjs"), script);
    const r = succeeded(await runIn(project.dir, ["node", "onnx-check.mjs"]));
    const err = JSON.parse(r.stdout);
    expect(err.code).toBe("OPTIONAL_DEPENDENCY_MISSING");
    expect(err.message).toContain("onnxruntime-node");
    expect(err.hint).toContain("npm i onnxruntime-node");
  });
});

/** Whether `version` satisfies an engines range of `^x.y.z || ...` alternatives. */
function satisfies(version: string, range: string): boolean {
  const [maj, min, pat] = version.split(".").map(Number);
  return range.split("||").some((alt) => {
    const m = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(alt);
    if (!m) throw new Error(`unexpected engines range ${alt}`);
    const [a, b, c] = m.slice(1).map(Number);
    return maj === a && (min > b || (min === b && pat >= c));
  });
}
