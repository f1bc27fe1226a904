/**
 * What `trainyard serve` tells a user, as a child process on a real home: an empty registry and
 * a broken bundle are different answers, a multiclass prediction names its classes, and the
 * request body limit is the `--max-body` option.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { applyFeatures } from "../../src/lib/features/apply-features.js";
import { fitFeatures } from "../../src/lib/features/fit-features.js";
import { readRawColumns } from "../../src/lib/features/read-raw-columns.js";
import { trainLogistic } from "../../src/lib/models/linear/train-logistic.js";
import { promoteAlias, registerModel } from "../../src/lib/registry/index.js";
import { BUNDLE_FORMAT, writeModelBundle } from "../../src/lib/serving/model-bundle.js";

const homes: string[] = [];
let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill("SIGTERM");
  child = undefined;
});
afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));

function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), "ty-serve-msg-"));
  homes.push(home);
  return home;
}

function startServe(home: string, extra: string[] = []): Promise<{ url: string; out: () => string }> {
  child = spawn(process.execPath, ["bin/trainyard.js", "serve", "--home", home, "--port", "0", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    child!.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ url: m[1], out: () => out });
    });
    child!.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (r: Response): Promise<any> => r.json();

const predict = (url: string, path: string, body: unknown) =>
  fetch(`${url}/v1/models/${path}:predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** Three text classes, two measurements: a multiclass logistic model in a real bundle. */
async function registerModels(home: string): Promise<void> {
  const ty = await Trainyard.open({ home });
  try {
    const csv = join(home, "birds.csv");
    const rows = Array.from({ length: 300 }, (_, i) => {
      const k = i % 3;
      return `${k * 2 + Math.sin(i)},${-k + Math.cos(i)},${["adelie", "chinstrap", "gentoo"][k]}`;
    });
    writeFileSync(csv, `a,b,species\n${rows.join("\n")}\n`);
    const fitted = await fitFeatures(csv, {
      transforms: [
        { kind: "standardize", column: "a" },
        { kind: "standardize", column: "b" },
      ],
    });
    const raw = await readRawColumns(csv, fitted);
    const y = Float64Array.from({ length: 300 }, (_, i) => i % 3);
    const model = trainLogistic(applyFeatures(fitted, raw), y, { task: "multiclass" });
    const good = join(home, "good");
    writeModelBundle(good, {
      format: BUNDLE_FORMAT,
      task: "multiclass",
      label: "species",
      classes: ["adelie", "chinstrap", "gentoo"],
      features: fitted,
      estimator: model.toJSON(),
      training: {},
    });
    const v1 = await registerModel(ty, {
      model: "birds",
      artifactDigest: (await ty.artifacts.putDirectory(good, { consume: true })).digest,
    });
    await promoteAlias(ty, "birds", "production", v1.version.version, { hooks: [] });
    // A bundle whose multiclass estimator lists no classes: stored intact, but not loadable.
    const broken = join(home, "broken");
    mkdirSync(broken);
    writeFileSync(
      join(broken, "bundle.json"),
      JSON.stringify({
        format: BUNDLE_FORMAT,
        task: "multiclass",
        label: "species",
        features: fitted,
        estimator: model.toJSON(),
        training: {},
      }),
    );
    const v2 = await registerModel(ty, {
      model: "birds",
      artifactDigest: (await ty.artifacts.putDirectory(broken, { consume: true })).digest,
    });
    await promoteAlias(ty, "birds", "staging", v2.version.version, { hooks: [] });
  } finally {
    await ty.close();
  }
}

describe("trainyard serve", () => {
  it("on an empty registry says so, at start and per request", async () => {
    const home = newHome();
    (await Trainyard.open({ home })).close();
    const { url, out } = await startServe(home);
    expect(out()).toContain("none: the registry has no models yet");
    const r = await predict(url, "birds/production", { rows: [{ a: 1, b: 2 }] });
    expect(r.status).toBe(404);
    expect((await json(r)).error).toMatchObject({
      code: "REGISTRY_EMPTY",
      hint: expect.stringMatching(/register and deploy steps/),
    });
  });

  it("names the classes of a multiclass prediction, and tells a broken bundle apart from a missing alias", async () => {
    const home = newHome();
    await registerModels(home);
    const { url, out } = await startServe(home);
    const ok = await predict(url, "birds/production", {
      rows: [
        { a: 4, b: -2 },
        { a: 0, b: 0 },
      ],
    });
    expect(ok.status).toBe(200);
    const [first, second] = (await json(ok)).predictions;
    expect(first.classes).toEqual(["adelie", "chinstrap", "gentoo"]);
    expect(first.probabilities).toHaveLength(3);
    expect(first.label).toBe(first.classes[first.probabilities.indexOf(Math.max(...first.probabilities))]);
    expect(first.label).toBe("gentoo");
    expect(second.label).toBe("adelie");
    const described = await json(await fetch(`${url}/v1/models/birds/production`));
    expect(described.classes).toEqual(["adelie", "chinstrap", "gentoo"]);

    const broken = await predict(url, "birds/staging", { rows: [{ a: 1, b: 2 }] });
    expect(broken.status).toBe(503);
    const err = (await json(broken)).error;
    expect(err.code).toBe("MODEL_UNAVAILABLE");
    expect(err.message).toMatch(/birds\/staging is registered but its model could not be loaded: version 2: .*classes/);
    expect(err.hint).toMatch(/rollback birds staging/);
    expect(out()).toMatch(/not serving birds\/staging: version 2/);

    const missing = await predict(url, "birds/canary", { rows: [{ a: 1, b: 2 }] });
    expect(missing.status).toBe(404);
    expect((await json(missing)).error).toMatchObject({ code: "MODEL_NOT_FOUND", hint: "served: birds/production" });
  });

  it("takes the body limit from --max-body, with units, and says how to raise it", async () => {
    const home = newHome();
    await registerModels(home);
    const { url } = await startServe(home, ["--max-body", "2KiB", "--model", "birds@production"]);
    const rows = (n: number) => ({ rows: Array.from({ length: n }, () => ({ a: 1.25, b: -0.5 })) });
    expect(JSON.stringify(rows(120)).length).toBeGreaterThan(2048);
    expect((await predict(url, "birds/production", rows(10))).status).toBe(200);
    const tooBig = await predict(url, "birds/production", rows(120));
    expect(tooBig.status).toBe(413);
    expect((await json(tooBig)).error).toMatchObject({
      code: "BODY_TOO_LARGE",
      message: "the request body exceeds 2048 bytes",
      hint: expect.stringContaining("--max-body"),
    });
    const bad = spawnSync(process.execPath, ["bin/trainyard.js", "serve", "--home", home, "--max-body", "lots"], {
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--max-body expects a size such as 1048576, 512KiB or 4MiB");
  });
});
