/**
 * Penguins (real data, with missing measurements): transforms chain on a column as a
 * scikit-learn Pipeline (SimpleImputer -> StandardScaler -> quantile bins), the species label
 * makes training infer a multiclass task, and the model server's request path computes exactly
 * the features training computed.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import { ingestStep, splitStep, sqlStep } from "../../src/lib/data/index.js";
import { readColumns } from "../../src/lib/data/duck.js";
import { datasetSource } from "../../src/lib/data/steps/quality-steps.js";
import { applyFeatures } from "../../src/lib/features/apply-features.js";
import { fitFeatures } from "../../src/lib/features/fit-features.js";
import { readRawColumns } from "../../src/lib/features/read-raw-columns.js";
import { rowsToRawColumns } from "../../src/lib/features/rows-to-raw-columns.js";
import type { FeatureSpec, FittedFeatures } from "../../src/lib/features/feature-spec.js";
import { DataError } from "../../src/lib/data/data-error.js";
import { evaluate, features, train } from "../../src/lib/models/index.js";
import { loadPredictor } from "../../src/lib/serving/predictor.js";
import { runPipeline, type PipelineTestResult } from "../../src/testing/index.js";
import { requireTools } from "../support/require-tool.js";

const penguinsJson = join(
  dirname(createRequire(import.meta.url).resolve("vega-datasets")),
  "..",
  "data",
  "penguins.json",
);

const spec: FeatureSpec = {
  transforms: [
    { kind: "impute", column: "beak_length", strategy: "mean" },
    { kind: "standardize", column: "beak_length" },
    { kind: "bucketize", column: "beak_length", quantiles: 4 },
    // A transform with its own name reads the raw column, beside the chain.
    { kind: "minmax", column: "beak_length", name: "beak_length_01" },
    { kind: "impute", column: "body_mass", strategy: "median", indicator: true },
    { kind: "standardize", column: "body_mass" },
    { kind: "passthrough", column: "flipper_length" },
    { kind: "onehot", column: "island" },
  ],
};

function build() {
  const p = pipeline("penguins-chains");
  const raw = ingestStep(p, "ingest", { source: { path: penguinsJson, format: "json" } });
  const clean = sqlStep(p, "clean", {
    inputs: { raw },
    // Beyond the two birds with no measurements, every 10th beak and 7th mass goes missing.
    sql: `SELECT "Species" AS species, "Island" AS island,
            CASE WHEN n % 10 = 3 THEN NULL ELSE CAST("Beak Length (mm)" AS DOUBLE) END AS beak_length,
            CASE WHEN n % 7 = 2 THEN NULL ELSE CAST("Body Mass (g)" AS DOUBLE) END AS body_mass,
            CAST("Flipper Length (mm)" AS DOUBLE) AS flipper_length
          FROM (SELECT *, row_number() OVER () AS n FROM raw)`,
  });
  const parts = splitStep(p, "split", {
    input: clean,
    split: { method: "stratified", column: "species", testFraction: 0.25, seed: 7 },
  });
  const fitted = features(p, "features", { train: parts.pick("train"), spec });
  const model = train(p, "train", {
    train: parts.pick("train"),
    features: fitted,
    label: "species",
    algorithm: { kind: "gbdt", numRounds: 20, maxDepth: 3 },
  });
  evaluate(p, "evaluate", {
    candidate: model,
    data: parts.pick("test"),
    latency: { samples: 10, rounds: 1, warmup: 10 },
  });
  return p;
}

let t: PipelineTestResult;
beforeAll(async () => {
  t = await runPipeline(build());
}, 120_000);
afterAll(() => t?.cleanup());

async function stepLog(step: string): Promise<string[]> {
  const out: string[] = [];
  for await (const c of t.trainyard.query.stepLog(t.result.runId, step, {})) out.push(...c.lines);
  return out;
}

describe("chained transforms and an inferred multiclass task on penguins", () => {
  it("runs; the species label is inferred as multiclass and the log says so", async () => {
    expect(t.result.status, JSON.stringify(t.result.error)).toBe("succeeded");
    const log = (await stepLog("train")).join("\n");
    expect(log).toMatch(/task: multiclass \(label "species" is text with 3 classes \(Adelie, Chinstrap, Gentoo\)/);
    const model = await t.output("train");
    expect(model.meta.task).toBe("multiclass");
    const ev = (await t.output("evaluate")).evaluation;
    expect(ev.task).toBe("multiclass");
    expect(ev.candidate.metrics.accuracy).toBeGreaterThan(0.85);
  });

  it("chains into one feature per column and keeps an added feature beside it", async () => {
    const fitted: FittedFeatures = await t.output("features");
    expect(fitted.outputs.map((o) => o.name).slice(0, 5)).toEqual([
      "beak_length",
      "beak_length_01",
      "body_mass_missing",
      "body_mass",
      "flipper_length",
    ]);
    expect(fitted.transforms.filter((f) => "chained" in f && f.chained).map((f) => f.kind)).toEqual([
      "standardize",
      "bucketize",
      "standardize",
    ]);
    expect(fitted.inputs.map((i) => [i.name, i.nullable])).toEqual([
      ["beak_length", true],
      ["body_mass", true],
      ["flipper_length", true],
      ["island", false],
    ]);
  });

  it("serving JSON rows computes the very features and predictions training computed", async () => {
    const fitted: FittedFeatures = await t.output("features");
    const test = (await t.output("split")).test;
    const source = datasetSource(test);
    const trainTime = applyFeatures(fitted, await readRawColumns(source, fitted));
    const cols = await readColumns(source, ["island", "beak_length", "body_mass", "flipper_length"]);
    const rows = Array.from({ length: trainTime.rows }, (_, i) => {
      const num = (c: string) => {
        const v = (cols.columns[c] as { values: Float64Array }).values[i];
        return Number.isNaN(v) ? null : v;
      };
      const island = cols.columns.island as { codes: Int32Array; dictionary: string[] };
      return {
        island: island.dictionary[island.codes[i]],
        beak_length: num("beak_length"),
        body_mass: num("body_mass"),
        flipper_length: num("flipper_length"),
      };
    });
    expect(rows.filter((r) => r.beak_length === null).length).toBeGreaterThan(3);
    const serveTime = applyFeatures(fitted, rowsToRawColumns(fitted, rows));
    expect(serveTime.names).toEqual(trainTime.names);
    serveTime.columns.forEach((c, k) =>
      expect(Array.from(c), serveTime.names[k]).toEqual(Array.from(trainTime.columns[k])),
    );

    const predictor = await loadPredictor((await t.output("train")).path);
    const batch = await predictor.predictColumns(await readRawColumns(source, predictor.features));
    const served = await predictor.predictRows(rows);
    const k = predictor.classes!.length;
    served.forEach((p, i) =>
      expect((p as { probabilities: number[] }).probabilities).toEqual(Array.from(batch.subarray(i * k, (i + 1) * k))),
    );
  });

  it("a numeric transform cannot chain onto a string transform's feature", async () => {
    const bad: FeatureSpec = {
      transforms: [
        { kind: "ordinal", column: "island" },
        { kind: "standardize", column: "island" },
      ],
    };
    const test = (await t.output("split")).train;
    const err = await fitFeatures(datasetSource(test), bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).message).toContain(
      'transforms[1] (standardize) reads "island", a feature of transforms[0] (ordinal), which cannot be chained',
    );
  });
});

const sklearn = requireTools("scikit-learn");
sklearn.describe("the chain agrees with scikit-learn", () => {
  it(
    "SimpleImputer(mean) -> StandardScaler -> quantile edges and bins, " + "SimpleImputer(median) -> StandardScaler",
    async () => {
      const fitted: FittedFeatures = await t.output("features");
      const source = datasetSource((await t.output("split")).train);
      const cols = await readColumns(source, ["beak_length", "body_mass"]);
      const values = (c: string) =>
        Array.from((cols.columns[c] as { values: Float64Array }).values, (v) => (Number.isNaN(v) ? null : v));
      expect(values("beak_length").filter((v) => v === null).length).toBeGreaterThan(10);
      const script = `
import json, sys
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler
d = json.load(sys.stdin)
beak = np.array([np.nan if v is None else v for v in d["beak"]]).reshape(-1, 1)
mass = np.array([np.nan if v is None else v for v in d["mass"]]).reshape(-1, 1)
z = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()).fit_transform(beak).ravel()
edges = np.quantile(z, [0.25, 0.5, 0.75])
bins = np.searchsorted(edges, z, side="right")
m = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit_transform(mass).ravel()
print(json.dumps({"edges": edges.tolist(), "bins": bins.tolist(), "m": m.tolist()}))
`;
      const r = spawnSync("/usr/bin/python3", ["-c", script], {
        input: JSON.stringify({ beak: values("beak_length"), mass: values("body_mass") }),
        encoding: "utf8",
      });
      expect(r.status, r.stderr).toBe(0);
      const py = JSON.parse(r.stdout) as { edges: number[]; bins: number[]; m: number[] };
      const x = applyFeatures(fitted, await readRawColumns(source, fitted));
      const col = (name: string) => Array.from(x.columns[x.names.indexOf(name)]);
      col("body_mass").forEach((v, i) => expect(Math.abs(v - py.m[i])).toBeLessThan(1e-9));
      const bucket = fitted.transforms.find((f) => f.kind === "bucketize") as { edges: number[] };
      bucket.edges.forEach((e, i) => expect(Math.abs(e - py.edges[i])).toBeLessThan(1e-9));
      // The chain's last link is the feature: quartile bins of the standardized, imputed beak length.
      expect(col("beak_length")).toEqual(py.bins);
      // The named minmax saw the raw column (nulls stay missing).
      const raw = values("beak_length");
      const present = raw.filter((v): v is number => v !== null);
      const [lo, hi] = [Math.min(...present), Math.max(...present)];
      col("beak_length_01").forEach((v, i) =>
        raw[i] === null ? expect(v).toBeNaN() : expect(v).toBeCloseTo((raw[i]! - lo) / (hi - lo), 12),
      );
    },
  );
});
