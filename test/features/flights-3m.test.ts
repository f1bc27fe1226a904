/** The flagship data: 3M flights fitted and read as typed arrays, fast enough to train on. */
import { describe, expect, it } from "vitest";
import { applyFeatures, fitFeatures, readRawColumns } from "../../src/lib/features/index.js";

const FLIGHTS = "node_modules/vega-datasets/data/flights-3m.parquet";

describe("flights-3m", () => {
  it("fits, reads 3M rows as typed arrays and applies", async () => {
    const fitted = await fitFeatures(FLIGHTS, {
      transforms: [
        { kind: "datepart", column: "date", parts: ["hour", "day_of_week", "month"] },
        { kind: "passthrough", column: "distance" },
        { kind: "ordinal", column: "origin" },
        { kind: "frequency", column: "destination" },
      ],
    });
    const t0 = performance.now();
    const raw = await readRawColumns(FLIGHTS, fitted);
    const readMs = performance.now() - t0;
    const t1 = performance.now();
    const m = applyFeatures(fitted, raw);
    const applyMs = performance.now() - t1;
    console.log(`flights-3m: read ${readMs.toFixed(0)} ms, apply ${applyMs.toFixed(0)} ms`);
    expect(raw.rows).toBe(3_000_000);
    expect(raw.columns.origin).toHaveProperty("codes");
    expect(m.names).toEqual(["date_hour", "date_day_of_week", "date_month", "distance", "origin", "destination"]);
    // January to June 2001, plus 6 overnight flights landing in July.
    const months = new Map<number, number>();
    for (const v of m.columns[2]) months.set(v, (months.get(v) ?? 0) + 1);
    expect([...months.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(months.get(7)).toBe(6);
    // Speed is the benchmark's to judge (bench/data-profile-drift.ts); a test only prints it.
    console.log(`read 3M rows as typed arrays in ${readMs.toFixed(0)} ms`);
  });
});
