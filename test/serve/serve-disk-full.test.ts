/**
 * The model server on a disk that fills up and frees again, for real: its home (SQLite registry
 * and prediction log) on a 16 MiB tmpfs, every request logged. While the disk is full every
 * prediction is still answered; the failed log writes are said once, with what to do, not every
 * 250 ms (a line per failure would fill the disk in turn); once space is back the log says it
 * recovered and the prediction log takes rows again.
 */
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { openRegistry, promoteAlias } from "../../src/lib/registry/index.js";
import { startModelServer } from "../../src/serve/index.js";
import { waitFor } from "../engine/support.js";
import { openModelHome, trainAndRegister } from "../registry/model-home.js";
import { requireTools } from "../support/require-tool.js";
import { mountSmallDisk, type SmallDisk } from "../support/small-disk.js";
import { loadLinearPredictor } from "./linear-predictor.js";

const gate = requireTools("tmpfs");
gate.describe("the model server on a disk that fills up", () => {
  let disk: SmallDisk;
  let ty: Trainyard;
  beforeAll(async () => {
    disk = mountSmallDisk(16);
    ty = await openModelHome(path.join(disk.path, "home"));
    await trainAndRegister(ty, "lin", 2);
    await promoteAlias(ty, "lin", "production", 1, { actor: "test" });
  });
  afterAll(async () => {
    await ty?.close();
    disk?.remove();
  });

  gate.it("answers every prediction, says once that logging fails, and logs again once space is back", async () => {
    const lines: string[] = [];
    const registry = openRegistry(ty);
    const { url, server } = await startModelServer({
      registry,
      artifactPath: (d) => ty.artifacts.getLocal(d),
      loadPredictor: loadLinearPredictor,
      port: 0,
      logSample: 1,
      onEvent: (line) => lines.push(line),
    });
    const predict = async (x: number) => {
      const res = await fetch(`${url}/v1/models/lin/production:predict`, {
        method: "POST",
        body: JSON.stringify({ rows: [{ x }] }),
      });
      return { status: res.status, body: (await res.json()) as { predictions: number[] } };
    };
    const logged = async () => (await registry.listPredictionLogs({ model: "lin", limit: 100_000 })).length;
    try {
      expect((await predict(1)).status).toBe(200);
      await waitFor(async () => (await logged()) >= 1, "the first prediction logged");
      disk.fill();
      // Three seconds of traffic: a dozen flushes fail.
      for (let i = 0; i < 60; i++) {
        const r = await predict(i);
        expect(r.status).toBe(200);
        expect(r.body.predictions).toHaveLength(1);
        await new Promise((r) => setTimeout(r, 50));
      }
      const failures = lines.filter((l) => /prediction log write (failed|still failing)/.test(l));
      expect(failures, lines.join("\n")).toHaveLength(1);
      expect(failures[0]).toMatch(/database or disk is full \(the metadata database cannot grow: the disk is full/);

      disk.free();
      const before = await logged();
      for (let i = 0; i < 5; i++) expect((await predict(100 + i)).status).toBe(200);
      await waitFor(async () => (await logged()) >= before + 5, "predictions logged again");
      expect(lines.join("\n")).toMatch(/prediction log write recovered after [\d.]+ s of failures/);
    } finally {
      await server.close(100);
    }
  });
});
