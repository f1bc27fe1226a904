import { describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import { sleep, stepOf, useHomes } from "./support.js";

const homes = useHomes();

describe("fail fast", () => {
  it(
    "skips the dependents of a failed step and cancels " + "an in-flight sibling whose only consumer was skipped",
    async () => {
      const { ty } = await homes.open();
      const seen = { siblingAborted: false, siblingFinished: false, independentFinished: false, childRan: false };
      const p = pipeline("failfast");
      const bad = p.step("bad", {
        run: async () => {
          await sleep(30);
          throw new Error("bad data");
        },
      });
      const sibling = p.step("sibling", {
        run: async (ctx) => {
          ctx.signal.addEventListener("abort", () => (seen.siblingAborted = true));
          await sleep(10_000, ctx.signal);
          seen.siblingFinished = true;
          return 1;
        },
      });
      const child = p.step("child", { inputs: { bad }, run: () => ((seen.childRan = true), 1) });
      p.step("grandchild", { inputs: { child }, run: () => 2 });
      p.step("needsBoth", { inputs: { bad, sibling }, run: () => 3 });
      p.step("independent", {
        run: async () => {
          await sleep(60);
          seen.independentFinished = true;
          return 4;
        },
      });
      const r = await ty.run(p, { concurrency: 4 });
      expect(r.status).toBe("failed");
      const status = Object.fromEntries(r.steps.map((s) => [s.step, s.status]));
      expect(status).toEqual({
        bad: "failed",
        sibling: "cancelled",
        child: "skipped",
        grandchild: "skipped",
        needsBoth: "skipped",
        independent: "succeeded",
      });
      expect(seen).toEqual({
        siblingAborted: true,
        siblingFinished: false,
        independentFinished: true,
        childRan: false,
      });
      const records = Object.fromEntries((await ty.metadata.listStepRuns(r.runId)).map((s) => [s.stepId, s]));
      expect(records.child.reason).toContain('"bad"');
      expect(records.sibling.status).toBe("cancelled");
      expect(records.sibling.reason).toMatch(/no longer needed/);
      const run = await ty.metadata.getRun(r.runId);
      expect(run!.status).toBe("failed");
      expect(run!.error?.message).toContain("bad data");
      expect(run!.finishedAt).toBeGreaterThanOrEqual(run!.createdAt);
    },
  );

  it("names the failing step and keeps the user's message, with a hint pointing at its logs", async () => {
    const { ty } = await homes.open();
    const p = pipeline("failmsg");
    p.step("train", {
      run: () => {
        throw new RangeError("learning rate must be positive");
      },
    });
    const r = await ty.run(p);
    expect(r.error).toMatchObject({ code: "STEP_FAILED" });
    expect(r.error!.message).toContain('step "train"');
    expect(r.error!.message).toContain("learning rate must be positive");
    expect(r.error!.hint).toContain(`trainyard logs ${r.runId} train`);
    expect(r.error!.cause?.name).toBe("RangeError");
  });

  it("keeps the code of an error that carries one", async () => {
    const { ty } = await homes.open();
    const p = pipeline("failcode");
    p.step("validate", {
      run: () => {
        throw Object.assign(new Error("column `delay` has nulls"), {
          code: "CONTRACT_VIOLATED",
          hint: "drop or impute nulls",
        });
      },
    });
    const r = await ty.run(p);
    expect(stepOf(r, "validate").error).toMatchObject({ code: "CONTRACT_VIOLATED", hint: "drop or impute nulls" });
  });
});

describe("cancellation", () => {
  it("stops a run when its AbortSignal fires and records it as cancelled", async () => {
    const { ty } = await homes.open();
    const controller = new AbortController();
    let aborted = false;
    let downstreamRan = false;
    const p = pipeline("cancel");
    const fast = p.step("fast", { run: () => 1 });
    const slow = p.step("slow", {
      inputs: { fast },
      run: async (ctx) => {
        ctx.signal.addEventListener("abort", () => (aborted = true));
        await sleep(10_000, ctx.signal);
        return 2;
      },
    });
    p.step("after", { inputs: { slow }, run: () => ((downstreamRan = true), 3) });
    const r = await ty.run(p, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === "step-started" && e.stepId === "slow") setTimeout(() => controller.abort(), 20);
      },
    });
    expect(r.status).toBe("cancelled");
    expect(aborted).toBe(true);
    expect(downstreamRan).toBe(false);
    expect(Object.fromEntries(r.steps.map((s) => [s.step, s.status]))).toEqual({
      fast: "succeeded",
      slow: "cancelled",
      after: "cancelled",
    });
    const run = await ty.metadata.getRun(r.runId);
    expect(run!.status).toBe("cancelled");
    const records = Object.fromEntries((await ty.metadata.listStepRuns(r.runId)).map((s) => [s.stepId, s.status]));
    expect(records).toEqual({ fast: "succeeded", slow: "cancelled", after: "cancelled" });
    const attempts = await ty.metadata.listAttempts(`${r.runId}:slow`);
    expect(attempts.map((a) => a.status)).toEqual(["cancelled"]);
  });

  it("runs nothing when the signal is already aborted", async () => {
    const { ty } = await homes.open();
    let ran = false;
    const p = pipeline("cancel-early");
    p.step("a", { run: () => ((ran = true), 1) });
    const r = await ty.run(p, { signal: AbortSignal.abort() });
    expect(r.status).toBe("cancelled");
    expect(ran).toBe(false);
    expect((await ty.metadata.getRun(r.runId))!.status).toBe("cancelled");
  });
});

describe("outputs", () => {
  class Model {
    constructor(readonly weights: number[]) {}
  }
  const invalid: Array<[string, () => unknown, RegExp]> = [
    ["a class instance", () => new Model([1, 2]), /Model/],
    ["a function", () => () => 1, /function/],
    ["a Map", () => new Map([["a", 1]]), /Map/],
    ["a nested function", () => ({ ok: 1, fn: () => 2 }), /output\.fn/],
    ["a bigint", () => 10n, /bigint/],
  ];
  for (const [what, value, detail] of invalid) {
    it(`rejects ${what} with OUTPUT_INVALID and a hint`, async () => {
      const { ty } = await homes.open();
      const p = pipeline("bad-output");
      p.step("produce", { run: value });
      const r = await ty.run(p);
      expect(r.status).toBe("failed");
      const err = stepOf(r, "produce").error!;
      expect(err.code).toBe("OUTPUT_INVALID");
      expect(err.message).toContain('"produce"');
      expect(err.message).toMatch(detail);
      expect(err.hint).toMatch(/ctx\.file/);
      expect((await ty.metadata.getRun(r.runId))!.status).toBe("failed");
    });
  }

  it("stores JSON values (nested, null, dates as strings) and hands them downstream", async () => {
    const { ty } = await homes.open();
    const p = pipeline("json-output");
    const v = p.step("v", { run: () => ({ n: 1.5, s: "x", list: [1, null, { deep: true }], nothing: null }) });
    p.step("copy", { inputs: { v }, run: (_c, { v }) => v });
    const r = await ty.run(p);
    expect(r.status).toBe("succeeded");
    expect(await ty.output(r.runId, "copy")).toEqual({
      n: 1.5,
      s: "x",
      list: [1, null, { deep: true }],
      nothing: null,
    });
  });

  it("stores a large output in the artifact store and reuses it from the cache", async () => {
    const { ty } = await homes.open();
    let made = 0;
    const make = () => {
      const p = pipeline("big-output");
      const big = p.step("big", { run: () => (made++, Array.from({ length: 50_000 }, (_, i) => ({ i, sq: i * i }))) });
      p.step("sum", { inputs: { big }, run: (_c, { big }) => big.reduce((a, b) => a + b.i, 0) });
      return p;
    };
    const r1 = await ty.run(make());
    expect(r1.status).toBe("succeeded");
    const digest = (await ty.metadata.getStepRun(`${r1.runId}:big`))!.outputDigest!;
    expect(await ty.metadata.getArtifact(digest)).toMatchObject({ kind: "json", inline: false });
    expect(await ty.artifacts.has(digest)).toBe(true);
    expect(await ty.output(r1.runId, "sum")).toBe((50_000 * 49_999) / 2);
    const r2 = await ty.run(make());
    expect(r2.steps.every((s) => s.cached)).toBe(true);
    expect(made).toBe(1);
  });
});
