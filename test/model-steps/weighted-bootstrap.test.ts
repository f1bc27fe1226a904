import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pairedPoissonBootstrap, weightedMetric } from "../../src/lib/evaluate/weighted-bootstrap.js";
import { rocAuc } from "../../src/lib/evaluate/ranking-metrics.js";
import { logLoss } from "../../src/lib/evaluate/probability-metrics.js";

describe("Poisson paired bootstrap", () => {
  it("weighted AUC and log loss with unit weights equal the plain metrics (ties included)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 9 })), { minLength: 4, maxLength: 200 }),
        (rows) => {
          const y = Float64Array.from(rows, ([b]) => (b ? 1 : 0));
          if (!y.includes(0) || !y.includes(1)) return;
          const p = Float64Array.from(rows, ([, s]) => s / 10);
          const ones = new Float64Array(y.length).fill(1);
          expect(weightedMetric("auc", y, p, ones)).toBeCloseTo(rocAuc(y, p), 12);
          expect(weightedMetric("log_loss", y, p, ones)).toBeCloseTo(logLoss(y, p), 12);
        },
      ),
    );
  });

  it("integer weights equal repeating rows", () => {
    const y = Float64Array.from([0, 1, 0, 1, 1, 0]);
    const p = Float64Array.from([0.1, 0.8, 0.8, 0.3, 0.9, 0.2]);
    const w = Float64Array.from([2, 1, 0, 3, 1, 1]);
    const ry: number[] = [];
    const rp: number[] = [];
    w.forEach((k, i) => {
      for (let j = 0; j < k; j++) ry.push(y[i]), rp.push(p[i]);
    });
    expect(weightedMetric("auc", y, p, w)).toBeCloseTo(rocAuc(ry, rp), 12);
  });

  it("separates a clearly better model and not two identical ones", () => {
    const n = 4000;
    let s = 1;
    const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
    const y = new Float64Array(n);
    const good = new Float64Array(n);
    const weak = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = rand() < 0.5 ? 1 : 0;
      good[i] = Math.min(1, Math.max(0, 0.5 + (y[i] - 0.5) * 0.6 + (rand() - 0.5) * 0.6));
      weak[i] = Math.min(1, Math.max(0, 0.5 + (y[i] - 0.5) * 0.2 + (rand() - 0.5) * 0.6));
    }
    const better = pairedPoissonBootstrap(y, good, weak, "auc", { resamples: 100, seed: 3 });
    expect(better.low).toBeGreaterThan(0);
    const same = pairedPoissonBootstrap(y, good, good, "auc", { resamples: 50 });
    expect(same.low).toBe(0);
    expect(same.high).toBe(0);
  });
});
