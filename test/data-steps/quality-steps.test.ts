import { existsSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { pipeline, type Dataset } from "trainyard";
import { drift, profile, validate, type Contract } from "trainyard/data";
import { runPipeline } from "trainyard/testing";
import { makeTempDir, rng, writeTable, type Cell } from "../data/temp-data.js";

const tmp = makeTempDir("ty-quality-");
afterAll(() => tmp.cleanup());

async function table(name: string, n: number, shift: number, nullShare = 0): Promise<string> {
  const r = rng(n + shift);
  const rows: Cell[][] = [];
  for (let i = 0; i < n; i++)
    rows.push([r.next() < nullShare ? null : Math.round(r.normal(10 + shift, 3)), ["a", "b", "c"][r.int(0, 2)]]);
  return writeTable(tmp.path(name), { delay: "INTEGER", origin: "VARCHAR" }, rows);
}

const contract: Contract = {
  columns: {
    delay: { type: "integer", nullable: false, min: -20, max: 60 },
    origin: { type: "string", allowedValues: ["a", "b", "c"] },
  },
  table: { minRows: 10 },
};

function build(refPath: string, curPath: string) {
  const p = pipeline("quality");
  const ref = p.step("ref", {
    sources: () => [refPath],
    run: (ctx) => ctx.dataset(refPath, { format: "parquet", source: refPath }) as Dataset,
  });
  const cur = p.step("cur", {
    sources: () => [curPath],
    run: (ctx) => ctx.dataset(curPath, { format: "parquet", source: curPath }) as Dataset,
  });
  const checked = validate(p, "validate", { data: cur, contract });
  const prof = profile(p, "profile", { data: ref });
  drift(p, "drift", {
    reference: ref,
    current: cur,
    config: { defaults: { psi: { threshold: 0.2, action: "fail" } } },
  });
  drift(p, "drift-vs-profile", {
    reference: prof.pick("profile"),
    current: cur,
    config: { defaults: { psi: { threshold: 0.2, action: "warn" } } },
  });
  void checked;
  return p;
}

describe("data quality steps", () => {
  it("pass on good data, storing JSON results and HTML reports", async () => {
    const ref = await table("ref.parquet", 400, 0);
    const cur = await table("cur.parquet", 300, 0);
    const t = await runPipeline(build(ref, cur));
    try {
      expect(t.result.status).toBe("succeeded");
      const v = await t.output("validate");
      expect(v.report.passed).toBe(true);
      expect(readFileSync(v.html.path, "utf8")).toContain("<html");
      const d = await t.output("drift");
      expect(d.report.verdict).not.toBe("fail");
      const prof = await t.output("profile");
      expect(prof.profile.rowCount).toBe(400);
    } finally {
      await t.cleanup();
    }
  });

  it("give the same outputs in another home: reports name a dataset by digest, not by its local path", async () => {
    const ref = await table("ref-home.parquet", 400, 0);
    const cur = await table("cur-home.parquet", 300, 1);
    const [a, b] = [await runPipeline(build(ref, cur)), await runPipeline(build(ref, cur))];
    try {
      const digests = async (t: typeof a) =>
        Object.fromEntries(
          (await t.trainyard.metadata.listStepRuns(t.result.runId)).map((s) => [s.stepId, s.outputDigest]),
        );
      const [first, second] = [await digests(a), await digests(b)];
      for (const step of ["validate", "profile", "drift", "drift-vs-profile"])
        expect(second[step], step).toBe(first[step]);
      const prof = await a.output("profile");
      expect(prof.profile.source).toMatch(/^dataset sha256:/);
      expect(readFileSync(prof.html.path, "utf8")).not.toContain(ref);
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  });

  it("a broken contract fails the step with every violation, and keeps the report", async () => {
    const ref = await table("ref2.parquet", 400, 0);
    const cur = await table("bad.parquet", 300, 0, 0.3);
    const t = await runPipeline(build(ref, cur));
    try {
      expect(t.result.status).toBe("failed");
      const failed = t.result.steps.find((s) => s.step === "validate")!;
      expect(failed.status).toBe("failed");
      expect(failed.error?.code).toBe("CONTRACT_VIOLATION");
      expect(failed.error?.message).toMatch(/delay\s+nullable/);
      const report = /open the report: (\S+);/.exec(failed.error?.hint ?? "")?.[1];
      expect(report && existsSync(report)).toBe(true);
    } finally {
      await t.cleanup();
    }
  });

  it("drift over a fail threshold stops the run; a warn threshold lets it continue", async () => {
    const ref = await table("ref3.parquet", 500, 0);
    const cur = await table("shifted.parquet", 500, 12);
    const t = await runPipeline(build(ref, cur));
    try {
      const byStep = Object.fromEntries(t.result.steps.map((s) => [s.step, s]));
      expect(byStep.drift.status).toBe("failed");
      expect(byStep.drift.error?.code).toBe("DRIFT_DETECTED");
      expect(byStep.drift.error?.message).toContain("delay");
      expect(byStep["drift-vs-profile"].status).toBe("succeeded");
      const warned = await t.output("drift-vs-profile");
      expect(warned.report.verdict).toBe("warn");
    } finally {
      await t.cleanup();
    }
  });

  it("drift compares only the given `columns`, as `config.include` does", async () => {
    const ref = await table("ref4.parquet", 500, 0);
    const cur = await table("shifted4.parquet", 500, 12);
    const p = pipeline("drift-columns");
    const dataset = (id: string, path: string) =>
      p.step(id, { sources: () => [path], run: (ctx) => ctx.dataset(path, { format: "parquet" }) as Dataset });
    const [refData, curData] = [dataset("ref", ref), dataset("cur", cur)];
    const strict = { defaults: { psi: { threshold: 0.2, action: "fail" as const } } };
    drift(p, "by-columns", { reference: refData, current: curData, columns: ["origin"], config: strict });
    drift(p, "by-include", { reference: refData, current: curData, config: { ...strict, include: ["origin"] } });
    drift(p, "every-column", { reference: refData, current: curData, config: strict });
    const config = (id: string) => JSON.stringify(p.steps.get(id)?.options.config);
    expect(config("by-columns")).toBe(JSON.stringify({ drift: { ...strict, include: ["origin"] } }));
    const t = await runPipeline(p);
    try {
      const byStep = Object.fromEntries(t.result.steps.map((s) => [s.step, s]));
      // The shifted delay fails the step that compares it; the other two never look at it.
      expect(byStep["every-column"].error?.code).toBe("DRIFT_DETECTED");
      for (const id of ["by-columns", "by-include"]) {
        expect(byStep[id].status, id).toBe("succeeded");
        expect((await t.output(id)).report.columns.map((c: { name: string }) => c.name)).toEqual(["origin"]);
      }
    } finally {
      await t.cleanup();
    }
  });
});
