/**
 * Options given as functions of the params (a query, a folder, an algorithm, the gates) need no
 * `params` list: the library finds the params each reads, only those enter the cache key, and a
 * param read only on another branch fails the step naming it instead of missing the cache key.
 */
import { writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { isTrainyardError, pipeline, z } from "../../src/index.js";
import { landedFiles, sqlReport, sqlStep } from "../../src/lib/data/index.js";
import { gates, train } from "../../src/lib/models/index.js";
import { runPipeline } from "../../src/testing/index.js";
import { makeTempDir } from "../data/temp-data.js";

const tmp = makeTempDir("ty-param-functions-");
afterAll(() => tmp.cleanup());

const params = z.object({
  threshold: z.number().default(2),
  mode: z.enum(["above", "all"]).default("above"),
  limit: z.number().int().default(10),
  landing: z.string().default("landing"),
  rounds: z.number().int().default(5),
  unused: z.number().default(0),
});

function build(csv: string) {
  const p = pipeline("param-functions", { params });
  const rows = p.step("rows", { sources: () => [csv], run: (ctx) => ctx.dataset(csv, { format: "csv" }) });
  sqlStep(p, "above", {
    inputs: { rows },
    sql: (params) =>
      params.mode === "above"
        ? `SELECT x FROM rows WHERE x > ${params.threshold}`
        : `SELECT x FROM rows LIMIT ${params.limit}`,
  });
  sqlReport(p, "report", { title: "count", inputs: { rows }, sql: (params) => `SELECT ${params.threshold} AS t` });
  sqlStep(p, "declared", { inputs: { rows }, params: ["limit"], sql: "SELECT x FROM rows" });
  return p;
}

describe("params read by a step's function", () => {
  it("are found from the function itself, for every library step that takes one", () => {
    const p = build("unused.csv");
    landedFiles(p, "files", { dir: (params) => params.landing, match: /\.csv$/ });
    train(p, "train", {
      train: p.ref("rows"),
      features: p.ref("rows"),
      label: "x",
      algorithm: (params) => ({ kind: "gbdt", numRounds: params.rounds }),
    });
    gates(p, "gates", {
      evaluation: p.ref("rows"),
      gates: (params) => [{ kind: "metric", metric: "auc", min: params.threshold / 10 }],
    });
    const read = (id: string) => p.steps.get(id)?.params;
    // The defaults take the "above" branch, which reads mode and threshold but not limit.
    expect(read("above")).toEqual(["mode", "threshold"]);
    expect(read("report")).toEqual(["threshold"]);
    expect(read("declared")).toEqual(["limit"]);
    expect(read("files")).toEqual(["landing"]);
    expect(read("train")).toEqual(["rounds"]);
    expect(read("gates")).toEqual(["threshold"]);
  });

  it("enter the cache key, and no other param does", async () => {
    const csv = tmp.path("rows.csv");
    writeFileSync(csv, "x\n1\n2\n3\n4\n5\n");
    const home = tmp.path("home");
    const run = async (values: Record<string, unknown>) => {
      const t = await runPipeline(build(csv), { home, params: values });
      try {
        expect(t.result.status, JSON.stringify(t.result.error)).toBe("succeeded");
        const rows = (await t.output("above")).meta.rows as number;
        const cached = Object.fromEntries(t.result.steps.map((s) => [s.step, s.cached]));
        return { rows, cached };
      } finally {
        await t.cleanup();
      }
    };
    const first = await run({});
    expect(first.rows).toBe(3);
    const unrelated = await run({ unused: 7 });
    expect(unrelated.cached).toMatchObject({ above: true, report: true, declared: true });
    const changed = await run({ threshold: 3 });
    expect(changed.rows).toBe(2);
    expect(changed.cached).toMatchObject({ above: false, report: false, declared: true });
  });

  it("fails the step naming a param only another branch reads, rather than caching without it", async () => {
    const csv = tmp.path("branch.csv");
    writeFileSync(csv, "x\n1\n2\n");
    const t = await runPipeline(build(csv), { params: { mode: "all" } });
    try {
      expect(t.result.status).toBe("failed");
      const failed = t.result.steps.find((s) => s.step === "above");
      expect(failed?.status).toBe("failed");
      expect(JSON.stringify(t.result.error)).toContain("PARAM_NOT_DECLARED");
      expect(JSON.stringify(t.result.error)).toContain("limit");
    } finally {
      await t.cleanup();
    }
  });

  it("asks for `params` when the function cannot be called on the defaults", () => {
    const p = pipeline("no-default", { params: z.object({ table: z.string() }) });
    const rows = p.step("rows", { run: () => 1 });
    let error: unknown;
    try {
      sqlStep(p, "q", { inputs: { rows } as never, sql: (params) => `SELECT * FROM ${params.table.toUpperCase()}` });
    } catch (err) {
      error = err;
    }
    expect(isTrainyardError(error) && error.code).toBe("PARAM_NOT_DECLARED");
    expect(String((error as Error).message)).toContain('step "q"');
    // Listing them is the way out, and the function is not called then.
    sqlStep(p, "q2", {
      inputs: { rows } as never,
      params: ["table"],
      sql: (params) => `SELECT * FROM ${params.table.toUpperCase()}`,
    });
    expect(p.steps.get("q2")?.params).toEqual(["table"]);
  });
});
