/** The HTTP API's routes on PostgreSQL metadata (a real server on loopback), artifacts on disk. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Trainyard } from "../../src/engine/trainyard.js";
import { startPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { apiSuite } from "./api-suite.js";

const postgres = requireTools("postgresql");

postgres.describe("PostgreSQL metadata", () => {
  apiSuite("PostgreSQL", async () => {
    const server = await startPostgres();
    const home = mkdtempSync(join(tmpdir(), "ty-api-pg-"));
    const ty = await Trainyard.open({ home, metadata: { kind: "postgres", url: server.url } });
    return {
      ty,
      cleanup: async () => {
        await ty.close();
        await server.stop();
        rmSync(home, { recursive: true, force: true });
      },
    };
  });
});
