import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Fatal, pipeline } from "../../src/index.js";
import { stepOf, useHomes } from "./support.js";

const homes = useHomes();

function build(calls: number[], opts: { failOnce?: Set<number>; failAlways?: Set<number> } = {}) {
  const p = pipeline("fanout", { params: z.object({ n: z.number().default(3) }) });
  const items = p.step("items", { params: ["n"], run: (ctx) => Array.from({ length: ctx.params.n }, (_, i) => i + 1) });
  const squares = p.map("square", {
    over: items,
    retry: { attempts: 3, initialDelayMs: 1, jitter: 0 },
    run: (ctx, item: number) => {
      calls.push(item);
      if (opts.failOnce?.has(item) && ctx.attempt === 1) throw new Error(`flaky item ${item}`);
      if (opts.failAlways?.has(item)) throw new Fatal(`item ${item} is broken`);
      return item * item;
    },
  });
  p.step("total", { inputs: { squares }, run: (_ctx, { squares }) => squares.reduce((a, b) => a + b, 0) });
  return p;
}

describe("map steps", () => {
  it("runs the function once per item and hands the list of results to a reduce step", async () => {
    const { ty } = await homes.open();
    const calls: number[] = [];
    const r = await ty.run(build(calls), { params: { n: 3 } });
    expect(r.status).toBe("succeeded");
    expect(calls.sort()).toEqual([1, 2, 3]);
    expect(await ty.output(r.runId, "square")).toEqual([1, 4, 9]);
    expect(await ty.output(r.runId, "total")).toBe(14);
    expect(stepOf(r, "square").items).toBe(3);
    const records = (await ty.metadata.listStepRuns(r.runId)).filter((s) => s.stepId === "square" && s.itemIndex >= 0);
    expect(records.map((s) => s.itemIndex).sort()).toEqual([0, 1, 2]);
  });

  it("caches per item: adding an item runs only that item", async () => {
    const { ty } = await homes.open();
    const calls: number[] = [];
    await ty.run(build(calls), { params: { n: 3 } });
    calls.length = 0;
    const r2 = await ty.run(build(calls), { params: { n: 4 } });
    expect(r2.status).toBe("succeeded");
    expect(calls).toEqual([4]);
    expect(await ty.output(r2.runId, "total")).toBe(30);
    const items = (await ty.metadata.listStepRuns(r2.runId)).filter((s) => s.stepId === "square" && s.itemIndex >= 0);
    expect(
      items
        .filter((s) => s.cached)
        .map((s) => s.itemIndex)
        .sort(),
    ).toEqual([0, 1, 2]);
    const why = await ty.why(r2.runId, "square");
    expect(why.reasons[0]).toMatch(/4 items: 3 reused from the cache, 1 ran/);

    calls.length = 0;
    const r3 = await ty.run(build(calls), { params: { n: 4 } });
    expect(calls).toEqual([]);
    expect(stepOf(r3, "square").cached).toBe(true);
  });

  it("plans per item: reports how many items are cached and why the others would run", async () => {
    const { ty } = await homes.open();
    const calls: number[] = [];
    const failed = await ty.run(build(calls, { failAlways: new Set([4]) }), { params: { n: 4 }, concurrency: 1 });
    expect(failed.status).toBe("failed");
    const plan = await ty.plan(build(calls), { params: { n: 4 } });
    const byStep = Object.fromEntries(plan.steps.map((s) => [s.step, s]));
    expect(byStep.items.action).toBe("reuse");
    expect(byStep.square.action).toBe("run");
    expect(byStep.square.items).toEqual({ total: 4, reused: 3 });
    expect(byStep.square.reasons.join("\n")).toMatch(/item 3: the last run with this key failed/);
    expect(byStep.total.action).toBe("depends");
    const before = calls.length;
    const r = await ty.run(build(calls), { params: { n: 4 } });
    expect(r.status).toBe("succeeded");
    expect(calls.slice(before)).toEqual([4]);
    const same = await ty.plan(build(calls), { params: { n: 4 } });
    expect(same.steps.map((s) => s.action)).toEqual(["reuse", "reuse", "reuse"]);
  });

  it("retries a failing item on its own", async () => {
    const { ty } = await homes.open();
    const calls: number[] = [];
    const r = await ty.run(build(calls, { failOnce: new Set([2]) }), { params: { n: 3 } });
    expect(r.status).toBe("succeeded");
    expect(calls.filter((c) => c === 2)).toHaveLength(2);
    expect(calls.filter((c) => c !== 2).sort()).toEqual([1, 3]);
    const items = (await ty.metadata.listStepRuns(r.runId)).filter((s) => s.stepId === "square" && s.itemIndex >= 0);
    const attempts = Object.fromEntries(items.map((s) => [s.itemIndex, s.attempts]));
    expect(attempts).toEqual({ 0: 1, 1: 2, 2: 1 });
    const tries = await ty.metadata.listAttempts(`${r.runId}:square[1]`);
    expect(tries.map((a) => a.status)).toEqual(["failed", "succeeded"]);
    expect(tries[0].error?.message).toContain("flaky item 2");
  });

  it("fails the map step, naming the item, when an item keeps failing", async () => {
    const { ty } = await homes.open();
    const p = pipeline("fanout-fail");
    const items = p.step("items", { run: () => ["a", "b", "c"] });
    const m = p.map("shout", {
      over: items,
      run: (_ctx, item: string) => {
        if (item === "b") throw new Error("b is bad");
        return item.toUpperCase();
      },
    });
    p.step("after", { inputs: { m }, run: (_c, i) => i.m.join("") });
    const r = await ty.run(p, { concurrency: 1 });
    expect(r.status).toBe("failed");
    expect(stepOf(r, "shout").status).toBe("failed");
    expect(stepOf(r, "shout").error?.message).toMatch(/item 1/);
    expect(stepOf(r, "shout").error?.message).toContain("b is bad");
    expect(stepOf(r, "after").status).toBe("skipped");
  });

  it("maps an empty list to an empty list", async () => {
    const { ty } = await homes.open();
    const calls: number[] = [];
    const r = await ty.run(build(calls), { params: { n: 0 } });
    expect(r.status).toBe("succeeded");
    expect(calls).toEqual([]);
    expect(await ty.output(r.runId, "square")).toEqual([]);
    expect(await ty.output(r.runId, "total")).toBe(0);
  });

  it("fails clearly when `over` is not a list", async () => {
    const { ty } = await homes.open();
    const p = pipeline("fanout-bad");
    const notList = p.step("config", { run: () => ({ a: 1 }) });
    p.map("each", { over: notList as never, run: (_ctx, x: unknown) => x });
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    const err = stepOf(r, "each").error!;
    expect(err.code).toBe("STEP_FAILED");
    expect(err.message).toContain('"each"');
    expect(err.message).toContain('"config"');
    expect(err.message).toMatch(/not a list/);
    expect(err.hint).toMatch(/return an array/);
    expect((await ty.metadata.getRun(r.runId))!.status).toBe("failed");
  });

  it("fans out over a picked field of a step's output", async () => {
    const { ty } = await homes.open();
    const p = pipeline("fanout-pick");
    const cfg = p.step("cfg", { run: () => ({ files: ["x", "yy", "zzz"], other: 1 }) });
    p.map("len", { over: cfg.pick("files"), run: (_ctx, f: string) => f.length });
    const r = await ty.run(p);
    expect(await ty.output(r.runId, "len")).toEqual([1, 2, 3]);
  });
});
