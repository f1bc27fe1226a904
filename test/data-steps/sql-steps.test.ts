/**
 * The library steps the flagship is written with: landed files as a map source, ingestion per
 * file, SQL over a list of datasets in mixed formats, seeded samples, a split on the newest
 * month, and a two-valued text label trained as binary.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import {
  ingestEach,
  landedFiles,
  queryDatasets,
  sampleStep,
  splitStep,
  sqlReport,
  sqlStep,
} from "../../src/lib/data/index.js";
import { evaluate, features, train } from "../../src/lib/models/index.js";
import { datasetInput } from "../../src/testing/index.js";
import { runPipeline } from "../../src/testing/index.js";
import { makeTempDir, rng } from "../data/temp-data.js";

const tmp = makeTempDir("ty-sql-steps-");
afterAll(() => tmp.cleanup());

/** Three months of rows: January and February as CSV, March as JSON lines. */
function land(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const r = rng(3);
  const rows = (month: number) =>
    Array.from({ length: 200 }, (_, i) => {
      const x = r.normal(0, 1);
      return {
        ts: `2001-0${month}-${String(1 + (i % 28)).padStart(2, "0")} 12:00:00`,
        x,
        outcome: x + r.normal(0, 0.5) > 0 ? "late" : "on_time",
      };
    });
  for (const m of [1, 2])
    writeFileSync(
      `${dir}/part-2001-0${m}.csv`,
      "ts,x,outcome\n" +
        rows(m)
          .map((o) => `${o.ts},${o.x},${o.outcome}`)
          .join("\n") +
        "\n",
    );
  writeFileSync(
    `${dir}/part-2001-03.jsonl`,
    rows(3)
      .map((o) => JSON.stringify(o))
      .join("\n") + "\n",
  );
  writeFileSync(`${dir}/notes.txt`, "not a partition\n");
}

function build(dir: string) {
  const p = pipeline("sql-steps");
  const files = landedFiles(p, "files", {
    dir,
    match: /^part-(?<month>\d{4}-\d{2})\.(csv|jsonl)$/,
    hint: "land the parts first",
  });
  const parts = ingestEach(p, "ingest", { over: files });
  const all = sqlStep(p, "all", {
    inputs: { parts },
    sql: "SELECT CAST(ts AS TIMESTAMP) AS ts, x, outcome FROM parts",
  });
  const split = splitStep(p, "split", { input: all, split: { method: "time", column: "ts", last: "month" } });
  sqlReport(p, "per-month", {
    title: "Rows & late share per month",
    inputs: { parts },
    sql: `SELECT strftime(CAST(ts AS TIMESTAMP), '%Y-%m') AS month, count(*) AS rows,
      avg(CAST(outcome = 'late' AS INTEGER)) AS late FROM parts GROUP BY month ORDER BY month`,
  });
  sampleStep(p, "half", { input: all, fraction: 0.5 });
  sampleStep(p, "half-again", { input: all, fraction: 0.5 });
  sampleStep(p, "hundred", { input: all, rows: 100, seed: 7 });
  const fitted = features(p, "features", {
    train: split.pick("train"),
    spec: { transforms: [{ kind: "standardize", column: "x" }] },
  });
  const model = train(p, "train", {
    train: split.pick("train"),
    features: fitted,
    label: "outcome",
    algorithm: { kind: "logistic" },
  });
  evaluate(p, "evaluate", {
    candidate: model,
    data: split.pick("test"),
    latency: { samples: 10, rounds: 1, warmup: 10 },
  });
  return p;
}

describe("library data steps", () => {
  it("list, ingest, query, split on the newest month and sample, and train a text label as binary", async () => {
    const dir = tmp.path("landing");
    land(dir);
    const t = await runPipeline(build(dir));
    try {
      expect(t.result.status, JSON.stringify(t.result.error)).toBe("succeeded");
      const files = await t.output("files");
      expect(files.map((f: { name: string; groups: { month: string } }) => [f.name, f.groups.month])).toEqual([
        ["part-2001-01.csv", "2001-01"],
        ["part-2001-02.csv", "2001-02"],
        ["part-2001-03.jsonl", "2001-03"],
      ]);
      const ingested = await t.output("ingest");
      expect(ingested.map((d: { meta: { month: string; rows: number } }) => [d.meta.month, d.meta.rows])).toEqual([
        ["2001-01", 200],
        ["2001-02", 200],
        ["2001-03", 200],
      ]);
      const all = await t.output("all");
      expect(all.meta.rows).toBe(600);
      // A report as a query: its rows as plain numbers, and an HTML table with an escaped title.
      const perMonth = await t.output("per-month");
      expect(perMonth.rows.map((r: { month: string; rows: number }) => [r.month, r.rows])).toEqual([
        ["2001-01", 200],
        ["2001-02", 200],
        ["2001-03", 200],
      ]);
      const html = readFileSync(await t.trainyard.artifacts.getLocal(perMonth.report.digest), "utf8");
      expect(html).toContain("<title>Rows &amp; late share per month</title>");
      expect(html).toContain("<td>2001-03</td><td>200</td>");
      const split = await t.output("split");
      expect([split.train.meta.rows, split.test.meta.rows]).toEqual([400, 200]);
      const [newest] = await queryDatasets<{ lo: string }>(
        { test: split.test },
        "SELECT CAST(min(ts) AS VARCHAR) AS lo FROM test",
      );
      expect(newest.lo).toBe("2001-03-01 12:00:00");
      const [half, again, hundred] = [await t.output("half"), await t.output("half-again"), await t.output("hundred")];
      expect(half.meta.rows).toBeGreaterThan(240);
      expect(half.meta.rows).toBeLessThan(360);
      expect(again.digest).toBe(half.digest); // same seed, same data: same rows
      expect(hundred.meta.rows).toBe(100);
      const model = await t.output("train");
      expect(model.meta.task).toBe("binary");
      const log: string[] = [];
      for await (const c of t.trainyard.query.stepLog(t.result.runId, "train", {})) log.push(...c.lines);
      // Held-out text labels are coded by the model's classes: on_time is 1, and x predicts late.
      const ev = (await t.output("evaluate")).evaluation;
      expect(ev.task).toBe("binary");
      expect(ev.candidate.metrics.auc).toBeGreaterThan(0.8);
      expect(log.join("\n")).toContain(
        'task: binary (label "outcome" is text with 2 classes (late, on_time); "on_time" is the positive class',
      );
    } finally {
      await t.cleanup();
    }
  });

  it("queries a list of datasets in different formats as one table, columns matched by name", async () => {
    const csv = tmp.path("a.csv");
    writeFileSync(csv, "x,y\n1,a\n2,b\n");
    const json = tmp.path("b.jsonl");
    writeFileSync(json, '{"y": "c", "x": 3}\n');
    const parts = [datasetInput(csv, { format: "csv" }), datasetInput(json, { format: "json" })];
    const rows = await queryDatasets<{ x: number; y: string }>({ parts }, "SELECT x, y FROM parts ORDER BY x");
    expect(rows).toEqual([
      { x: 1, y: "a" },
      { x: 2, y: "b" },
      { x: 3, y: "c" },
    ]);
  });

  it("says what to do when no file has landed", async () => {
    const dir = tmp.path("empty");
    mkdirSync(dir);
    const t = await runPipeline(build(dir));
    try {
      expect(t.result.status).toBe("failed");
      expect(t.result.error?.message).toMatch(/no file in .*empty matches/);
      expect(t.result.error?.hint).toBe("land the parts first");
    } finally {
      await t.cleanup();
    }
  });
});
