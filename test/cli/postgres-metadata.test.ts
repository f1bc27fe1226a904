/** The CLI on a shared PostgreSQL metadata store (TRAINYARD_METADATA_URL), artifacts on disk. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";

const postgres = requireTools("postgresql");
const home = mkdtempSync(join(tmpdir(), "ty-pg-cli-"));
let server: TestPostgres;

postgres.describe("trainyard with TRAINYARD_METADATA_URL", () => {
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["bin/trainyard.js", ...args], {
      encoding: "utf8",
      env: { ...process.env, TRAINYARD_HOME: home, TRAINYARD_METADATA_URL: server.url },
    });

  it("records runs in PostgreSQL: a second run is cached, and runs/why read them back", () => {
    const first = cli("run", "test/fixtures/demo-pipeline.ts", "--json");
    expect(first.status, first.stderr).toBe(0);
    const second = JSON.parse(cli("run", "test/fixtures/demo-pipeline.ts", "--json").stdout);
    expect(second.steps.every((s: { cached: boolean }) => s.cached)).toBe(true);
    const runs = JSON.parse(cli("runs", "--json").stdout);
    expect(runs).toHaveLength(2);
    expect(cli("why", second.runId, "iso").stdout).toContain("cache hit");
  });
});
