/**
 * Every data step reads a dataset in the format it declares: a command step's CSV or JSON output
 * goes through split, profile, drift, contract, features, training and evaluation like Parquet.
 */
import { writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import { drift, profile, splitStep, validate } from "../../src/lib/data/index.js";
import { splitDataset } from "../../src/lib/data/split.js";
import { evaluate, features, train } from "../../src/lib/models/index.js";
import { runPipeline } from "../../src/testing/index.js";
import { makeTempDir, rng, writeTable, type Cell } from "../data/temp-data.js";
import { DataError } from "../../src/lib/data/data-error.js";

const tmp = makeTempDir("ty-formats-");
afterAll(() => tmp.cleanup());

const N = 400;
function rows(): Cell[][] {
  const r = rng(11);
  return Array.from({ length: N }, (_, i) => {
    const x = r.normal(0, 1);
    const city = ["north", "south", "east"][r.int(0, 2)];
    return [i, x, city, x + (city === "north" ? 0.8 : 0) + r.normal(0, 0.5) > 0.3 ? 1 : 0];
  });
}

/** The same rows as CSV, newline-delimited JSON and Parquet. */
async function sources(): Promise<Record<"csv" | "json" | "parquet", string>> {
  const data = rows();
  const csv = tmp.path("rows.csv");
  writeFileSync(csv, ["id,x,city,label", ...data.map((r) => r.join(","))].join("\n") + "\n");
  const json = tmp.path("rows.jsonl");
  writeFileSync(json, data.map(([id, x, city, label]) => JSON.stringify({ id, x, city, label })).join("\n") + "\n");
  const parquet = await writeTable(
    tmp.path("rows.parquet"),
    { id: "INTEGER", x: "DOUBLE", city: "VARCHAR", label: "INTEGER" },
    data,
  );
  return { csv, json, parquet };
}

/** A command step copies the file into its outputs, as a Python or R script would write one. */
function build(source: string, outputName: string) {
  const p = pipeline(`formats-${outputName.replace(/\W/g, "-")}`);
  const made = p.command("export", {
    run: (ctx) => ["cp", source, `${ctx.out}/${outputName}`],
    outputs: { data: { path: outputName, kind: "dataset" } },
  });
  const data = made.pick("data");
  const parts = splitStep(p, "split", {
    input: data,
    split: { method: "stratified", column: "city", testFraction: 0.25, seed: 3 },
  });
  profile(p, "profile-raw", { data });
  validate(p, "contract", {
    data,
    contract: {
      name: "rows",
      columns: {
        x: { type: "float", nullable: false },
        city: { type: "string", allowedValues: ["north", "south", "east"] },
      },
    },
  });
  drift(p, "drift", { reference: data, current: parts.pick("test") });
  const fitted = features(p, "features", {
    train: data,
    spec: {
      transforms: [
        { kind: "passthrough", column: "x" },
        { kind: "onehot", column: "city" },
      ],
    },
  });
  const model = train(p, "train", { train: data, features: fitted, label: "label", algorithm: { kind: "logistic" } });
  evaluate(p, "evaluate", { candidate: model, data, latency: { samples: 10, rounds: 1, warmup: 10 } });
  return p;
}

describe("data steps honour a dataset's declared format", () => {
  it("a command's CSV, JSON and Parquet outputs split identically and train", async () => {
    const src = await sources();
    const splits: Record<string, { train: number; test: number }> = {};
    const aucs: Record<string, number> = {};
    for (const [format, name] of [
      ["csv", "data.csv"],
      ["json", "data.jsonl"],
      ["parquet", "data.parquet"],
    ] as const) {
      const t = await runPipeline(build(src[format], name));
      try {
        expect(t.result.status, `${format}: ${JSON.stringify(t.result.error)}`).toBe("succeeded");
        const exported = await t.output("export");
        expect(exported.data.meta.format).toBe(format);
        const split = await t.output("split");
        splits[format] = { train: split.train.meta.rows, test: split.test.meta.rows };
        expect((await t.output("profile-raw")).profile.rowCount).toBe(N);
        aucs[format] = (await t.output("evaluate")).evaluation.candidate.metrics.auc;
      } finally {
        await t.cleanup();
      }
    }
    // Stratified: exactly round(n_city * 0.25) test rows per city, whatever the file format.
    const byCity = new Map<string, number>();
    for (const r of rows()) byCity.set(String(r[2]), (byCity.get(String(r[2])) ?? 0) + 1);
    const expectedTest = [...byCity.values()].reduce((s, n) => s + Math.round(n * 0.25), 0);
    expect(splits.csv).toEqual({ train: N - expectedTest, test: expectedTest });
    expect(splits.json).toEqual(splits.csv);
    expect(splits.parquet).toEqual(splits.csv);
    expect(aucs.csv).toBeGreaterThan(0.7);
    expect(aucs.json).toBeCloseTo(aucs.csv, 10);
    expect(aucs.parquet).toBeCloseTo(aucs.csv, 10);
  });

  it("a text file read as Parquet names the format to declare", async () => {
    const src = await sources();
    const err = await splitDataset(
      { path: src.csv, format: "parquet" },
      { method: "random", testFraction: 0.5 },
      tmp.path("out"),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).code).toBe("FILE_UNREADABLE");
    expect((err as DataError).message).toMatch(
      /read as Parquet \(its declared format\) but has no Parquet header; it looks like CSV/,
    );
    expect((err as DataError).hint).toMatch(/format: "csv"/);
  });
});
