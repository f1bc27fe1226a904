import { writeFileSync } from "node:fs";
import { checkContract } from "../../src/lib/data/contract-check.js";
import { detectDrift } from "../../src/lib/data/drift.js";
import { profileDataset } from "../../src/lib/data/profile.js";
import {
  renderContractHtml,
  renderDriftHtml,
  renderProfileHtml,
  renderTableHtml,
} from "../../src/lib/data/report-html.js";
import { renderEvaluationHtml } from "../../src/lib/evaluate/evaluation-html.js";
import { makeTempDir, writeTable } from "./temp-data.js";

const tmp = makeTempDir();
const rowsA: (string | number)[][] = [];
const rowsB: (string | number)[][] = [];
for (let i = 0; i < 60; i++) {
  rowsA.push([i * 1.5, ["<b>", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"][i % 13], i % 3]);
  rowsB.push([i * 3.7 + 5, ["a", "z", "y", "c"][i % 4], "t" + (i % 2)]);
}
const a = await writeTable(tmp.path("a.parquet"), { x: "DOUBLE", s: "VARCHAR", r: "INTEGER" }, rowsA);
const b = await writeTable(tmp.path("b.parquet"), { x: "DOUBLE", s: "VARCHAR", r: "VARCHAR" }, rowsB);
const prof = await profileDataset(a);
const drift: any = await detectDrift(a, b);
const out: string[] = [renderProfileHtml(prof), renderProfileHtml(await profileDataset(b), "step")];
out.push(renderDriftHtml(drift), renderDriftHtml(drift, "subj"));
const d2 = JSON.parse(JSON.stringify(drift));
d2.schema.added.push({ name: "n<", type: "INT" });
d2.schema.removed.push({ name: "o", type: "DOUBLE" });
d2.schema.retyped.push({ name: "q", from: "INT", to: "VARCHAR" });
for (const c of d2.columns) {
  c.approximate = true;
  for (const o of Object.values(c.stats) as any[]) {
    o.threshold = null;
  }
  c.categories = { newCount: 2, newExamples: ["x<", "y"], vanishedCount: 1, vanishedExamples: ["v"] };
  c.ks = { statistic: 0.5, pValue: 0.0001, method: "exact", nReference: 10, nCurrent: 12 };
}
out.push(renderDriftHtml(d2));
out.push(renderContractHtml(await checkContract(b, { columns: { x: { max: 25 } } } as any)));
out.push(renderContractHtml(await checkContract(b, { columns: { x: { max: 2500 } } } as any), "c"));
out.push(renderTableHtml("t", [{ a: 1, b: "x" }], "note"));
const ev: any = {
  kind: "trainyard.evaluation",
  rows: 12345,
  task: "binary<",
  sizeBytes: 99,
  latency: { p50Ms: 1.5, p99Ms: 3 },
  candidate: { metrics: { auc: 0.81234, n: 3 }, slices: { g: [{ group: "a", rows: 3, value: 0.5 }] } },
  production: { version: 4, metrics: { auc: 0.8 }, slices: { g: [{ group: "a", rows: 3, value: 0.4 }] } },
  bootstrap: { auc: { mean: 0.01, low: -0.01, high: 0.03, confidence: 0.95 } },
};
out.push(renderEvaluationHtml(ev));
out.push(
  renderEvaluationHtml({
    ...ev,
    production: undefined,
    bootstrap: undefined,
    latency: undefined,
    sizeBytes: undefined,
  }),
);
writeFileSync(process.argv[2]!, out.join("\n=====\n"));
tmp.cleanup();
