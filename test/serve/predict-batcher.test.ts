import { describe, expect, it } from "vitest";
import { PredictBatcher } from "../../src/serve/predict-batcher.js";
import type { ServedPredictor } from "../../src/serve/predictor-port.js";
import { loadLinearPredictor, writeLinearBundle } from "./linear-predictor.js";

/** The test predictor, counting its calls. */
async function counted(): Promise<{ predictor: ServedPredictor; calls: number[] }> {
  const inner = await loadLinearPredictor(writeLinearBundle({ label: "y", weights: { x: 2 }, bias: 1 }));
  const calls: number[] = [];
  return { calls, predictor: { ...inner, predictRows: (rows) => (calls.push(rows.length), inner.predictRows(rows)) } };
}

describe("PredictBatcher", () => {
  it("scores concurrent requests in one call and hands each its own predictions", async () => {
    const { predictor, calls } = await counted();
    const b = new PredictBatcher(predictor);
    const out = await Promise.all(
      Array.from({ length: 10 }, (_, i) => b.predict(Array.from({ length: i + 1 }, (_, j) => ({ x: i * 100 + j })))),
    );
    expect(calls).toEqual([55]);
    out.forEach((preds, i) => expect(preds).toEqual(Array.from({ length: i + 1 }, (_, j) => 2 * (i * 100 + j) + 1)));
  });

  it("answers each request alone when one of the batch is bad, with its own row numbers", async () => {
    const { predictor } = await counted();
    const b = new PredictBatcher(predictor);
    const results = await Promise.allSettled([
      b.predict([{ x: 1 }]),
      b.predict([{ x: 2 }, { x: "bad" }]),
      b.predict([{ x: 3 }]),
    ]);
    expect(results[0]).toEqual({ status: "fulfilled", value: [3] });
    expect(results[2]).toEqual({ status: "fulfilled", value: [7] });
    expect(results[1]).toMatchObject({
      status: "rejected",
      reason: { code: "WRONG_TYPE", field: "x", row: 1, status: 400 },
    });
  });

  it("never puts more than maxBatchRows rows in one call", async () => {
    const { predictor, calls } = await counted();
    const b = new PredictBatcher(predictor, { maxBatchRows: 4 });
    await Promise.all([
      b.predict([{ x: 1 }, { x: 1 }, { x: 1 }]),
      b.predict([{ x: 1 }, { x: 1 }]),
      b.predict([{ x: 1 }]),
      b.predict(Array.from({ length: 9 }, () => ({ x: 1 }))),
    ]);
    expect(Math.max(...calls.filter((n) => n !== 9))).toBeLessThanOrEqual(4);
    expect(calls.reduce((a, n) => a + n, 0)).toBe(15);
  });

  it(
    "scores through predictRowsSync when the predictor has it, " + "each request still answered alone on error",
    async () => {
      const inner = await loadLinearPredictor(writeLinearBundle({ label: "y", weights: { x: 2 }, bias: 1 }));
      const syncCalls: number[] = [];
      const predictor: ServedPredictor = {
        ...inner,
        predictRows: () => Promise.reject(new Error("the async path must not be used")),
        predictRowsSync(rows) {
          syncCalls.push(rows.length);
          return rows.map((r) => {
            const x = (r as { x: unknown }).x;
            if (typeof x !== "number")
              throw Object.assign(new Error("x must be a number"), { status: 400, code: "WRONG_TYPE", field: "x" });
            return 2 * x + 1;
          });
        },
      };
      const b = new PredictBatcher(predictor, { maxBatchRows: 3 });
      const results = await Promise.allSettled([
        b.predict([{ x: 1 }]),
        b.predict([{ x: "bad" }]),
        b.predict([{ x: 3 }]),
        b.predict([{ x: 1 }, { x: 2 }, { x: 3 }]),
      ]);
      expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as { code: string }).code))).toEqual([
        [3],
        "WRONG_TYPE",
        [7],
        [3, 5, 7],
      ]);
      // One failed batched call of 3, then each request alone; the 3-row request alone from the start.
      expect(syncCalls.slice(0, 1)).toEqual([3]);
      expect(syncCalls.reduce((a, n) => a + n, 0)).toBe(9);
    },
  );

  it("never answers synchronously from submit", () => {
    const b = new PredictBatcher({
      task: "regression",
      label: "y",
      inputFields: [],
      predictRows: async (rows) => rows,
      predictRowsSync: (rows) => rows,
    });
    let answered = 0;
    b.submit([{}], () => answered++);
    b.submit(
      Array.from({ length: 300 }, () => ({})),
      () => answered++,
    );
    expect(answered).toBe(0);
  });
});
