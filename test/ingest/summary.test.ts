import { writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ingest } from "trainyard/data";
import { makeTempDir } from "../data/temp-data.js";

const tmp = makeTempDir("ty-summary-");
afterAll(() => tmp.cleanup());

describe("ingestion records a profile summary at write time", () => {
  it("per column: nulls, min, max and distinct count", async () => {
    writeFileSync(
      tmp.path("x.csv"),
      "id,city,when\n1,a,2001-01-02 03:04:05\n2,,2001-03-01 00:00:00\n7,b,\n7,a,2001-02-01 00:00:00\n",
    );
    const r = await ingest({ path: tmp.path("x.csv") }, tmp.path("x.parquet"));
    expect(r.rows).toBe(4);
    expect(r.summary.id).toEqual({ nulls: 0, min: 1, max: 7, distinct: 3 });
    expect(r.summary.city.nulls).toBe(1);
    expect([r.summary.city.min, r.summary.city.max]).toEqual(["a", "b"]);
    expect(r.summary.when.nulls).toBe(1);
    expect(String(r.summary.when.min)).toContain("2001-01-02");
  });
});
