/**
 * trainyard.config.ts picking PostgreSQL: runs, the registry of currentModel/register/deploy and an
 * isolated step's `ctx.services()` all use the configured database and schema (no metadata.db
 * anywhere), the CLI reads it back, and the query API pages runs there. A real PostgreSQL server.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { cli, summaryOf } from "../cli/support.js";
import { REGISTRY_PIPELINE } from "./registry-pipeline.js";
import { useHomes } from "./support.js";

const postgres = requireTools("postgresql");
const homes = useHomes();
let server: TestPostgres;

function metadataFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => path.basename(f) === "metadata.db");
}

postgres.describe("stores chosen by trainyard.config.ts: PostgreSQL", () => {
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("records runs and the registry in the configured database, for the CLI and for isolated steps", async () => {
    const project = homes.fixtureDir();
    const home = homes.tempDir("ty-cfg-pg-");
    const config = `import { defineConfig } from "trainyard";
export default defineConfig({
  metadata: { kind: "postgres", url: ${JSON.stringify(server.url)}, schema: "configured" },
});
`;
    fs.writeFileSync(path.join(project, "trainyard.config.ts"), config);
    const mod = path.join(project, "pipeline.ts");
    fs.writeFileSync(mod, REGISTRY_PIPELINE);
    const firstRun = await cli(["run", mod, "--json", "--home", home], home);
    expect(summaryOf(firstRun).status, firstRun.stderr).toBe("succeeded");
    const second = summaryOf(await cli(["run", mod, "--json", "--home", home, "--param", "slope=3"], home));
    expect(second.status).toBe("succeeded");
    expect(metadataFiles(home)).toEqual([]);
    expect(metadataFiles(project)).toEqual([]);

    const listed = await cli(["models", "list", "--json", "--home", home], home, { cwd: project });
    const models = JSON.parse(listed.stdout);
    expect(models).toMatchObject([{ name: "flights", latestVersion: 2, aliases: { production: 2 } }]);

    const ty = await Trainyard.openConfigured({ home, dir: project });
    try {
      expect(ty.metadata.backend).toBe("postgres");
      expect(await ty.output(second.runId, "audit")).toEqual({ trigger: "manual", models: ["flights"], home });
      const page = await ty.query.listRuns({ limit: 1 });
      expect(page.runs.map((r) => r.id)).toEqual([second.runId]);
      const rest = await ty.query.listRuns({ limit: 1, cursor: page.nextCursor });
      expect(rest.runs.map((r) => r.id)).toEqual([summaryOf(firstRun).runId]);
      expect(rest.nextCursor).toBeUndefined();
      expect((await ty.query.listRuns({ trigger: "manual" })).runs).toHaveLength(2);
      expect((await ty.query.listRuns({ trigger: "schedule" })).runs).toHaveLength(0);
      const detail = await ty.query.runDetail(second.runId);
      expect(detail.stepDetails.find((s) => s.stepId === "current")?.cache.decision).toBe("computed");
    } finally {
      await ty.close();
    }
    // --metadata-url wins over the config: an empty database has no runs.
    const other = await server.createDatabase("flagged");
    const flagged = await cli(["runs", "--json", "--home", home, "--metadata-url", other], home, { cwd: project });
    expect(JSON.parse(flagged.stdout)).toEqual([]);
  }, 120_000);
});
