import { afterAll, describe, expect, it } from "vitest";
import { detectDrift } from "../../src/lib/data/drift.js";
import { compileDriftConfig, judge } from "../../src/lib/data/drift-config.js";
import {
  chiSquareTest,
  jensenShannonDistance,
  lInfinityDistance,
  populationStabilityIndex,
  PSI_EPSILON,
} from "../../src/lib/data/drift-math.js";
import { profileDataset } from "../../src/lib/data/profile.js";
import { makeTempDir, rng, writeTable } from "./temp-data.js";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

async function sides(shift: number, n = 2000) {
  const r = rng(7);
  const cats = ["a", "b", "c"];
  const ref = Array.from({ length: n }, () => [r.normal(0, 1), cats[r.int(0, 2)]]);
  const cur = Array.from({ length: n }, () => [
    r.normal(shift, 1),
    shift > 0 ? (r.next() < 0.5 ? "d" : "a") : cats[r.int(0, 2)],
  ]);
  const refFile = await writeTable(tmp.path(`ref${shift}.parquet`), { x: "DOUBLE", c: "VARCHAR" }, ref);
  const curFile = await writeTable(tmp.path(`cur${shift}.parquet`), { x: "DOUBLE", c: "VARCHAR" }, cur);
  return { refFile, curFile };
}

describe("drift math", () => {
  it("PSI floors empty bins at epsilon", () => {
    expect(populationStabilityIndex([1, 1], [1, 1])).toBe(0);
    const psi = populationStabilityIndex([1, 0], [0, 1]);
    expect(psi).toBeCloseTo(2 * (1 - PSI_EPSILON) * Math.log(1 / PSI_EPSILON), 10);
  });
  it("JS distance, L-inf and chi-square on known vectors", () => {
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(Math.sqrt(Math.log(2)), 12);
    expect(lInfinityDistance([3, 1], [1, 1])).toBeCloseTo(0.25, 12);
    const c = chiSquareTest([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]);
    expect(c.statistic).toBeCloseTo(3.5, 12);
    expect(c.pValue).toBeCloseTo(0.62338762774958223, 10);
  });
  it("judges thresholds in both directions", () => {
    const cfg = compileDriftConfig({ defaults: { ksPValue: { threshold: 0.05, action: "warn" }, psi: 0.1 } });
    const rules = cfg.rulesFor("x");
    expect(judge("ksPValue", 0.01, rules.ksPValue).verdict).toBe("warn");
    expect(judge("psi", 0.2, rules.psi).verdict).toBe("fail");
    expect(judge("psi", 0.05, rules.psi).verdict).toBe("pass");
    expect(judge("wasserstein", 100, rules.wasserstein).verdict).toBe("pass");
  });
});

describe("detectDrift", () => {
  it("passes identical distributions and fails a shifted one", async () => {
    const same = await sides(0);
    const quiet = await detectDrift(same.refFile, same.refFile);
    expect(quiet.verdict).toBe("pass");
    expect(quiet.columns.find((c) => c.name === "x")?.stats.ksStatistic?.value).toBe(0);
    const moved = await sides(1);
    const loud = await detectDrift(moved.refFile, moved.curFile, {
      columns: { x: { wasserstein: { threshold: 0.5, action: "fail" } } },
    });
    expect(loud.verdict).toBe("fail");
    const x = loud.columns.find((c) => c.name === "x")!;
    expect(x.stats.psi!.value!).toBeGreaterThan(0.25);
    expect(x.stats.wasserstein!.verdict).toBe("fail");
    expect(x.ks!.method).toBe("exact");
    const c = loud.columns.find((col) => col.name === "c")!;
    expect(c.categories?.newExamples).toEqual(["d"]);
    expect(c.categories?.vanishedExamples.sort()).toEqual(["b", "c"]);
    expect(c.stats.lInfinity!.verdict).toBe("warn");
  });

  it("reports schema changes and missing-rate change", async () => {
    const a = await writeTable(tmp.path("sa.csv"), { x: "DOUBLE", y: "VARCHAR", z: "BIGINT" }, [
      [1, "a", 1],
      [2, "b", 2],
      [3, "a", 3],
      [4, "b", 4],
    ]);
    const b = await writeTable(tmp.path("sb.csv"), { x: "DOUBLE", y: "VARCHAR", w: "VARCHAR" }, [
      [1, "a", "k"],
      [null, "b", "k"],
      [null, "a", "k"],
      [4, "b", "k"],
    ]);
    const r = await detectDrift(a, b);
    expect(r.schema.removed.map((c) => c.name)).toEqual(["z"]);
    expect(r.schema.added.map((c) => c.name)).toEqual(["w"]);
    expect(r.schema.verdict).toBe("fail");
    const x = r.columns.find((c) => c.name === "x")!;
    expect(x.stats.missingRateChange).toMatchObject({ value: 0.5, verdict: "fail" });
  });

  it("works from a kept reference profile (approximate)", async () => {
    const moved = await sides(1);
    const profile = await profileDataset(moved.refFile);
    const r = await detectDrift(profile, moved.curFile);
    const x = r.columns.find((c) => c.name === "x")!;
    expect(x.approximate).toBe(true);
    expect(x.stats.psi!.value!).toBeGreaterThan(0.25);
    const exact = await detectDrift(moved.refFile, moved.curFile);
    // Same reference bins: PSI and JS agree exactly with the dataset path.
    expect(x.stats.psi!.value).toBeCloseTo(exact.columns.find((c) => c.name === "x")!.stats.psi!.value!, 12);
    const c = r.columns.find((col) => col.name === "c")!;
    expect(c.categories?.newExamples).toEqual(["d"]);
  });

  it("drifts June against January-May on the flights file", async () => {
    const F = "node_modules/vega-datasets/data/flights-3m.parquet";
    const r = await detectDrift(
      { path: F, where: "date < TIMESTAMP '2001-06-01'" },
      { path: F, where: "date >= TIMESTAMP '2001-06-01'" },
    );
    expect(r.rowCount.reference + r.rowCount.current).toBe(3_000_000);
    expect(r.columns.map((c) => c.name)).toEqual(["delay", "distance", "origin", "destination"]);
    expect(r.columns[0].ks!.method).toBe("asymp");
  });
});
