/**
 * trainyard.config.ts chooses the metadata and artifact stores, and library steps (currentModel,
 * register, deploy) and users' steps, isolated ones too, reach those stores through
 * `ctx.services()`: no second metadata.db appears in the home. Real CLI processes, SQLite files.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { SqliteRegistryStore } from "../../src/store/sqlite-registry-store.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { cli, summaryOf } from "../cli/support.js";
import { useHomes } from "./support.js";

const homes = useHomes();

/** train -> current production -> gates -> register -> deploy, as a module using the public entry points. */
export const REGISTRY_PIPELINE = `
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { pipeline } from "trainyard";
import { currentModel, deploy, register } from "trainyard/models";

const p = pipeline("configured-registry", { params: z.object({ slope: z.number().default(2) }) });
const train = p.step("train", {
  params: ["slope"],
  run: (ctx) => {
    mkdirSync(join(ctx.workdir, "model"));
    writeFileSync(join(ctx.workdir, "model", "bundle.json"), JSON.stringify({ slope: ctx.params.slope }));
    return { model: ctx.model("model") };
  },
});
const model = train.pick("model");
const current = currentModel(p, "current", { name: "flights", alias: "production", candidate: model });
const gates = p.step("gates", {
  inputs: { current },
  run: (_ctx, { current }) => ({
    passed: true,
    verdicts: [{ gate: "beats production", kind: "relative", status: current === null ? "no-baseline" : "pass", message: "ok" }],
  }),
});
const registered = register(p, "register", { name: "flights", model, gates });
deploy(p, "deploy", { registered, alias: "production" });
// A user's own isolated step reaching the same stores from its child process.
p.step("audit", {
  isolate: true,
  inputs: { registered },
  run: async (ctx) => {
    const services = await ctx.services();
    const run = await services.metadata.getRun(ctx.runId);
    const models = await services.registry.listModels();
    return { trigger: run?.trigger, models: models.map((m) => m.name), home: services.home };
  },
});
export default p;
`;

function writeProject(dir: string, config: string): string {
  fs.writeFileSync(path.join(dir, "trainyard.config.ts"), config);
  const mod = path.join(dir, "pipeline.ts");
  fs.writeFileSync(mod, REGISTRY_PIPELINE);
  return mod;
}

/** Every metadata.db under a directory. */
function metadataFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => path.basename(f) === "metadata.db");
}

describe("stores chosen by trainyard.config.ts", () => {
  it("keeps the registry of currentModel/register/deploy in the configured SQLite file, with no second metadata.db", async () => {
    const project = homes.fixtureDir();
    const home = homes.tempDir("ty-cfg-home-");
    const config = `import { defineConfig } from "trainyard";
export default defineConfig({ metadata: { kind: "sqlite", file: "db/records.db" }, artifacts: { kind: "fs", root: "store" } });
`;
    const mod = writeProject(project, config);
    const firstRun = await cli(["run", mod, "--json", "--home", home, "--param", "slope=2"], home);
    const first = summaryOf(firstRun);
    expect(first.status, firstRun.stderr).toBe("succeeded");
    const second = summaryOf(await cli(["run", mod, "--json", "--home", home, "--param", "slope=3"], home));
    expect(second.status).toBe("succeeded");

    expect(metadataFiles(home)).toEqual([]);
    expect(metadataFiles(project)).toEqual([]);
    expect(fs.existsSync(path.join(home, "artifacts"))).toBe(false);
    expect(fs.readdirSync(path.join(project, "store", "objects")).length).toBeGreaterThan(0);

    const metadata = new SqliteMetadataStore(path.join(project, "db", "records.db"));
    try {
      const registry = new SqliteRegistryStore(metadata);
      expect((await registry.getAlias("flights", "production"))?.version).toBe(2);
      expect((await registry.listVersions("flights")).map((v) => v.runId).sort()).toEqual([first.runId, second.runId].sort());
      expect((await metadata.listRuns()).map((r) => r.id).sort()).toEqual([first.runId, second.runId].sort());
      const audit = await metadata.getStepRun(`${second.runId}:audit`);
      expect(audit?.status).toBe("succeeded");
    } finally {
      await metadata.close();
    }

    // Commands without a module read the config of the working directory.
    const listed = await cli(["models", "list", "--json", "--home", home], home, { cwd: project });
    expect(JSON.parse(listed.stdout)).toMatchObject([{ name: "flights", latestVersion: 2 }]);
    const shown = await cli(["show", second.runId, "--json", "--home", home], home, { cwd: project });
    expect(JSON.parse(shown.stdout).run.id).toBe(second.runId);
  });

  it("gives an isolated step the run's configured stores through ctx.services()", async () => {
    const project = homes.fixtureDir();
    const home = homes.tempDir("ty-cfg-home-");
    const mod = writeProject(project, `export default { metadata: { kind: "sqlite", file: "records.db" } };\n`);
    const ty = await Trainyard.openConfigured({ home, dir: project });
    try {
      expect(ty.stores?.metadata).toEqual({ kind: "sqlite", file: path.join(project, "records.db") });
      const result = await ty.run(mod, { trigger: "schedule:nightly" });
      expect(result.status, JSON.stringify(result.error)).toBe("succeeded");
      expect(await ty.output(result.runId, "audit")).toEqual({ trigger: "schedule:nightly", models: ["flights"], home });
      expect(metadataFiles(home)).toEqual([]);
    } finally {
      await ty.close();
    }
  });
});
