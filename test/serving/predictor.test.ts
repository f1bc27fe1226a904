/**
 * Model bundles end to end: fit features, train on applyFeatures of the Parquet columns, write a
 * bundle directory, load a predictor, and score JSON rows: the scores must equal the training
 * path's, bad requests are 400s, and single-row scoring is fast.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyFeatures,
  fitFeatures,
  readRawColumns,
  FeatureInputError,
  type FeatureSpec,
  type FittedFeatures,
} from "../../src/lib/features/index.js";
import { trainGbdt, trainRidge } from "../../src/lib/models/index.js";
import {
  BundleError,
  loadPredictor,
  readModelBundle,
  writeModelBundle,
  BUNDLE_FORMAT,
  type ModelBundle,
} from "../../src/lib/serving/index.js";
import { makeTempDir, rng, writeTable, type Cell } from "../data/temp-data.js";

const tmp = makeTempDir("ty-serving-");
afterAll(() => tmp.cleanup());

const ORIGINS = ["ATL", "ORD", "DFW", "LAX"];
const rows: { date: string; distance: number; origin: string; delay: number }[] = [];
const r = rng(11);
for (let i = 0; i < 600; i++) {
  const hour = r.int(0, 23);
  const origin = ORIGINS[r.int(0, 3)];
  const distance = Math.round(r.normal(900, 300));
  rows.push({
    date: `2001-0${1 + r.int(0, 5)}-1${r.int(0, 9)} ${String(hour).padStart(2, "0")}:15:00`,
    distance,
    origin,
    delay: Math.round(hour * 2 + (origin === "ORD" ? 25 : 0) + r.normal(0, 8)),
  });
}
const labels = {
  binary: rows.map((x) => (x.delay > 30 ? 1 : 0)),
  multi: rows.map((x) => (x.delay < 15 ? 0 : x.delay < 40 ? 1 : 2)),
  value: rows.map((x) => x.delay),
};
const inputs = (x: (typeof rows)[number]) => ({ date: x.date, distance: x.distance, origin: x.origin });

const spec: FeatureSpec = {
  transforms: [
    { kind: "datepart", column: "date", parts: ["hour", "day_of_week"] },
    { kind: "standardize", column: "distance" },
    { kind: "onehot", column: "origin", topK: 3 },
  ],
};

let parquet: string;
let fitted: FittedFeatures;

beforeAll(async () => {
  parquet = tmp.path("train.parquet");
  await writeTable(
    parquet,
    { date: "TIMESTAMP", distance: "DOUBLE", origin: "VARCHAR" },
    rows.map((x) => [x.date, x.distance, x.origin] as Cell[]),
  );
  fitted = await fitFeatures(parquet, spec);
});

function bundleOf(
  task: ModelBundle["task"],
  estimator: ModelBundle["estimator"],
  classes?: (string | number)[],
): ModelBundle {
  return {
    format: BUNDLE_FORMAT,
    task,
    label: "delay",
    classes,
    features: fitted,
    estimator,
    training: { rows: rows.length },
  };
}

describe("predictor", () => {
  it("binary: predictRows on JSON equals the model on the Parquet path, labels from classes", async () => {
    const x = applyFeatures(fitted, await readRawColumns(parquet, fitted));
    const model = trainGbdt(x, labels.binary, { numRounds: 30, maxDepth: 3, threads: 1 });
    const dir = tmp.path("binary-model");
    writeModelBundle(dir, bundleOf("binary", model.toJSON(), ["on_time", "late"]));
    const predictor = await loadPredictor(dir);
    expect(predictor.inputFields.map((f) => f.name)).toEqual(["date", "distance", "origin"]);
    const predictions = await predictor.predictRows(rows.map(inputs));
    const expected = model.predict(x);
    predictions.forEach((p, i) => {
      expect(p).toEqual({ score: expected[i], label: expected[i] >= 0.5 ? "late" : "on_time" });
    });
    const acc =
      predictions.filter((p, i) => ("label" in p && p.label === "late") === (labels.binary[i] === 1)).length /
      rows.length;
    expect(acc).toBeGreaterThan(0.75);
  });

  it("multiclass: probabilities per class, label is the argmax class", async () => {
    const x = applyFeatures(fitted, await readRawColumns(parquet, fitted));
    const model = trainGbdt(x, labels.multi, {
      objective: "multi:softprob",
      numClasses: 3,
      numRounds: 20,
      maxDepth: 3,
      threads: 1,
    });
    const dir = tmp.path("multi-model");
    writeModelBundle(dir, bundleOf("multiclass", model.toJSON(), ["early", "some", "late"]));
    const predictions = await (await loadPredictor(dir)).predictRows(rows.slice(0, 50).map(inputs));
    const expected = model.predict({ ...x, columns: x.columns.map((c) => c.slice(0, 50)), rows: 50 });
    predictions.forEach((p, i) =>
      expect(p).toMatchObject({ probabilities: Array.from(expected.subarray(i * 3, i * 3 + 3)) }),
    );
    for (const p of predictions) {
      if (!("probabilities" in p)) throw new Error("expected probabilities");
      expect(p.probabilities).toHaveLength(3);
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(p.label).toBe(["early", "some", "late"][p.probabilities.indexOf(Math.max(...p.probabilities))]);
    }
  });

  it("regression: a value per row", async () => {
    const x = applyFeatures(fitted, await readRawColumns(parquet, fitted));
    const model = trainRidge(x, labels.value);
    const dir = tmp.path("ridge-model");
    writeModelBundle(dir, bundleOf("regression", model.toJSON()));
    const predictions = await (await loadPredictor(dir)).predictRows([inputs(rows[0])]);
    expect(predictions).toEqual([{ value: model.predict(x)[0] }]);
  });

  it("predictRowsSync scores like predictRows and model.predict, one row or many, call after call", async () => {
    const x = applyFeatures(fitted, await readRawColumns(parquet, fitted));
    const model = trainGbdt(x, labels.binary, { numRounds: 40, maxDepth: 4, threads: 1 });
    const dir = tmp.path("sync-model");
    writeModelBundle(dir, bundleOf("binary", model.toJSON()));
    const predictor = await loadPredictor(dir);
    const expected = model.predict(x);
    const sync = predictor.predictRowsSync!;
    // Batches of mixed sizes reuse the predictor's scratch block: no row may see another's values.
    for (const [from, to] of [
      [0, 1],
      [1, 600],
      [5, 6],
      [0, 513],
      [7, 9],
    ]) {
      expect(sync(rows.slice(from, to).map(inputs)).map((p) => ("score" in p ? p.score : NaN))).toEqual(
        Array.from(expected.subarray(from, to)),
      );
    }
    expect(await predictor.predictRows([inputs(rows[3])])).toEqual(sync([inputs(rows[3])]));
    expect(() => sync([{ ...inputs(rows[0]), distance: null }])).toThrow(FeatureInputError);
  });

  it("a bad request is a FeatureInputError (400) naming the row and field", async () => {
    const x = applyFeatures(fitted, await readRawColumns(parquet, fitted));
    const dir = tmp.path("binary-model-2");
    writeModelBundle(dir, bundleOf("binary", trainGbdt(x, labels.binary, { numRounds: 5, threads: 1 }).toJSON()));
    const predictor = await loadPredictor(dir);
    await expect(
      predictor.predictRows([inputs(rows[0]), { ...inputs(rows[1]), distance: "far" }]),
    ).rejects.toMatchObject({
      code: "WRONG_TYPE",
      field: "distance",
      row: 1,
      status: 400,
    });
    await expect(predictor.predictRows([{ date: rows[0].date, origin: "ATL" }])).rejects.toBeInstanceOf(
      FeatureInputError,
    );
    expect(predictor.classes).toEqual([0, 1]);
  });

  it("single-row scoring of a 100-tree model takes tens of microseconds", async () => {
    const x = applyFeatures(fitted, await readRawColumns(parquet, fitted));
    const dir = tmp.path("latency-model");
    writeModelBundle(
      dir,
      bundleOf("binary", trainGbdt(x, labels.binary, { numRounds: 100, maxDepth: 6, threads: 1 }).toJSON()),
    );
    const predictor = await loadPredictor(dir);
    const request = [inputs(rows[7])];
    for (let i = 0; i < 2000; i++) await predictor.predictRows(request);
    const n = 5000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await predictor.predictRows(request);
    const perRowUs = ((performance.now() - t0) / n) * 1000;
    console.log(`predictRows, 1 row, 100 trees: ${perRowUs.toFixed(1)} µs`);
    expect(perRowUs).toBeLessThan(500);
  });
});

describe("bundle validation", () => {
  it("round-trips bundle.json and rejects malformed bundles with the field at fault", () => {
    const dir = tmp.path("bad");
    const est = { format: "trainyard.linear/v1" };
    writeModelBundle(dir, bundleOf("regression", est));
    expect(readModelBundle(dir).features).toEqual(fitted);
    expect(() => writeModelBundle(dir, bundleOf("binary", est, ["a", "b", "c"]))).toThrow(BundleError);
    expect(() => writeModelBundle(dir, { ...bundleOf("multiclass", est) })).toThrow(/classes/);
    expect(() => writeModelBundle(dir, { ...bundleOf("regression", { format: "onnx", file: "../x.onnx" }) })).toThrow(
      /estimator.file/,
    );
    mkdirSync(tmp.path("corrupt"));
    writeFileSync(join(tmp.path("corrupt"), "bundle.json"), "{not json");
    expect(() => readModelBundle(tmp.path("corrupt"))).toThrow(/not valid JSON/);
    expect(() => readModelBundle(tmp.path("nowhere"))).toThrow(/cannot read bundle.json/);
  });

  it("an estimator trained on other features is refused at load time, not per request", async () => {
    const x = applyFeatures(fitted, await readRawColumns(parquet, fitted));
    const renamed = { ...x, names: x.names.map((n) => `${n}_v0`) };
    const dir = tmp.path("mismatch");
    writeModelBundle(dir, bundleOf("binary", trainGbdt(renamed, labels.binary, { numRounds: 3, threads: 1 }).toJSON()));
    await expect(loadPredictor(dir)).rejects.toMatchObject({
      code: "BUNDLE_INVALID",
      message: expect.stringContaining("date_hour_v0"),
    });
  });
});
