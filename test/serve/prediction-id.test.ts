/**
 * Prediction ids and row keys: every predict response names its prediction (body and header),
 * ids never repeat, and the sampled log keeps the id and the row keys a declared column gives,
 * while the model scores rows without that column. Real home, real server, real fetch.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { openRegistry, promoteAlias } from "../../src/lib/registry/index.js";
import { startModelServer, type ModelServer } from "../../src/serve/index.js";
import { openModelHome, trainAndRegister } from "../registry/model-home.js";
import { loadLinearPredictor } from "./linear-predictor.js";

let ty: Trainyard;
let server: ModelServer;
let url: string;

beforeAll(async () => {
  ty = await openModelHome();
  await trainAndRegister(ty, "lin", 2);
  await promoteAlias(ty, "lin", "production", 1, { actor: "test" });
  ({ server, url } = await startModelServer({
    registry: openRegistry(ty),
    artifactPath: (d) => ty.artifacts.getLocal(d),
    loadPredictor: loadLinearPredictor,
    port: 0,
    logSample: 1,
    rowKey: "flight_id",
  }));
});

afterAll(async () => {
  await server?.close();
  await ty?.close();
});

const predict = (rows: unknown[]) =>
  fetch(`${url}/v1/models/lin/production:predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ rows }),
  });

describe("prediction ids", () => {
  it("returns the id in the body and the X-Prediction-Id header, a new one per request", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await predict([{ x: i }]);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { predictionId: string; predictions: number[] };
      const predictionId = expect.any(String);
      expect(body).toEqual({ model: "lin", version: 1, alias: "production", predictionId, predictions: [2 * i + 1] });
      expect(res.headers.get("x-prediction-id")).toBe(body.predictionId);
      expect(body.predictionId).toMatch(/^[0-9a-z]+-[0-9a-z]+$/);
      ids.add(body.predictionId);
    }
    expect(ids.size).toBe(20);
  });

  it("logs the id and the row keys, and scores rows without the row-key column", async () => {
    const res = await predict([{ x: 1, flight_id: "AA-1" }, { x: 2 }, { x: 3, flight_id: 77 }]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { predictionId: string; predictions: number[] };
    expect(body.predictions).toEqual([3, 5, 7]);
    await server.close();
    const [entry] = await openRegistry(ty).listPredictionLogs({ model: "lin", alias: "production", limit: 1 });
    expect(entry).toMatchObject({
      predictionId: body.predictionId,
      rowKeys: ["AA-1", null, "77"],
      input: [{ x: 1, flight_id: "AA-1" }, { x: 2 }, { x: 3, flight_id: 77 }],
      output: [3, 5, 7],
    });
  });
});
