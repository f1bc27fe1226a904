/**
 * Guards and side effects: a run in which any guard (validation, contract, drift, gates, or a
 * user step marked `guard: true`) failed never registers or deploys, whatever the wiring.
 * Real homes, real SQLite registry, real DuckDB drift.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Dataset, ModelArtifact } from "../../src/core/artifacts.js";
import { drift } from "../../src/lib/data/index.js";
import type { GatesResult } from "../../src/lib/gates/gates-step.js";
import { openRegistry } from "../../src/lib/registry/index.js";
import { deploy, register } from "../../src/lib/registry/registry-steps.js";
import { cli } from "../cli/support.js";
import { makeTempDir, rng, writeTable, type Cell } from "../data/temp-data.js";
import { sleep, stepOf, useHomes } from "../engine/support.js";
import { demoPipeline } from "../registry/model-home.js";

const homes = useHomes();
const tmp = makeTempDir("ty-guards-");
afterAll(() => tmp.cleanup());

async function table(name: string, shift: number): Promise<string> {
  const r = rng(500 + shift);
  const rows: Cell[][] = [];
  for (let i = 0; i < 500; i++) rows.push([Math.round(r.normal(10 + shift, 3))]);
  return writeTable(tmp.path(name), { delay: "INTEGER" }, rows);
}

const PASSED: GatesResult = {
  passed: true,
  verdicts: [{ gate: "rmse <= 1", kind: "metric", status: "pass", message: "0.1 <= 1", evidence: {} }],
};

/** train -> gates -> register -> deploy, and a drift check wired to nothing downstream. */
function pipelineWithDrift(refPath: string, curPath: string) {
  const p = demoPipeline();
  const dataset = (file: string) => (ctx: { dataset(path: string, meta?: Partial<Dataset["meta"]>): Dataset }) =>
    ctx.dataset(file, { format: "parquet", source: file });
  const ref = p.step("reference", { sources: () => [refPath], run: dataset(refPath) });
  const cur = p.step("current", { sources: () => [curPath], run: dataset(curPath) });
  drift(p, "drift", {
    reference: ref,
    current: cur,
    config: { defaults: { psi: { threshold: 0.2, action: "fail" } } },
  });
  const model = p.ref<{ model: ModelArtifact }>("train").pick("model");
  const gates = p.step("gates", { inputs: { model }, run: () => PASSED });
  const registered = register(p, "register", { name: "flights", model, gates });
  deploy(p, "deploy", { registered, alias: "production" });
  return p;
}

describe("guards stop side effects whatever the wiring", () => {
  it("skips register and deploy when drift fails, though neither depends on it", async () => {
    const { ty } = await homes.open();
    const p = pipelineWithDrift(await table("ref.parquet", 0), await table("shifted.parquet", 12));
    const r = await ty.run(p, { concurrency: 2 });
    expect(r.status).toBe("failed");
    expect(stepOf(r, "drift").status).toBe("failed");
    expect(stepOf(r, "train").status).toBe("succeeded");
    expect(stepOf(r, "register")).toMatchObject({ status: "skipped", reason: "guard `drift` failed" });
    expect(stepOf(r, "deploy").status).toBe("skipped");
    const reg = openRegistry(ty);
    expect(await reg.getModel("flights")).toBeUndefined();
    const records = await ty.metadata.listStepRuns(r.runId);
    expect(records.find((s) => s.stepId === "register")?.reason).toBe("guard `drift` failed");
  });

  it("lets register and deploy run once every guard passed", async () => {
    const { ty } = await homes.open();
    const p = pipelineWithDrift(await table("ref2.parquet", 0), await table("same.parquet", 0));
    const r = await ty.run(p, { concurrency: 2 });
    expect(r.status).toBe("succeeded");
    expect(stepOf(r, "deploy").status).toBe("succeeded");
    expect((await openRegistry(ty).getVersion("flights", "production"))?.runId).toBe(r.runId);
  });

  it("holds a side effect until a slow user guard finishes, then skips it when the guard fails", async () => {
    const { ty } = await homes.open();
    const { pipeline } = await import("../../src/core/pipeline.js");
    const p = pipeline("user-guard");
    const calls: string[] = [];
    p.step("smoke-test", {
      guard: true,
      run: async (ctx) => {
        await sleep(300, ctx.signal);
        throw new Error("the candidate answered 500 on /predict");
      },
    });
    const built = p.step("build", { run: () => "model" });
    const notified = p.step("notify", { sideEffect: true, inputs: { built }, run: () => void calls.push("notify") });
    p.step("after-notify", { inputs: { notified }, run: () => void calls.push("after-notify") });
    const r = await ty.run(p, { concurrency: 4 });
    expect(calls).toEqual([]);
    expect(r.status).toBe("failed");
    expect(stepOf(r, "notify")).toMatchObject({ status: "skipped", reason: "guard `smoke-test` failed" });
    expect(stepOf(r, "after-notify").status).toBe("skipped");
  });

  it("runs a user side effect after a user guard that passes", async () => {
    const { ty } = await homes.open();
    const { pipeline } = await import("../../src/core/pipeline.js");
    const p = pipeline("user-guard-ok");
    const calls: string[] = [];
    p.step("check", { guard: true, run: async () => void calls.push("check") });
    p.step("publish", { sideEffect: true, run: () => void calls.push("publish") });
    const r = await ty.run(p, { concurrency: 4 });
    expect(r.status).toBe("succeeded");
    expect(calls).toEqual(["check", "publish"]);
  });

  it("skips side effects when a guard rejects the candidate", async () => {
    const { ty } = await homes.open();
    const { pipeline } = await import("../../src/core/pipeline.js");
    const { Rejected } = await import("../../src/core/errors.js");
    const p = pipeline("rejecting-guard");
    p.step("fairness", {
      guard: true,
      run: () => {
        throw new Rejected("tpr gap 0.3 over 0.1");
      },
    });
    p.step("promote", { sideEffect: true, run: () => "moved" });
    const r = await ty.run(p);
    expect(r.status).toBe("rejected");
    expect(stepOf(r, "promote")).toMatchObject({
      status: "skipped",
      reason: "guard `fairness` rejected the candidate",
    });
  });

  it("says so in the run summary and in `trainyard show`", async () => {
    const { ty, home } = await homes.open();
    const dir = homes.fixtureDir();
    const module = path.join(dir, "guarded.ts");
    fs.writeFileSync(
      module,
      `import { pipeline } from "trainyard";
const p = pipeline("guarded");
p.step("validate", { guard: true, run: () => { throw new Error("3 rows violate the contract"); } });
p.step("deploy", { sideEffect: true, run: () => "deployed" });
export default p;
`,
    );
    void ty;
    const run = await cli(["run", module], home);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("side effects skipped: deploy (guard `validate` failed)");
    const runId = /run (\S+) failed/.exec(run.stdout)?.[1] ?? "";
    const shown = await cli(["show", runId], home);
    expect(shown.stdout).toMatch(/deploy\s+skipped\s+.*guard `validate` failed/);
    expect(shown.stdout).toContain("side effects skipped: deploy (guard `validate` failed)");
  });
});
