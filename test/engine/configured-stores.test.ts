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
import { REGISTRY_PIPELINE } from "./registry-pipeline.js";
import { useHomes } from "./support.js";

const homes = useHomes();

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
  it("keeps currentModel/register/deploy's registry in the configured SQLite file, no second metadata.db", async () => {
    const project = homes.fixtureDir();
    const home = homes.tempDir("ty-cfg-home-");
    const config = `import { defineConfig } from "trainyard";
export default defineConfig({
  metadata: { kind: "sqlite", file: "db/records.db" },
  artifacts: { kind: "fs", root: "store" },
});
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
      const versions = await registry.listVersions("flights");
      expect(versions.map((v) => v.runId).sort()).toEqual([first.runId, second.runId].sort());
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
      const audit = await ty.output(result.runId, "audit");
      expect(audit).toEqual({ trigger: "schedule:nightly", models: ["flights"], home });
      expect(metadataFiles(home)).toEqual([]);
    } finally {
      await ty.close();
    }
  });
});
