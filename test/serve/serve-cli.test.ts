/**
 * `trainyard serve` as a user runs it: a child process on a real home, the real bundle loader
 * (lib/serving) and a real model (fitted features + ridge regression) behind an alias.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { applyFeatures } from "../../src/lib/features/apply-features.js";
import { fitFeatures } from "../../src/lib/features/fit-features.js";
import { readRawColumns } from "../../src/lib/features/read-raw-columns.js";
import { trainRidge } from "../../src/lib/models/linear/train-ridge.js";
import { promoteAlias, registerModel } from "../../src/lib/registry/index.js";
import { BUNDLE_FORMAT, writeModelBundle } from "../../src/lib/serving/model-bundle.js";

let home: string;
let child: ChildProcess | undefined;

/** y = 3x + 2 on 200 rows, fitted through the feature library and stored as a bundle. */
async function registerRealModel(ty: Trainyard): Promise<void> {
  const csv = join(home, "train.csv");
  writeFileSync(csv, `x,y\n${Array.from({ length: 200 }, (_, i) => `${i / 10},${(3 * i) / 10 + 2}`).join("\n")}\n`);
  const fitted = await fitFeatures(csv, { transforms: [{ kind: "standardize", column: "x" }] });
  const raw = await readRawColumns(csv, { inputs: [...fitted.inputs, { name: "y", type: "number", nullable: false }] });
  const model = trainRidge(applyFeatures(fitted, raw), raw.columns.y as Float64Array, { l2: 1e-9 });
  const dir = join(home, "bundle");
  writeModelBundle(dir, {
    format: BUNDLE_FORMAT,
    task: "regression",
    label: "y",
    features: fitted,
    estimator: model.toJSON(),
    training: {},
  });
  const stored = await ty.artifacts.putDirectory(dir, { consume: true });
  await registerModel(ty, { model: "line", artifactDigest: stored.digest });
}

function startServe(): Promise<string> {
  child = spawn(
    process.execPath,
    ["bin/trainyard.js", "serve", "--home", home, "--port", "0", "--model", "line@production"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child!.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child!.on("exit", (code) => reject(new Error(`serve exited with ${code}`)));
  });
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "ty-serve-cli-"));
  const ty = await Trainyard.open({ home });
  try {
    await registerRealModel(ty);
  } finally {
    await ty.close();
  }
});

afterAll(() => {
  child?.kill("SIGTERM");
  rmSync(home, { recursive: true, force: true });
});

it("serves a real bundle behind an alias once promoted, and validates with the bundle's fields", async () => {
  const url = await startServe();
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect((await fetch(`${url}/readyz`)).status).toBe(503);

  const ty = await Trainyard.open({ home });
  await promoteAlias(ty, "line", "production", 1, { hooks: [] });
  await ty.close();
  const deadline = Date.now() + 3000;
  while ((await fetch(`${url}/readyz`)).status !== 200 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  expect((await fetch(`${url}/readyz`)).status).toBe(200);

  const predict = (body: unknown) =>
    fetch(`${url}/v1/models/line/production:predict`, { method: "POST", body: JSON.stringify(body) });
  const ok = (await (await predict({ rows: [{ x: 10 }] })).json()) as {
    version: number;
    predictions: Array<{ value: number }>;
  };
  expect(ok.version).toBe(1);
  expect(ok.predictions[0].value).toBeCloseTo(32, 3);
  const bad = await predict({ rows: [{ x: 1, extra: 2 }] });
  expect(bad.status).toBe(400);
  expect(await bad.json()).toMatchObject({ error: { field: "extra" } });
  const wrong = await predict({ rows: [{ x: "ten" }] });
  expect(await wrong.json()).toMatchObject({ error: { field: "x" } });

  const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));
  child!.kill("SIGTERM");
  expect(await exited).toBe(0);
  child = undefined;
});

it("refuses --host 0.0.0.0 without a token, and with TRAINYARD_SERVE_TOKEN serves only to its bearer", async () => {
  const bin = ["bin/trainyard.js", "serve", "--home", home, "--port", "0", "--host", "0.0.0.0"];
  const env = { ...process.env, NO_COLOR: "1", TRAINYARD_SERVE_TOKEN: "" };
  const refused = spawnSync(process.execPath, bin, { encoding: "utf8", env, timeout: 60_000 });
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toContain("SERVE_TOKEN_REQUIRED");
  expect(refused.stderr).toContain("TRAINYARD_SERVE_TOKEN");

  const token = "cli-token-0123456789abcdef";
  const withToken = { ...env, TRAINYARD_SERVE_TOKEN: token };
  child = spawn(process.execPath, bin, { stdio: ["ignore", "pipe", "pipe"], env: withToken });
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    child!.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on http:\/\/0\.0\.0\.0:(\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child!.on("exit", (code) => reject(new Error(`serve exited with ${code}`)));
  });
  const models = (headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}/v1/models`, { headers });
  expect((await models()).status).toBe(401);
  expect((await models({ authorization: `Bearer ${token}` })).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));
  child!.kill("SIGTERM");
  expect(await exited).toBe(0);
  child = undefined;
});
