import { describe, expect, it } from "vitest";
import {
  binaryReport,
  calibrationTable,
  demographicParityDifference,
  metricsBySlice,
  pairedBootstrap,
  rocAuc,
  truePositiveRateGap,
  MetricInputError,
} from "../../src/lib/evaluate/metrics.js";
import { seededRandom } from "../../src/lib/models/random.js";

describe("evaluation helpers", () => {
  it("computes AUC per slice and marks single-class slices NaN", () => {
    const groups = ["a", "a", "a", "a", "b", "b"];
    const y = [0, 1, 0, 1, 1, 1];
    const p = [0.1, 0.9, 0.8, 0.2, 0.5, 0.6];
    const slices = metricsBySlice(groups, y, p, rocAuc);
    expect(slices).toEqual([
      { group: "a", rows: 4, value: 0.75 },
      { group: "b", rows: 2, value: NaN },
    ]);
  });

  it("measures fairness gaps across groups", () => {
    const groups = [1, 1, 1, 1, 2, 2, 2, 2];
    const y = [1, 1, 0, 0, 1, 1, 0, 0];
    const p = [0.9, 0.8, 0.7, 0.1, 0.9, 0.1, 0.1, 0.1];
    expect(truePositiveRateGap(groups, y, p).gap).toBeCloseTo(0.5);
    expect(demographicParityDifference(groups, y, p).gap).toBeCloseTo(0.75 - 0.25);
  });

  it("builds a calibration table and a full report", () => {
    const table = calibrationTable([0, 1, 1, 0], [0.05, 0.95, 0.9, 0.15], 10);
    expect(table.map((b) => b.count)).toEqual([1, 1, 2]);
    expect(table[2]).toMatchObject({ lower: 0.9, observedRate: 1 });
    const report = binaryReport([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.6]);
    expect(report.confusion).toEqual({ tp: 1, fp: 1, tn: 1, fn: 1 });
    expect(report.rocAuc).toBe(0.75);
  });

  it("paired bootstrap is deterministic and separates a better model", () => {
    const random = seededRandom(3);
    const n = 2000;
    const y = Array.from({ length: n }, () => (random.next() < 0.4 ? 1 : 0));
    const good = y.map((v) => 0.5 * v + 0.5 * random.next());
    const weak = y.map((v) => 0.1 * v + 0.9 * random.next());
    const a = pairedBootstrap(y, good, weak, rocAuc, { resamples: 200, seed: 7 });
    const b = pairedBootstrap(y, good, weak, rocAuc, { resamples: 200, seed: 7 });
    expect(a).toEqual(b);
    expect(a.lower).toBeGreaterThan(0);
    expect(a.lower).toBeLessThanOrEqual(a.difference);
    expect(a.upper).toBeGreaterThanOrEqual(a.difference);
  });

  it("rejects mismatched inputs with a coded error", () => {
    expect(() => rocAuc([0, 1], [0.5])).toThrow(MetricInputError);
    expect(() => rocAuc([1, 1], [0.5, 0.4])).toThrow(/both classes/);
  });
});
