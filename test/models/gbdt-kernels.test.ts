import { describe, expect, it } from "vitest";
import { RowExecutor } from "../../src/lib/models/gbdt/row-executor.js";
import { expTable, fastExp, NODE_FIELDS } from "../../src/lib/models/gbdt/row-kernels.js";
import { binFeatures, binOf, binRowStride } from "../../src/lib/models/gbdt/quantile-cuts.js";
import { trainGbdt } from "../../src/lib/models/gbdt/train-gbdt.js";

describe("GBDT row kernels", () => {
  it("computes exp within a few ulps of Math.exp, and the same float32 logistic gradients", () => {
    const t = expTable();
    let worst = 0;
    let differ = 0;
    for (let i = 0; i <= 200_000; i++) {
      const x = -130 + (260 * i) / 200_000;
      const clamped = Math.min(Math.max(x, -120), 120);
      const a = fastExp(t, x);
      const b = Math.exp(clamped);
      worst = Math.max(worst, Math.abs(a - b) / b);
      if (Math.fround(1 / (1 + a)) !== Math.fround(1 / (1 + Math.exp(x)))) differ++;
    }
    expect(differ).toBe(0);
    expect(worst).toBeLessThan(1e-14);
    expect(fastExp(t, 0)).toBe(1);
  });

  it("routes rows through a pending split exactly like the scalar rule, missing values included", () => {
    // 5 features -> 8-byte rows read as 32-bit words; feature 3 is the split feature.
    for (const features of [3, 5, 9]) {
      const stride = binRowStride(features);
      const rows = 64;
      const bins = new Uint8Array(rows * stride);
      for (let r = 0; r < rows; r++) for (let f = 0; f < features; f++) bins[r * stride + f] = (r * 7 + f * 13) % 11;
      const split = features - 1;
      for (const [threshold, missingBin, defaultLeft] of [
        [4, 10, true],
        [4, 10, false],
        [0, -1, true],
        [9, 10, false],
      ] as const) {
        const exec = new RowExecutor(
          { rows, nFeatures: features, maxBin: 16, outputs: 1, maxNodes: 4, maxSlots: 1 },
          bins,
          1,
        );
        const t = 0;
        exec.nodes.set([split, threshold, defaultLeft ? missingBin : -1, 0, 1, 2, -1, 0], t);
        exec.nodes[NODE_FIELDS] = -1;
        exec.nodes[2 * NODE_FIELDS] = -1;
        exec.leafValue.set([0, 1, 2]);
        exec.applyLeaves(0);
        for (let r = 0; r < rows; r++) {
          const b = bins[r * stride + split];
          const left = b === missingBin ? defaultLeft : b <= threshold;
          expect(exec.pred[r]).toBe(left ? 1 : 2);
          expect(exec.pos[r]).toBe(0);
        }
        exec.close();
      }
    }
  });
  it("partitions row lists per thread: every layout (records, words, bytes) fits a known tree", () => {
    // 3 and 5 features use 4- and 8-byte rows (per-row records), 9 features the byte path. The label
    // is a depth-2 rule on the first and last features, with missing values in the last.
    for (const features of [3, 5, 9]) {
      const rows = 24_000;
      let s = features;
      const rand = (): number => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
      const columns = Array.from({ length: features }, () => new Float64Array(rows));
      const y = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        for (let f = 0; f < features; f++) columns[f][r] = rand();
        if (r % 17 === 0) columns[features - 1][r] = NaN;
        const last = columns[features - 1][r];
        y[r] = columns[0][r] > 0.5 ? (last !== last || last > 0.3 ? 1 : 0) : 0;
      }
      const x = { names: columns.map((_, f) => `f${f}`), columns, rows };
      const one = trainGbdt(x, y, { numRounds: 20, maxDepth: 3, threads: 1 }).predict(x);
      const two = trainGbdt(x, y, { numRounds: 20, maxDepth: 3, threads: 2 }).predict(x);
      let right = 0;
      for (let r = 0; r < rows; r++) {
        if ((one[r] > 0.5 ? 1 : 0) === y[r]) right++;
        expect(Math.abs(two[r] - one[r])).toBeLessThan(1e-6);
      }
      expect(right / rows).toBeGreaterThan(0.98);
    }
  });

  it("keeps margins right when a tree after the first cannot split (its rows stay at the root)", () => {
    // The first tree fits y exactly with one split and leaves both children unsplit; every later
    // tree has nothing left to gain and stays a single root leaf.
    const rows = 30_000;
    const a = new Float64Array(rows);
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      a[r] = (r * 7) % 3;
      y[r] = a[r] === 2 ? 10 : 0;
    }
    const x = { names: ["a"], columns: [a], rows };
    for (const threads of [1, 2]) {
      const model = trainGbdt(x, y, {
        objective: "reg:squarederror",
        numRounds: 4,
        maxDepth: 3,
        learningRate: 1,
        lambda: 0,
        threads,
      });
      const p = model.predict(x);
      let worst = 0;
      for (let r = 0; r < rows; r++) worst = Math.max(worst, Math.abs(p[r] - y[r]));
      expect(worst).toBeLessThan(1e-9);
    }
  });

  it("bins integer codes through the lookup table exactly like the binary search", () => {
    const rows = 250_000; // above the sketch sample, so cuts come from a sorted sample
    const ints = Float64Array.from({ length: rows }, (_, r) => ((r * 7919) % 5003) - 40);
    const mixed = Float64Array.from({ length: rows }, (_, r) =>
      r % 3 === 0 ? (r % 97) + 0.5 : r % 11 === 0 ? NaN : r % 301,
    );
    const huge = Float64Array.from({ length: rows }, (_, r) => (r % 5) * 1e9);
    const missing = new Float64Array(rows).fill(NaN);
    const columns = [ints, mixed, huge, missing];
    const b = binFeatures(columns, rows, { maxBin: 256, seed: 3 });
    for (let j = 0; j < columns.length; j++) {
      for (let r = 0; r < rows; r++) {
        const x = columns[j][r];
        const expected = x !== x ? b.missingBin[j] : binOf(b.cuts[j], x);
        if (b.bins[r * b.rowStride + j] !== expected)
          expect([j, r, b.bins[r * b.rowStride + j]]).toEqual([j, r, expected]);
      }
    }
  });
});
