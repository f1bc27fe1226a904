import { afterAll, describe, expect, it } from "vitest";
import { GbdtModel } from "../../src/lib/models/gbdt/gbdt-model.js";
import {
  CHUNK_ROWS,
  closePredictPool,
  PARALLEL_MIN_ROWS,
  predictMarginsParallel,
  predictPoolSize,
} from "../../src/lib/models/gbdt/predict-pool.js";
import { trainGbdt } from "../../src/lib/models/gbdt/train-gbdt.js";
import { syntheticBinary } from "./synthetic.js";

/** Bitwise equality, reporting the first differing row (toEqual on 60k floats is slow and vague). */
function expectSameBits(actual: Float64Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  let firstDiff = -1;
  for (let i = 0; i < expected.length && firstDiff < 0; i++) {
    if (!Object.is(actual[i], expected[i])) firstDiff = i;
  }
  expect(firstDiff).toBe(-1);
}

const train = syntheticBinary(20_000, 11, 0.1);
// Deliberately not a multiple of the chunk or block size; NaNs put some blocks on the missing-value path.
const rows = 7 * CHUNK_ROWS + 4_321;
const big = syntheticBinary(rows, 12, 0.02);

afterAll(() => closePredictPool());

describe("parallel GBDT prediction", () => {
  const model = trainGbdt(train.x, train.y, { numRounds: 40, maxDepth: 6, learningRate: 0.2, threads: 1 });

  it("equals sequential predict exactly on a batch of >= 60k rows", async () => {
    expect(rows).toBeGreaterThanOrEqual(60_000);
    const sequential = model.predict(big.x);
    for (const threads of [2, 3]) {
      expectSameBits(await model.predictAsync(big.x, { threads }), sequential);
    }
    expectSameBits(await model.predictMarginAsync(big.x, { threads: 2 }), model.predictMargin(big.x));
    expect(predictPoolSize()).toBeGreaterThanOrEqual(1);
  });

  it("gives the same margins when the workers score every chunk", async () => {
    // The caller usually claims chunks too (and may claim all of them while workers start), so
    // this pins the worker-side kernel down on its own.
    const columns = model.signature.features.map(({ name }) => big.x.columns[big.x.names.indexOf(name)]);
    for (const threads of [2, 4]) {
      expectSameBits(
        await predictMarginsParallel(model.ensemble, columns, rows, threads, model.numTrees, false),
        model.predictMargin(big.x),
      );
    }
    // Fewer trees (what validation scoring uses) goes through the same path.
    const partial = await predictMarginsParallel(model.ensemble, columns, rows, 2, 7, false);
    const full = model.predictMargin(big.x);
    expect(partial).not.toEqual(full);
  });

  it("handles infinities, all-missing blocks and reordered columns like predict", async () => {
    const cols = big.x.columns.map((c) => Float64Array.from(c));
    cols[0][5] = Infinity;
    cols[1][CHUNK_ROWS + 3] = -Infinity;
    cols[2].fill(NaN, 2 * CHUNK_ROWS, 2 * CHUNK_ROWS + 600);
    const x = { names: [...big.x.names].reverse(), columns: [...cols].reverse(), rows };
    expectSameBits(await model.predictAsync(x, { threads: 2 }), model.predict(x));
  });

  it("scores multiclass and float32 (XGBoost-imported) ensembles exactly", async () => {
    const cls = Float64Array.from(train.x.columns[0], (a, i) => (a < 0.3 ? 0 : train.x.columns[1][i] < 5 ? 1 : 2));
    const multi = trainGbdt(train.x, cls, { objective: "multi:softprob", numRounds: 8, threads: 1 });
    expectSameBits(await multi.predictAsync(big.x, { threads: 2 }), multi.predict(big.x));

    const json = model.toJSON();
    const f32 = GbdtModel.fromJSON({ ...json, float32: true });
    expectSameBits(await f32.predictAsync(big.x, { threads: 2 }), f32.predict(big.x));
  });

  it("scores small batches synchronously and rejects bad thread counts", async () => {
    const small = syntheticBinary(PARALLEL_MIN_ROWS - 1, 13);
    expectSameBits(await model.predictAsync(small.x), model.predict(small.x));
    const one = { names: small.x.names, columns: small.x.columns.map((c) => c.subarray(0, 1)), rows: 1 };
    expectSameBits(await model.predictAsync(one, { threads: 4 }), model.predict(one));
    await expect(model.predictAsync(big.x, { threads: 0 })).rejects.toThrow(/threads/);
  });

  it("serves concurrent batches and restarts the pool after it is closed", async () => {
    const expected = model.predict(big.x);
    const [a, b] = await Promise.all([
      model.predictAsync(big.x, { threads: 2 }),
      model.predictAsync(big.x, { threads: 2 }),
    ]);
    expectSameBits(a, expected);
    expectSameBits(b, expected);
    await closePredictPool();
    expectSameBits(await model.predictAsync(big.x, { threads: 2 }), expected);
  });
});
