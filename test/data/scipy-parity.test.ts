/**
 * Trainyard's drift statistics against SciPy on the same data: ks_2samp (exact and
 * asymptotic), wasserstein_distance, jensenshannon and chisquare, to 1e-6.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { CHI_SQUARE_PSEUDOCOUNT, detectDrift } from "../../src/lib/data/drift.js";
import { requireTools } from "../support/require-tool.js";
import { makeTempDir, rng, writeTable } from "./temp-data.js";

const PYTHON = "/usr/bin/python3";
const scipy = requireTools("scipy");

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

function close(actual: number, expected: number, tol = 1e-6): void {
  const scale = Math.max(1, Math.abs(expected));
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tol * scale);
}

interface NumericCase {
  label: string;
  ref: number[];
  cur: number[];
}

function numericCases(): NumericCase[] {
  const r = rng(42);
  const normal = (n: number, mu: number) => Array.from({ length: n }, () => r.normal(mu, 1));
  const ints = (n: number, hi: number) => Array.from({ length: n }, () => r.int(0, hi));
  return [
    { label: "exact, unequal sizes", ref: normal(40, 0), cur: normal(55, 0.6) },
    { label: "exact, equal sizes", ref: normal(60, 0), cur: normal(60, 0.3) },
    { label: "exact, ties", ref: ints(300, 20), cur: ints(200, 22) },
    { label: "exact, near-identical", ref: normal(500, 0), cur: normal(700, 0.02) },
    { label: "asymptotic, large", ref: normal(12000, 0), cur: normal(9000, 0.03) },
    { label: "asymptotic, tiny en", ref: normal(20000, 0), cur: normal(30, 0.4) },
    { label: "asymptotic, ties", ref: ints(15000, 50), cur: ints(11000, 50) },
  ];
}

scipy.describe("SciPy parity", () => {
  it("ks_2samp, wasserstein_distance, jensenshannon and chisquare agree to 1e-6", async () => {
    const numeric = numericCases();
    const r = rng(3);
    const pick = (cats: string[], w: number[]) => {
      const u = r.next() * w.reduce((a, b) => a + b, 0);
      let acc = 0;
      for (let i = 0; i < cats.length; i++) if ((acc += w[i]) >= u) return cats[i];
      return cats[cats.length - 1];
    };
    const catRef = Array.from({ length: 3000 }, () => pick(["a", "b", "c", "d"], [5, 3, 1, 1]));
    const catCur = Array.from({ length: 2500 }, () => pick(["a", "b", "c", "e"], [4, 4, 1, 0.2]));

    const ours: { ks: number; p: number; w: number; js: number; hist: [number[], number[]]; method: string }[] = [];
    for (const [i, c] of numeric.entries()) {
      const file = await writeTable(tmp.path(`n${i}.parquet`), { side: "INTEGER", x: "DOUBLE" }, [
        ...c.ref.map((x) => [0, x]),
        ...c.cur.map((x) => [1, x]),
      ]);
      const rep = await detectDrift(
        { path: file, where: "side = 0" },
        { path: file, where: "side = 1" },
        { include: ["x"] },
      );
      const col = rep.columns[0];
      ours.push({
        ks: col.ks!.statistic,
        p: col.ks!.pValue,
        w: col.stats.wasserstein!.value!,
        js: col.stats.jsDistance!.value!,
        hist: [col.chart!.reference, col.chart!.current],
        method: col.ks!.method,
      });
    }
    const catFile = await writeTable(tmp.path("c.parquet"), { side: "INTEGER", c: "VARCHAR" }, [
      ...catRef.map((x) => [0, x]),
      ...catCur.map((x) => [1, x]),
    ]);
    const catRep = await detectDrift(
      { path: catFile, where: "side = 0" },
      { path: catFile, where: "side = 1" },
      { include: ["c"] },
    );
    const cat = catRep.columns[0];

    const input = tmp.path("cases.json");
    writeFileSync(
      input,
      JSON.stringify([
        ...numeric.map((c, i) => ({
          kind: "numeric",
          ref: c.ref,
          cur: c.cur,
          hist_ref: ours[i].hist[0],
          hist_cur: ours[i].hist[1],
        })),
        { kind: "categorical", ref: catRef, cur: catCur, pseudo: CHI_SQUARE_PSEUDOCOUNT },
      ]),
    );
    const script = fileURLToPath(new URL("./scipy-parity.py", import.meta.url));
    const scipy = JSON.parse(execFileSync(PYTHON, [script, input], { maxBuffer: 1 << 26 }).toString()) as Record<
      string,
      number
    >[];

    numeric.forEach((c, i) => {
      const s = scipy[i];
      const o = ours[i];
      expect(o.method, c.label).toBe(c.label.startsWith("exact") ? "exact" : "asymp");
      close(o.ks, s.ks);
      close(o.p, s.p);
      close(o.w, s.w);
      close(o.js, s.js);
    });
    const s = scipy[numeric.length];
    close(cat.chiSquare!.statistic, s.chi, 1e-9);
    close(cat.chiSquare!.pValue, s.p);
    close(cat.stats.jsDistance!.value!, s.js);
    close(cat.stats.lInfinity!.value!, s.linf);
    expect(cat.categories).toMatchObject({ newExamples: ["e"], vanishedExamples: ["d"] });
  });
});
