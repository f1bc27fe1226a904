import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "trainyard";
import { currentModel } from "trainyard/models";
import { fileInput, runPipeline, runStep } from "trainyard/testing";
import { z } from "zod";

const p = pipeline("helpers-demo", { params: z.object({ factor: z.number().default(2) }) });
const nums = p.step("nums", { run: () => [1, 2, 3] });
const scaled = p.step("scaled", {
  params: ["factor"],
  inputs: { nums },
  run: (ctx, { nums }) => nums.map((n) => n * ctx.params.factor),
});
p.step("to-file", {
  inputs: { scaled },
  run: (ctx, { scaled }) => {
    writeFileSync(join(ctx.workdir, "out.txt"), scaled.join(","));
    return ctx.file("out.txt");
  },
});
p.step("count-lines", {
  inputs: { text: p.ref<ReturnType<typeof fileInput>>("to-file") },
  run: (_ctx, { text }) => readFileSync(text.path, "utf8").split(",").length,
});

describe("testing helpers", () => {
  it("runStep runs one step with given inputs and params, without the rest of the pipeline", async () => {
    expect(await runStep(p, "scaled", { inputs: { nums: [5, 6] }, params: { factor: 10 } })).toEqual([50, 60]);
    expect(await runStep(p, "scaled", { inputs: { nums: [5] } })).toEqual([10]);
  });

  it("runStep stores file outputs content-addressed and accepts file inputs", async () => {
    const out = await runStep(p, "to-file", { inputs: { scaled: [1, 2] } });
    expect(out.$artifact).toBe("file");
    expect(out.digest).toMatch(/^(sha256|sha256-blocks-8m|sha256-tree):[0-9a-f]{64}$/);
    const dir = mkdtempSync(join(tmpdir(), "ty-in-"));
    writeFileSync(join(dir, "x.txt"), "a,b,c,d");
    expect(await runStep(p, "count-lines", { inputs: { text: fileInput(join(dir, "x.txt")) } })).toBe(4);
  });

  it("runStep rejects an unknown step and an unknown param", async () => {
    await expect(runStep(p, "nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(runStep(p, "scaled", { inputs: { nums: [] }, params: { lr: 1 } })).rejects.toMatchObject({
      code: "UNKNOWN_PARAM",
    });
  });

  it("runStep gives a step the throwaway home's services: registry steps run alone too", async () => {
    const q = pipeline("services");
    q.step("models", { run: async (ctx) => (await (await ctx.services()).registry.listModels()).length });
    currentModel(q, "current", { name: "flights" });
    expect(await runStep(q, "models")).toBe(0);
    expect(await runStep(q, "current")).toBeNull();
  });

  it("runPipeline runs everything in a temporary home and exposes outputs", async () => {
    const t = await runPipeline(p, { params: { factor: 3 } });
    try {
      expect(t.result.status).toBe("succeeded");
      expect(await t.output("scaled")).toEqual([3, 6, 9]);
      expect(await t.output("count-lines")).toBe(3);
    } finally {
      await t.cleanup();
    }
  });
});
