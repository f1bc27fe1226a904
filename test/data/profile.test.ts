import { afterAll, describe, expect, it } from "vitest";
import { profileDataset, profileColumn } from "../../src/lib/data/profile.js";
import { readSchema } from "../../src/lib/data/schema.js";
import { makeTempDir, writeTable } from "./temp-data.js";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

describe("profileDataset", () => {
  it("summarizes numeric, text and date columns", async () => {
    const file = await writeTable(tmp.path("p.parquet"), { x: "DOUBLE", s: "VARCHAR", d: "DATE" }, [
      [1, "a", "2024-01-01"],
      [2, "b", "2024-01-02"],
      [3, "a", null],
      [4, null, "2024-01-05"],
      [null, "a", "2024-01-03"],
    ]);
    const p = await profileDataset(file, { bins: 3 });
    expect(p.rowCount).toBe(5);
    expect(p.schema.map((c) => c.type)).toEqual(["DOUBLE", "VARCHAR", "DATE"]);
    const x = profileColumn(p, "x");
    expect(x).toMatchObject({ count: 4, nullCount: 1, distinctCount: 4, min: 1, max: 4, mean: 2.5 });
    expect(x.std).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(x.quantiles?.p50).toBeCloseTo(2.5, 12);
    expect(x.quantiles?.p25).toBeCloseTo(1.75, 12);
    expect(x.histogram).toEqual({ edges: [1, 2, 3, 4], counts: [1, 1, 2], below: 0, above: 0 });
    const s = profileColumn(p, "s");
    expect(s.topK?.values).toEqual([
      { value: "a", count: 3 },
      { value: "b", count: 1 },
    ]);
    expect(s).toMatchObject({ count: 4, nullCount: 1, distinctCount: 2 });
    const d = profileColumn(p, "d");
    expect(d).toMatchObject({ kind: "temporal", count: 4, nullCount: 1, min: "2024-01-01", max: "2024-01-05" });
  });

  it("uses given edges so two profiles share bins, clamping values outside", async () => {
    const file = await writeTable(tmp.path("e.csv"), { x: "DOUBLE" }, [[-5], [0.5], [1.5], [99]]);
    const p = await profileDataset(file, { edges: { x: [0, 1, 2] } });
    expect(p.columns[0].histogram).toEqual({ edges: [0, 1, 2], counts: [2, 2], below: 1, above: 1 });
    const q = await profileDataset(file, { edgesFrom: p });
    expect(q.columns[0].histogram?.edges).toEqual([0, 1, 2]);
  });

  it("keeps top-k with an other count", async () => {
    const rows = Array.from({ length: 30 }, (_, i) => [`v${i % 25}`]);
    const file = await writeTable(tmp.path("k.csv"), { s: "VARCHAR" }, rows);
    const p = await profileDataset(file, { topK: 3 });
    const top = p.columns[0].topK!;
    expect(top.values.map((v) => v.value)).toEqual(["v0", "v1", "v2"]);
    expect(top.otherCount).toBe(30 - 6);
    expect(top.otherDistinct).toBe(22);
  });

  it("counts NaN/Infinity apart from the moments", async () => {
    const file = await writeTable(tmp.path("n.csv"), { x: "DOUBLE" }, [[1], [NaN], [Infinity], [3]]);
    const x = (await profileDataset(file)).columns[0];
    expect(x).toMatchObject({ count: 4, nonFiniteCount: 2, mean: 2, min: 1, max: 3 });
  });

  it("profiles the 3M-row flights file", async () => {
    const file = "node_modules/vega-datasets/data/flights-3m.parquet";
    const schema = await readSchema(file);
    expect(schema.rowCount).toBe(3_000_000);
    const p = await profileDataset(file);
    const delay = profileColumn(p, "delay");
    expect(delay.count).toBe(3_000_000);
    expect(delay.histogram?.counts.reduce((a, b) => a + b, 0)).toBe(3_000_000);
    expect(profileColumn(p, "origin").topK?.values.length).toBe(20);
  });
});
