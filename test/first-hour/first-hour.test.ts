/**
 * A new user's first hour, scripted: an empty folder, the packed package installed, `trainyard
 * init`, then a pipeline of their own on the penguins (a multiclass label, chained transforms on
 * one column, a CSV written by a command step and split), importing nothing but `trainyard` and
 * its subpaths; it type-checks, runs, is served and answers a query.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runIn, scaffoldedProject, succeeded, userEnv, type ScaffoldedProject } from "../support/packed-project.js";

const PIPELINE = `/** Penguin species from the birds' measurements, trained on a CSV a command step writes. */
import { pipeline, z } from "trainyard";
import { splitStep } from "trainyard/data";
import { deploy, evaluate, features, gates, register, train } from "trainyard/models";

const p = pipeline("penguin-species", {
  params: z.object({ minAccuracy: z.number().min(0).max(1).default(0.9) }),
});

// As a script in any language would hand over data: a CSV file among the command's outputs.
const exported = p.command("export", {
  run: (ctx) => ["cp", \`\${import.meta.dirname}/data/penguins.csv\`, \`\${ctx.out}/penguins.csv\`],
  files: ["data/penguins.csv"],
  outputs: { birds: { path: "penguins.csv", kind: "dataset" } },
});
const split = splitStep(p, "split", {
  input: exported.pick("birds"),
  split: { method: "stratified", column: "species", testFraction: 0.25, seed: 7 },
});
const trainData = split.pick("train");

const fitted = features(p, "features", {
  train: trainData,
  spec: {
    transforms: [
      { kind: "impute", column: "body_mass_g", strategy: "median" },
      { kind: "standardize", column: "body_mass_g" },
      { kind: "impute", column: "flipper_length_mm", strategy: "mean" },
      { kind: "standardize", column: "flipper_length_mm" },
      { kind: "impute", column: "beak_length_mm", strategy: "median" },
      { kind: "impute", column: "beak_depth_mm", strategy: "median" },
      { kind: "bucketize", column: "beak_depth_mm", quantiles: 8 },
      { kind: "onehot", column: "island" },
    ],
  },
});

// No task given: a text label with three species is multiclass.
const model = train(p, "train", {
  train: trainData,
  features: fitted,
  label: "species",
  algorithm: { kind: "gbdt", numRounds: 40, maxDepth: 3, learningRate: 0.2 },
});
const evaluation = evaluate(p, "evaluate", { candidate: model, data: split.pick("test"), latency: { samples: 50 } });
const checked = gates(p, "gates", {
  evaluation,
  params: ["minAccuracy"],
  gates: (params) => [{ kind: "metric", metric: "accuracy", min: params.minAccuracy }],
});
const registered = register(p, "register", { name: "penguin-species", model, gates: checked, evaluation });
deploy(p, "deploy", { registered });

export default p;
`;

describe("the first hour, from an empty folder", () => {
  let project: ScaffoldedProject;
  let server: ChildProcess | undefined;
  beforeAll(async () => {
    project = await scaffoldedProject();
    writeFileSync(join(project.dir, "penguin-species.ts"), PIPELINE);
  }, 15 * 60_000);
  afterAll(() => {
    if (server?.exitCode === null) server.kill("SIGTERM");
  });

  it("type-checks the new pipeline with the scaffold's tsconfig", async () => {
    const r = await runIn(project.dir, ["npx", "tsc", "--noEmit"]);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("runs it: the CSV splits, transforms chain, the task is inferred as multiclass, the model deploys", async () => {
    const run = await runIn(project.dir, ["npx", "trainyard", "run", "penguin-species.ts", "--json"]);
    const summary = JSON.parse(run.stdout || "{}") as {
      runId: string;
      status: string;
      steps: Array<{ step: string; status: string }>;
    };
    expect(summary.status, `${run.stdout}\n${run.stderr}`).toBe("succeeded");
    expect(summary.steps.find((s) => s.step === "deploy")?.status).toBe("succeeded");
    const logs = succeeded(await runIn(project.dir, ["npx", "trainyard", "logs", summary.runId, "train"]));
    expect(logs.stdout).toMatch(/multiclass/);
    const models = succeeded(
      await runIn(project.dir, ["npx", "trainyard", "models", "show", "penguin-species@production", "--json"]),
    );
    expect(models.stdout).toMatch(/"accuracy":\s*(0\.9\d*|1)\b/);
  });

  it("serves it and answers a query with the species", async () => {
    const bin = join(project.dir, "node_modules", ".bin", "trainyard");
    server = spawn(bin, ["serve", "--port", "0", "--model", "penguin-species@production"], {
      cwd: project.dir,
      env: userEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      server!.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server!.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      server!.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    });
    const gentoo = {
      island: "Biscoe",
      beak_length_mm: 47.5,
      beak_depth_mm: 15,
      flipper_length_mm: 218,
      body_mass_g: 4950,
    };
    // body mass unknown: the imputation fitted in training fills it, inside the server too
    const adelie = {
      island: "Torgersen",
      beak_length_mm: 38.9,
      beak_depth_mm: 17.8,
      flipper_length_mm: 181,
      body_mass_g: null,
    };
    const res = await fetch(`${url}/v1/models/penguin-species/production:predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rows: [gentoo, adelie] }),
    });
    const body = (await res.json()) as {
      predictions: Array<{ label: string; classes: string[]; probabilities: number[] }>;
    };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.predictions.map((p) => p.label)).toEqual(["Gentoo", "Adelie"]);
    for (const p of body.predictions) {
      expect(p.classes).toEqual(["Adelie", "Chinstrap", "Gentoo"]);
      expect(p.probabilities).toHaveLength(3);
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
  });
});
