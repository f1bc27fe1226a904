/** The step factories run like user steps: ingest -> split, with dataset meta and sources. */
import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import { freshnessStep, ingestStep, splitStep } from "../../src/lib/data/ingest-steps.js";
import { datasetInput, runStep } from "../../src/testing/index.js";
import { makeTempDir } from "../data/temp-data.js";

const tmp = makeTempDir("ty-steps-");
afterAll(() => tmp.cleanup());

describe("step factories", () => {
  const landing = tmp.path("landing");
  mkdirSync(landing);
  writeFileSync(
    `${landing}/2001-01.csv`,
    "id,ts,delay\n" +
      Array.from(
        { length: 50 },
        (_, i) => `${i},2001-01-${String(1 + (i % 28)).padStart(2, "0")} 10:00:00,${i % 40}`,
      ).join("\n") +
      "\n",
  );
  writeFileSync(
    `${landing}/2001-02.csv`,
    "id,ts,delay\n" +
      Array.from(
        { length: 50 },
        (_, i) => `${50 + i},2001-02-${String(1 + (i % 28)).padStart(2, "0")} 10:00:00,${i % 40}`,
      ).join("\n") +
      "\n",
  );

  const p = pipeline("ingest-steps-test");
  const raw = ingestStep(p, "raw", { source: { path: `${landing}/*.csv` }, requireColumns: ["ts", "delay"] });
  splitStep(p, "split", { input: raw, split: { method: "time", column: "ts", cutoff: "2001-02-01" } });
  freshnessStep(p, "fresh", { path: landing, column: "ts", maxAge: "20000d" });

  it("declares its options as config and its files as sources", async () => {
    const def = p.steps.get("raw")!;
    expect(def.options.config).toMatchObject({ source: { path: `${landing}/*.csv` }, requireColumns: ["ts", "delay"] });
    expect(await def.options.sources!({})).toEqual([`${landing}/2001-01.csv`, `${landing}/2001-02.csv`]);
    expect(p.steps.get("fresh")!.options.cache).toBe(false);
  });

  it("ingest returns a Parquet dataset with rows and schema; split returns train/test datasets", async () => {
    const ds = await runStep(p, "raw", { keepHome: true }); // the split below reads the stored file
    expect(ds).toMatchObject({ $artifact: "dataset", meta: { format: "parquet", rows: 100 } });
    expect(ds.meta.schema.map((c: { name: string }) => c.name)).toEqual(["id", "ts", "delay"]);
    const split = await runStep(p, "split", { inputs: { data: datasetInput(ds.path, ds.meta) } });
    expect(split.train.meta.rows).toBe(50);
    expect(split.test.meta.rows).toBe(50);
    expect(split.train.$artifact).toBe("dataset");
  });

  it("freshness passes for a generous bound", async () => {
    expect(await runStep(p, "fresh")).toMatchObject({ basis: "column", newest: "2001-02-28T10:00:00.000Z" });
  });
});
