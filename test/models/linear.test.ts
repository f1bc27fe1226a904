import { describe, expect, it } from "vitest";
import { trainLogistic } from "../../src/lib/models/linear/train-logistic.js";
import { trainRidge } from "../../src/lib/models/linear/train-ridge.js";
import { loadModel } from "../../src/lib/models/load-model.js";
import { seededRandom } from "../../src/lib/models/random.js";

function gaussian(r: ReturnType<typeof seededRandom>): number {
  return Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next());
}

describe("linear models", () => {
  const r = seededRandom(21);
  const n = 40_000;
  // Different scales and offsets: internal standardization must undo them exactly.
  const a = Float64Array.from({ length: n }, () => gaussian(r));
  const b = Float64Array.from({ length: n }, () => 100 + 50 * gaussian(r));
  const c = Float64Array.from({ length: n }, () => 0.01 * gaussian(r));
  const x = { names: ["a", "b", "c"], columns: [a, b, c], rows: n };
  const trueW = [1.5, -0.02, 80];
  const trueB = 1.0;

  it("logistic regression recovers the generating coefficients", () => {
    const y = Float64Array.from({ length: n }, (_, i) => {
      const z = trueB + trueW[0] * a[i] + trueW[1] * b[i] + trueW[2] * c[i];
      return r.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    });
    const model = trainLogistic(x, y, { l2: 1e-8 });
    model.coefficients[0].forEach((w, j) =>
      expect(Math.abs(w - trueW[j])).toBeLessThan(0.1 * Math.abs(trueW[j]) + 0.01),
    );
    expect(Math.abs(model.intercepts[0] - trueB)).toBeLessThan(0.25);
    const again = trainLogistic(x, y, { l2: 1e-8 });
    expect(again.coefficients[0]).toEqual(model.coefficients[0]);
    expect(loadModel(JSON.parse(JSON.stringify(model.toJSON()))).predict(x)).toEqual(model.predict(x));
  });

  it("ridge regression solves least squares exactly", () => {
    const y = Float64Array.from(
      { length: n },
      (_, i) => trueB + trueW[0] * a[i] + trueW[1] * b[i] + trueW[2] * c[i] + 0.01 * gaussian(r),
    );
    const model = trainRidge(x, y, { l2: 0 });
    model.coefficients[0].forEach((w, j) => expect(w).toBeCloseTo(trueW[j], 1));
    expect(model.intercepts[0]).toBeCloseTo(trueB, 1);
  });

  it("multiclass softmax predicts rows of probabilities", () => {
    const y = Float64Array.from(a, (v) => (v < -0.5 ? 0 : v < 0.5 ? 1 : 2));
    const model = trainLogistic(x, y, { task: "multiclass", l2: 1e-6 });
    const p = model.predict(x);
    expect(model.numClasses).toBe(3);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const row = [p[3 * i], p[3 * i + 1], p[3 * i + 2]];
      expect(row[0] + row[1] + row[2]).toBeCloseTo(1, 12);
      if (row.indexOf(Math.max(...row)) === y[i]) correct++;
    }
    expect(correct / n).toBeGreaterThan(0.95);
  });
});
