import { afterAll, describe, expect, it } from "vitest";
import { readColumns } from "../../src/lib/data/duck.js";
import { readSchema } from "../../src/lib/data/schema.js";
import { makeTempDir, writeTable } from "./temp-data.js";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

describe("readColumns / readSchema", () => {
  it("returns typed arrays with dictionary codes", async () => {
    const file = await writeTable(tmp.path("r.parquet"), { x: "BIGINT", s: "VARCHAR", d: "DATE", b: "BOOLEAN" }, [
      [1, "b", "1970-01-02", true],
      [null, "a", null, false],
      [3, null, "1970-01-01", null],
    ]);
    const out = await readColumns(file, ["x", "s", "d", "b"]);
    expect(out.rowCount).toBe(3);
    const x = out.columns.x;
    expect(x.kind === "numeric" && Array.from(x.values)).toEqual([1, NaN, 3]);
    const s = out.columns.s;
    expect(s.kind === "categorical" && s.dictionary).toEqual(["a", "b"]);
    expect(s.kind === "categorical" && Array.from(s.codes)).toEqual([1, 0, -1]);
    const d = out.columns.d;
    expect(d.kind === "numeric" && Array.from(d.values)).toEqual([86_400_000, NaN, 0]);
    const b = out.columns.b;
    expect(b.kind === "numeric" && Array.from(b.values)).toEqual([1, 0, NaN]);
    const schema = await readSchema(file);
    expect(schema).toEqual({
      rowCount: 3,
      columns: [
        { name: "x", type: "BIGINT", kind: "numeric" },
        { name: "s", type: "VARCHAR", kind: "categorical" },
        { name: "d", type: "DATE", kind: "temporal" },
        { name: "b", type: "BOOLEAN", kind: "categorical" },
      ],
    });
  });

  it("reads JSON and filtered sources", async () => {
    const f = tmp.path("r.json");
    (await import("node:fs")).writeFileSync(f, '[{"a":1,"t":"x"},{"a":2,"t":"y"},{"a":3,"t":"x"}]');
    const out = await readColumns({ path: f, where: "a >= 2" }, ["a", "t"]);
    expect(out.rowCount).toBe(2);
    const t = out.columns.t;
    expect(t.kind === "categorical" && t.dictionary.map(String)).toEqual(["x", "y"]);
  });

  it("streams 3M rows of flights into typed arrays", async () => {
    const out = await readColumns("node_modules/vega-datasets/data/flights-3m.parquet", ["delay", "origin"]);
    expect(out.rowCount).toBe(3_000_000);
    const o = out.columns.origin;
    expect(o.kind === "categorical" && o.dictionary.length).toBe(229);
  });
});
