import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../../src/index.js";
import type { StepDef, StepRef } from "../../src/core/step.js";
import { rejectionOf, useHomes } from "./support.js";

const homes = useHomes();

function build(seen: Array<Record<string, unknown>> = []) {
  const p = pipeline("params", {
    params: z.object({
      lr: z.number().default(0.1),
      epochs: z.number().int().default(3),
      tag: z.string().default("dev"),
      shuffle: z.boolean().default(true),
      layers: z.array(z.number()).default([8]),
    }),
    profiles: { fast: { epochs: 1 }, prod: { epochs: 50, tag: "prod" } },
  });
  p.step("train", { params: ["lr", "epochs"], run: (ctx) => (seen.push({ ...ctx.params }), ctx.params) });
  p.step("describe", { params: ["tag", "shuffle", "layers"], run: (ctx) => ({ ...ctx.params }) });
  return p;
}

/** A hand-made reference, as a buggy helper library might wire one. */
function handRef(stepId: string): StepRef<unknown> {
  return { $ref: true, stepId, path: [], pick: () => handRef(stepId) } as unknown as StepRef<unknown>;
}

describe("params", () => {
  it("gives each step only the params it declares", async () => {
    const { ty } = await homes.open();
    const seen: Array<Record<string, unknown>> = [];
    const r = await ty.run(build(seen));
    expect(seen).toEqual([{ lr: 0.1, epochs: 3 }]);
    expect(Object.keys((await ty.output(r.runId, "describe")) as object).sort()).toEqual(["layers", "shuffle", "tag"]);
    expect((await ty.metadata.getRun(r.runId))!.params).toEqual({
      lr: 0.1,
      epochs: 3,
      tag: "dev",
      shuffle: true,
      layers: [8],
    });
  });

  it("coerces --param strings to each param's declared type", async () => {
    const { ty } = await homes.open();
    const r = await ty.run(build(), {
      overrides: { lr: "0.05", epochs: "7", tag: "123", shuffle: "false", layers: "[16,4]" },
    });
    expect(r.status).toBe("succeeded");
    expect(await ty.output(r.runId, "train")).toEqual({ lr: 0.05, epochs: 7 });
    expect(await ty.output(r.runId, "describe")).toEqual({ tag: "123", shuffle: false, layers: [16, 4] });
  });

  it("rejects an unknown param with UNKNOWN_PARAM listing the known ones, and records a failed run", async () => {
    const { ty } = await homes.open();
    const seen: Array<Record<string, unknown>> = [];
    const err = await rejectionOf(ty.run(build(seen), { overrides: { learning_rate: "0.1" } }));
    expect(err.code).toBe("UNKNOWN_PARAM");
    expect(err.message).toContain("learning_rate");
    expect(err.hint).toBe("known params: lr, epochs, tag, shuffle, layers");
    expect(seen).toEqual([]);
    const runs = await ty.metadata.listRuns();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "failed", pipeline: "params" });
    expect(runs[0].error?.code).toBe("UNKNOWN_PARAM");
    expect(err.fields?.runId).toBe(runs[0].id);
  });

  it("rejects a value of the wrong type with PARAM_INVALID before running anything", async () => {
    const { ty } = await homes.open();
    const seen: Array<Record<string, unknown>> = [];
    const err = await rejectionOf(ty.run(build(seen), { overrides: { epochs: "many" } }));
    expect(err.code).toBe("PARAM_INVALID");
    expect(err.message).toContain('"epochs"');
    expect(err.hint).toContain('"many"');
    expect(err.hint).toContain("--param epochs=");
    expect(seen).toEqual([]);
    expect((await ty.metadata.listRuns())[0]).toMatchObject({ status: "failed" });

    const typed = await rejectionOf(ty.run(build(seen), { params: { epochs: 2.5 } }));
    expect(typed.code).toBe("PARAM_INVALID");
    expect(seen).toEqual([]);
  });

  it("applies a pipeline profile, then typed values, then overrides", async () => {
    const { ty } = await homes.open();
    const r = await ty.run(build(), { profile: "prod", params: { lr: 0.2 }, overrides: { lr: "0.3" } });
    expect(await ty.output(r.runId, "train")).toEqual({ lr: 0.3, epochs: 50 });
    expect((await ty.metadata.getRun(r.runId))!.profile).toBe("prod");
    const r2 = await ty.run(build(), { profile: "fast", params: { lr: 0.2 } });
    expect(await ty.output(r2.runId, "train")).toEqual({ lr: 0.2, epochs: 1 });
  });

  it("rejects an unknown profile, listing the known ones", async () => {
    const { ty } = await homes.open();
    const err = await rejectionOf(ty.run(build(), { profile: "staging" }));
    expect(err.code).toBe("PROFILE_UNKNOWN");
    expect(err.message).toContain("staging");
    expect(err.hint).toContain("fast");
    expect(err.hint).toContain("prod");
    expect((await ty.metadata.listRuns())[0]).toMatchObject({ status: "failed" });
  });

  it("reads profiles from trainyard.config.ts next to the module; the pipeline's own profiles win", async () => {
    const { ty } = await homes.open();
    const dir = homes.fixtureDir();
    fs.writeFileSync(
      path.join(dir, "trainyard.config.ts"),
      `import { defineConfig } from "trainyard";\nexport default defineConfig({ profiles: { ci: { size: ` +
        `2 }, shared: { size: 100 } } });\n`,
    );
    fs.writeFileSync(
      path.join(dir, "pipeline.ts"),
      `import { pipeline } from "trainyard";\nimport { z } from "zod";\nconst p = pipeline("configured", { params: ` +
        `z.object({ size: z.number().default(10) }), ` +
        `profiles: { shared: { size: 5 } } });\np.step("size", { params: ` +
        `["size"], run: (ctx) => ctx.params.size });\nexport default p;\n`,
    );
    const mod = path.join(dir, "pipeline.ts");
    const ci = await ty.run(mod, { profile: "ci" });
    expect(await ty.output(ci.runId, "size")).toBe(2);
    const shared = await ty.run(mod, { profile: "shared" });
    expect(await ty.output(shared.runId, "size")).toBe(5);
    const err = await rejectionOf(ty.run(mod, { profile: "nope" }));
    expect(err.code).toBe("PROFILE_UNKNOWN");
    expect(err.hint).toContain("ci");
  });

  it("rejects a step that reads a param the pipeline does not declare", async () => {
    const { ty } = await homes.open();
    const p = pipeline("undeclared", { params: z.object({ a: z.number().default(1) }) });
    p.step("s", { params: ["b" as never], run: () => 1 });
    const err = await rejectionOf(ty.run(p));
    expect(err.code).toBe("UNKNOWN_PARAM");
    expect(err.message).toContain('"s"');
    expect(err.message).toContain('"b"');
  });
});

describe("graph validation", () => {
  it("rejects a cycle with PIPELINE_CYCLE naming the steps, before running anything", async () => {
    const { ty } = await homes.open();
    let ran = false;
    const p = pipeline("cyclic");
    p.step("root", { run: () => ((ran = true), 0) });
    const a = p.step("a", { run: () => 1 });
    const b = p.step("b", { inputs: { a }, run: () => 2 });
    p.step("c", { inputs: { b }, run: () => 3 });
    const def = p.steps.get("a")!;
    p.steps.set("a", { ...def, inputs: { c: handRef("c") } } as StepDef);
    const err = await rejectionOf(ty.run(p));
    expect(err.code).toBe("PIPELINE_CYCLE");
    for (const id of ["a", "b", "c"]) expect(err.message).toContain(id);
    expect(err.message).toMatch(/(a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
    expect(err.message).not.toContain("root");
    expect(err.hint).toBeTruthy();
    expect(ran).toBe(false);
    const runs = await ty.metadata.listRuns();
    expect(runs[0]).toMatchObject({ status: "failed", pipeline: "cyclic" });
    expect(runs[0].error?.code).toBe("PIPELINE_CYCLE");
  });

  it("rejects a step that reads itself", async () => {
    const { ty } = await homes.open();
    const p = pipeline("selfloop");
    p.step("loop", { run: () => 1 });
    p.steps.set("loop", { ...p.steps.get("loop")!, inputs: { me: handRef("loop") } } as StepDef);
    const err = await rejectionOf(ty.run(p));
    expect(err.code).toBe("PIPELINE_CYCLE");
    expect(err.message).toContain("loop -> loop");
  });

  it("rejects an input wired to a step that does not exist with MISSING_INPUT naming both and the fix", async () => {
    const { ty } = await homes.open();
    const p = pipeline("dangling");
    p.step("train", { inputs: { features: handRef("featurize") }, run: () => 1 });
    const err = await rejectionOf(ty.run(p));
    expect(err.code).toBe("MISSING_INPUT");
    expect(err.message).toContain('"train"');
    expect(err.message).toContain('"featurize"');
    expect(err.message).toContain('"features"');
    expect(err.fields?.step).toBe("train");
    expect(err.hint).toMatch(/define step "featurize"/);
    expect((await ty.metadata.listRuns())[0]).toMatchObject({ status: "failed" });
  });

  it("rejects a picked field the upstream output does not have", async () => {
    const { ty } = await homes.open();
    const p = pipeline("badpick");
    const src = p.step("src", { run: () => ({ a: 1 }) });
    p.step("use", { inputs: { x: src.pick("b" as never) }, run: () => 1 });
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    const err = r.steps.find((s) => s.step === "use")!.error!;
    expect(err.code).toBe("MISSING_INPUT");
    expect(err.message).toContain('"b"');
  });

  it("rejects duplicate and malformed step ids where they are defined", () => {
    const p = pipeline("ids");
    p.step("a", { run: () => 1 });
    expect(() => p.step("a", { run: () => 2 })).toThrow(expect.objectContaining({ code: "DUPLICATE_STEP" }));
    expect(() => p.step("has space", { run: () => 2 })).toThrow(expect.objectContaining({ code: "PIPELINE_INVALID" }));
    expect(() => p.ref("ghost")).toThrow(expect.objectContaining({ code: "MISSING_INPUT" }));
  });

  it("runs an empty pipeline to success", async () => {
    const { ty } = await homes.open();
    const r = await ty.run(pipeline("empty"));
    expect(r).toMatchObject({ status: "succeeded", steps: [] });
  });
});
