/**
 * Every TypeScript block of the README and docs/ compiles against the real library, and the
 * blocks marked `<!-- docs-test: run -->` run as pipelines, so the docs cannot drift from the API.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { cli, summaryOf } from "../cli/support.js";
import { REPO } from "../engine/support.js";
import { docModules, docPages, type DocModule } from "./doc-blocks.js";

const OUT = join(REPO, "test-output", "docs-blocks");
const COMPANIONS = join(REPO, "test", "docs", "companions");
const modules: DocModule[] = docPages(REPO).flatMap(docModules);

function typeErrors(files: string[]): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(REPO, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    },
  );
  if (!config) throw new Error("tsconfig.json could not be read");
  const program = ts.createProgram(files, { ...config.options, noEmit: true, types: ["node"] });
  const wanted = new Set(files);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && wanted.has(d.file.fileName))
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      const mod = modules.find((m) => d.file!.fileName.endsWith(`/${m.name}`));
      return `${mod?.source ?? d.file!.fileName} (+${line}): ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
    });
}

describe("the docs' code", () => {
  it("every TypeScript block compiles against the library", () => {
    expect(modules.length).toBeGreaterThanOrEqual(8);
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    for (const m of modules) writeFileSync(join(OUT, m.name), `${m.code}\n`);
    for (const f of ["churn-lib.ts", "pipeline.ts"]) copyFileSync(join(COMPANIONS, f), join(OUT, f));
    expect(typeErrors(modules.map((m) => join(OUT, m.name)))).toEqual([]);
  }, 120_000);

  it("a type error in a block is reported against its page and line", () => {
    const dir = join(REPO, "test-output", "docs-blocks-broken");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const broken = join(dir, "broken.ts");
    writeFileSync(
      broken,
      'import { pipeline } from "trainyard";\nconst n: number = "x";\nexport default pipeline(n);\n',
    );
    expect(typeErrors([broken]).join("\n")).toMatch(/not assignable to type 'number'/);
  }, 120_000);

  it.each(modules.filter((m) => m.run).map((m) => [m.source, m] as const))(
    "%s runs end to end",
    async (_source, m) => {
      const dir = join(REPO, "test-output", "docs-run", m.name.replace(/\.ts$/, ""));
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, "data"), { recursive: true });
      const vega = join(dirname(createRequire(import.meta.url).resolve("vega-datasets")), "..", "data");
      copyFileSync(join(vega, "seattle-weather.csv"), join(dir, "data", "seattle-weather.csv"));
      writeFileSync(join(dir, "pipeline.ts"), `${m.code}\n`);
      const home = join(dir, ".trainyard");
      const r = await cli(["run", "pipeline.ts", "--json"], home, { cwd: dir });
      const summary = summaryOf(r);
      expect(summary.status, r.stderr).toBe("succeeded");
      expect(summary.steps.every((s) => s.status === "succeeded")).toBe(true);
      const again = summaryOf(await cli(["run", "pipeline.ts", "--json"], home, { cwd: dir }));
      expect(again.steps.filter((s) => s.cached).length).toBeGreaterThan(0);
    },
    180_000,
  );
});
