/** The HTTP API's routes on a SQLite home. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Trainyard } from "../../src/engine/trainyard.js";
import { apiSuite } from "./api-suite.js";

apiSuite("SQLite", async () => {
  const home = mkdtempSync(join(tmpdir(), "ty-api-sqlite-"));
  const ty = await Trainyard.open({ home });
  return {
    ty,
    cleanup: async () => {
      await ty.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
});
