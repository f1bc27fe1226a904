import { describe, expect, it } from "vitest";
import { logLoss, rmse, rocAuc } from "../../src/lib/evaluate/metrics.js";
import { trainGbdt } from "../../src/lib/models/gbdt/train-gbdt.js";
import { loadModel } from "../../src/lib/models/load-model.js";
import { seededRandom } from "../../src/lib/models/random.js";
import { syntheticBinary } from "./synthetic.js";

const { x, y } = syntheticBinary(20_000, 1);
const test = syntheticBinary(5_000, 2);

describe("histogram GBDT", () => {
  it("beats a constant model by a wide margin", () => {
    const model = trainGbdt(x, y, { numRounds: 60, learningRate: 0.2, maxDepth: 4 });
    const p = model.predict(test.x);
    let mean = 0;
    for (const v of y) mean += v / y.length;
    const constant = logLoss(test.y, new Float64Array(test.x.rows).fill(mean));
    expect(logLoss(test.y, p)).toBeLessThan(constant - 0.1);
    expect(rocAuc(test.y, p)).toBeGreaterThan(0.8);
  });

  it("is deterministic for a seed, with sampling, and identical across thread counts", () => {
    const opts = { numRounds: 15, subsample: 0.7, colsampleByTree: 0.67, seed: 5 };
    const a = trainGbdt(x, y, { ...opts, threads: 1 }).predict(test.x);
    const b = trainGbdt(x, y, { ...opts, threads: 1 }).predict(test.x);
    const c = trainGbdt(x, y, { ...opts, threads: 2 }).predict(test.x);
    const d = trainGbdt(x, y, { ...opts, threads: 1, seed: 6 }).predict(test.x);
    expect(b).toEqual(a);
    // Two threads sum histograms in a different order; results agree to rounding.
    for (let i = 0; i < a.length; i++) expect(Math.abs(c[i] - a[i])).toBeLessThan(1e-6);
    expect(d).not.toEqual(a);
  });

  it("learns a default direction for missing values", () => {
    const withMissing = syntheticBinary(20_000, 3, 0.3);
    const heldOut = syntheticBinary(5_000, 4, 0.3);
    const model = trainGbdt(withMissing.x, withMissing.y, { numRounds: 40, maxDepth: 4, learningRate: 0.2 });
    const p = model.predict(heldOut.x);
    // Rows with missing c have a higher positive rate (+1.5 margin); the model must know that.
    let missingMean = 0;
    let presentMean = 0;
    let nm = 0;
    for (let i = 0; i < heldOut.x.rows; i++) {
      if (Number.isNaN(heldOut.x.columns[2][i])) {
        missingMean += p[i];
        nm++;
      } else presentMean += p[i];
    }
    expect(missingMean / nm).toBeGreaterThan(presentMean / (heldOut.x.rows - nm) + 0.1);
    expect(rocAuc(heldOut.y, p)).toBeGreaterThan(0.8);
  });

  it("stops early on a validation set and keeps the best rounds", () => {
    const model = trainGbdt(x, y, {
      numRounds: 500,
      learningRate: 0.5,
      maxDepth: 6,
      minChildWeight: 0,
      validation: { features: test.x, label: test.y },
      earlyStoppingRounds: 5,
    });
    const h = model.history!;
    expect(h.validation.length).toBeLessThan(500);
    expect(h.validation.length).toBe(h.bestRound + 1 + 5);
    expect(model.numTrees).toBe(h.bestRound + 1);
    expect(logLoss(test.y, model.predict(test.x))).toBeCloseTo(h.validation[h.bestRound], 10);
  });

  it("round-trips through JSON with identical predictions", () => {
    const model = trainGbdt(x, y, { numRounds: 10 });
    const text = JSON.stringify(model.toJSON());
    const loaded = loadModel(JSON.parse(text));
    expect(loaded.predict(test.x)).toEqual(model.predict(test.x));
    expect(loaded.signature).toEqual(model.signature);
  });

  it("fits regression and multiclass objectives", () => {
    const r = seededRandom(9);
    const n = 5000;
    const a = Float64Array.from({ length: n }, () => r.next());
    const b = Float64Array.from({ length: n }, () => r.next());
    const target = Float64Array.from(a, (v, i) => 3 * v + (b[i] > 0.5 ? 2 : 0) + 0.1 * r.next());
    const features = { names: ["a", "b"], columns: [a, b], rows: n };
    const reg = trainGbdt(features, target, { objective: "reg:squarederror", numRounds: 50 });
    expect(rmse(target, reg.predict(features))).toBeLessThan(0.2);

    const cls = Float64Array.from(a, (v, i) => (v < 0.33 ? 0 : b[i] < 0.5 ? 1 : 2));
    const multi = trainGbdt(features, cls, { objective: "multi:softprob", numRounds: 20 });
    const proba = multi.predict(features);
    expect(proba.length).toBe(n * 3);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const row = [proba[3 * i], proba[3 * i + 1], proba[3 * i + 2]];
      expect(row[0] + row[1] + row[2]).toBeCloseTo(1, 12);
      if (row.indexOf(Math.max(...row)) === cls[i]) correct++;
    }
    expect(correct / n).toBeGreaterThan(0.97);
  });

  it("limits leaves per tree with maxLeaves", () => {
    const model = trainGbdt(x, y, { numRounds: 3, maxDepth: 8, maxLeaves: 5 });
    const trees = model.toJSON().trees;
    for (const t of trees) expect(t.left.filter((l) => l < 0).length).toBeLessThanOrEqual(5);
  });
});
