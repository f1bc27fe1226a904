import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { shortDigest } from "../../src/core/hash.js";
import { pipeline } from "../../src/index.js";
import { stepOf } from "./support.js";
import { engineBackends, useBackendHomes } from "./engine-backends.js";

for (const backend of engineBackends()) {
  backend.describe(`on ${backend.label} metadata`, () => {
    const homes = useBackendHomes(backend);

    /** prep reads `a`; flag reads `b` but only returns whether it is positive; echo reads `b`; join reads both. */
    function build(counts: Record<string, number>, opts: { version?: string } = {}) {
      const p = pipeline("cache", { params: z.object({ a: z.number().default(1), b: z.number().default(1) }) });
      const hit = (id: string) => (counts[id] = (counts[id] ?? 0) + 1);
      const prep = p.step("prep", {
        params: ["a"],
        version: opts.version,
        run: (ctx) => (hit("prep"), ctx.params.a * 10),
      });
      const flag = p.step("flag", { params: ["b"], run: (ctx) => (hit("flag"), ctx.params.b > 0) });
      const echo = p.step("echo", { params: ["b"], run: (ctx) => (hit("echo"), ctx.params.b) });
      p.step("fromFlag", { inputs: { prep, flag }, run: (_ctx, i) => (hit("fromFlag"), `${i.prep}:${i.flag}`) });
      p.step("fromEcho", { inputs: { echo }, run: (_ctx, i) => (hit("fromEcho"), i.echo * 2) });
      return p;
    }

    describe("caching", () => {
      it("reuses every step on a second identical run", async () => {
        const { ty } = await homes.open();
        const counts: Record<string, number> = {};
        const r1 = await ty.run(build(counts));
        expect(r1.status).toBe("succeeded");
        expect(r1.steps.every((s) => !s.cached)).toBe(true);
        const r2 = await ty.run(build(counts));
        expect(r2.status).toBe("succeeded");
        expect(r2.steps.map((s) => [s.step, s.cached])).toEqual(r1.steps.map((s) => [s.step, true]));
        expect(counts).toEqual({ prep: 1, flag: 1, echo: 1, fromFlag: 1, fromEcho: 1 });
        expect(await ty.output(r2.runId, "fromFlag")).toBe("10:true");
        const records = await ty.metadata.listStepRuns(r2.runId);
        for (const r of records) {
          expect(r.cached).toBe(true);
          expect(r.cachedFrom).toBe(`${r1.runId}:${r.stepId}`);
        }
      });

      it("reruns only the steps that read a changed param, and what their changed outputs feed", async () => {
        const { ty } = await homes.open();
        const counts: Record<string, number> = {};
        await ty.run(build(counts), { params: { b: 1 } });
        const r2 = await ty.run(build(counts), { params: { b: 2 } });
        expect(r2.status).toBe("succeeded");
        const cached = Object.fromEntries(r2.steps.map((s) => [s.step, s.cached]));
        // flag and echo read b; echo's output changed so fromEcho reruns; flag's did not (2 > 0 as 1 > 0).
        expect(cached).toEqual({ prep: true, flag: false, echo: false, fromFlag: true, fromEcho: false });
        expect(counts).toEqual({ prep: 1, flag: 2, echo: 2, fromFlag: 1, fromEcho: 2 });
        expect(await ty.output(r2.runId, "fromEcho")).toBe(4);
      });

      it("invalidates a step whose version is bumped", async () => {
        const { ty } = await homes.open();
        const counts: Record<string, number> = {};
        await ty.run(build(counts, { version: "1" }));
        const r2 = await ty.run(build(counts, { version: "2" }));
        expect(stepOf(r2, "prep").cached).toBe(false);
        expect(stepOf(r2, "echo").cached).toBe(true);
        expect(stepOf(r2, "fromFlag").cached).toBe(true); // same output of prep, same key
        expect(counts.prep).toBe(2);
        const why = await ty.why(r2.runId, "prep");
        expect(why.decision).toBe("ran");
        expect(why.reasons.join("\n")).toContain('version bumped "1" -> "2"');
      });

      it("recomputes everything with force: true and only the named steps with force: [ids]", async () => {
        const { ty } = await homes.open();
        const counts: Record<string, number> = {};
        await ty.run(build(counts));
        const all = await ty.run(build(counts), { force: true });
        expect(all.steps.every((s) => !s.cached && s.status === "succeeded")).toBe(true);
        expect(counts).toEqual({ prep: 2, flag: 2, echo: 2, fromFlag: 2, fromEcho: 2 });
        const one = await ty.run(build(counts), { force: ["echo"] });
        expect(Object.fromEntries(one.steps.map((s) => [s.step, s.cached]))).toEqual({
          prep: true,
          flag: true,
          echo: false,
          fromFlag: true,
          fromEcho: true,
        });
        expect(counts.echo).toBe(3);
        expect((await ty.why(one.runId, "echo")).reasons.join("\n")).toMatch(/forced/);
      });

      it("recomputes a step whose cached file output is no longer in the artifact store", async () => {
        const { ty } = await homes.open();
        let produced = 0;
        const make = () => {
          const p = pipeline("lost-file");
          const f = p.step("write", {
            run: (ctx) => {
              produced++;
              fs.writeFileSync(path.join(ctx.workdir, "data.txt"), "payload");
              return ctx.file("data.txt");
            },
          });
          p.step("read", { inputs: { f }, cache: false, run: (_ctx, { f }) => fs.readFileSync(f.path, "utf8") });
          return p;
        };
        const r1 = await ty.run(make());
        const handle = (await ty.output(r1.runId, "write")) as { digest: string };
        await ty.artifacts.delete(handle.digest);
        const r2 = await ty.run(make());
        expect(stepOf(r2, "read").error?.message).toBeUndefined();
        expect(r2.status).toBe("succeeded");
        expect(stepOf(r2, "write").cached).toBe(false);
        expect(produced).toBe(2);
        expect(await ty.output(r2.runId, "read")).toBe("payload");
      });

      it("does not cache steps with cache: false", async () => {
        const { ty } = await homes.open();
        let n = 0;
        const make = () => {
          const p = pipeline("nocache");
          p.step("always", { cache: false, run: () => ++n });
          return p;
        };
        await ty.run(make());
        const r2 = await ty.run(make());
        expect(stepOf(r2, "always").cached).toBe(false);
        expect(n).toBe(2);
      });

      it("treats a change of `config` as a change of the step", async () => {
        const { ty } = await homes.open();
        let n = 0;
        const make = (threshold: number) => {
          const p = pipeline("config");
          p.step("gate", { config: { threshold }, run: () => ++n });
          return p;
        };
        await ty.run(make(0.5));
        await ty.run(make(0.5));
        const r3 = await ty.run(make(0.7));
        expect(n).toBe(2);
        expect((await ty.why(r3.runId, "gate")).reasons.join("\n")).toContain("configuration changed");
      });

      it("keys a consumer of ref.pick(field) on that field only", async () => {
        const { ty } = await homes.open();
        let n = 0;
        const make = (other: number) => {
          const p = pipeline("pick", { params: z.object({ other: z.number().default(0) }) });
          const src = p.step("src", { params: ["other"], run: (ctx) => ({ kept: "same", other: ctx.params.other }) });
          p.step("usesKept", { inputs: { kept: src.pick("kept") }, run: (_ctx, i) => (n++, i.kept.toUpperCase()) });
          return { p, other };
        };
        const a = make(1);
        await ty.run(a.p, { params: { other: a.other } });
        const b = make(2);
        const r2 = await ty.run(b.p, { params: { other: b.other } });
        expect(stepOf(r2, "src").cached).toBe(false);
        expect(stepOf(r2, "usesKept").cached).toBe(true);
        expect(n).toBe(1);
      });
    });

    describe("why", () => {
      it("explains a param change old -> new and the input digest change it caused downstream", async () => {
        const { ty } = await homes.open();
        const counts: Record<string, number> = {};
        const r1 = await ty.run(build(counts), { params: { b: 1 } });
        const r2 = await ty.run(build(counts), { params: { b: 5 } });
        const echo = await ty.why(r2.runId, "echo");
        expect(echo.decision).toBe("ran");
        expect(echo.reasons).toContain("cache miss: param `b` changed 1 -> 5");
        expect(echo.against?.runId).toBe(r1.runId);
        const down = await ty.why(r2.runId, "fromEcho");
        expect(down.decision).toBe("ran");
        const before = (await ty.metadata.getStepRun(`${r1.runId}:echo`))!.outputDigest!;
        const after = (await ty.metadata.getStepRun(`${r2.runId}:echo`))!.outputDigest!;
        expect(before).not.toBe(after);
        expect(down.reasons.join("\n")).toContain(
          `input \`echo\` changed: digest ${shortDigest(before)}.. -> ${shortDigest(after)}..`,
        );
      });

      it("explains a cache hit with the run it reused", async () => {
        const { ty } = await homes.open();
        const counts: Record<string, number> = {};
        const r1 = await ty.run(build(counts));
        const r2 = await ty.run(build(counts));
        const why = await ty.why(r2.runId, "prep");
        expect(why.decision).toBe("cache hit");
        expect(why.against).toEqual({ runId: r1.runId, stepRunId: `${r1.runId}:prep` });
        expect(why.reasons.join("\n")).toContain(`${r1.runId}:prep`);
      });

      it("says a first run had nothing to compare with, and names unknown runs and steps", async () => {
        const { ty } = await homes.open();
        const r1 = await ty.run(build({}));
        expect((await ty.why(r1.runId, "prep")).reasons.join("\n")).toMatch(/no earlier run/);
        await expect(ty.why(r1.runId, "nope")).rejects.toMatchObject({
          code: "NOT_FOUND",
          hint: expect.stringContaining("prep"),
        });
        await expect(ty.why(r1.runId, "prepp")).rejects.toMatchObject({
          message: expect.stringContaining('has no step "prepp" (did you mean "prep"?)'),
        });
        // A step the run planned and has not reached: said so, not called unknown.
        const running = { ...(await ty.metadata.getRun(r1.runId))!, id: `${r1.runId}-b`, status: "running" as const };
        await ty.metadata.createRun(running);
        await expect(ty.why(running.id, "prep")).rejects.toMatchObject({
          code: "NOT_FOUND",
          message: `run ${running.id} has not decided step "prep" yet`,
        });
        await expect(ty.why("no-such-run", "prep")).rejects.toMatchObject({ code: "NOT_FOUND" });
      });
    });

    describe("plan", () => {
      it("says what would run and be reused, and why, without running or recording anything", async () => {
        const { ty } = await homes.open();
        const counts: Record<string, number> = {};
        const fresh = await ty.plan(build(counts));
        expect(fresh.steps.map((s) => s.action)).toEqual(["run", "run", "run", "depends", "depends"]);
        expect(fresh.steps.find((s) => s.step === "prep")!.reasons.join()).toMatch(/no earlier run/);
        expect(await ty.metadata.listRuns()).toEqual([]);

        const r1 = await ty.run(build(counts), { params: { b: 1 } });
        const same = await ty.plan(build(counts), { params: { b: 1 } });
        expect(same.steps.every((s) => s.action === "reuse")).toBe(true);
        expect(same.steps.find((s) => s.step === "prep")!.from).toBe(`${r1.runId}:prep`);

        const changed = await ty.plan(build(counts), { params: { b: 3 } });
        const byStep = Object.fromEntries(changed.steps.map((s) => [s.step, s]));
        expect(byStep.prep.action).toBe("reuse");
        expect(byStep.echo.action).toBe("run");
        expect(byStep.echo.reasons.join("\n")).toContain("param `b` changed 1 -> 3");
        expect(byStep.fromEcho).toMatchObject({ action: "depends", waitsFor: ["echo"] });
        expect(byStep.fromEcho.reasons.join("\n")).toMatch(/upstream "echo" will run/);
        expect(changed.params).toEqual({ a: 1, b: 3 });

        const forced = await ty.plan(build(counts), { params: { b: 1 }, force: ["prep"] });
        expect(forced.steps.find((s) => s.step === "prep")).toMatchObject({
          action: "run",
          reasons: ["forced (--force)"],
        });

        expect(counts).toEqual({ prep: 1, flag: 1, echo: 1, fromFlag: 1, fromEcho: 1 });
        expect((await ty.metadata.listRuns()).map((r) => r.id)).toEqual([r1.runId]);
      });
    });

    describe("code changes (pipeline modules)", () => {
      const moduleText = (body: string) => `import { pipeline } from "trainyard";
    import { appendFileSync } from "node:fs";
    import { join } from "node:path";
    import { z } from "zod";
    const p = pipeline("codechange", { params: z.object({ dir: z.string() }) });
    const count = (dir: string, step: string) => appendFileSync(join(dir, step + ".count"), "x");
    const stable = p.step("stable", { params: ["dir"], run: (ctx) => { count(ctx.params.dir, "stable"); return 2; } });
    const edited = p.step("edited", {
      params: ["dir"],
      inputs: { stable },
      run: (ctx, { stable }) => { count(ctx.params.dir, "edited"); ${body} },
    });
    p.step("after", {
      params: ["dir"],
      inputs: { edited },
      run: (ctx, { edited }) => { count(ctx.params.dir, "after"); return edited + 1; },
    });
    export default p;
    `;

      it("reruns exactly the edited step (and what its new output feeds) when the module's code changes", async () => {
        const { ty } = await homes.open();
        const dir = homes.fixtureDir();
        const counts = homes.tempDir();
        const mod = path.join(dir, "pipeline.ts");
        const count = (id: string) =>
          fs.existsSync(path.join(counts, `${id}.count`))
            ? fs.readFileSync(path.join(counts, `${id}.count`), "utf8").length
            : 0;
        fs.writeFileSync(mod, moduleText("return stable * 10;"));
        const r1 = await ty.run(mod, { params: { dir: counts } });
        expect(r1.status).toBe("succeeded");
        expect(await ty.output(r1.runId, "after")).toBe(21);
        const r2 = await ty.run(mod, { params: { dir: counts } });
        expect(r2.steps.every((s) => s.cached)).toBe(true);

        fs.writeFileSync(mod, moduleText("return stable * 100 + 0;"));
        const r3 = await ty.run(mod, { params: { dir: counts } });
        expect(r3.status).toBe("succeeded");
        expect(Object.fromEntries(r3.steps.map((s) => [s.step, s.cached]))).toEqual({
          stable: true,
          edited: false,
          after: false,
        });
        expect([count("stable"), count("edited"), count("after")]).toEqual([1, 2, 2]);
        expect(await ty.output(r3.runId, "after")).toBe(201);
        const why = await ty.why(r3.runId, "edited");
        expect(why.reasons.join("\n")).toMatch(/code changed \(fingerprint [0-9a-f]{12} -> [0-9a-f]{12}\)/);
        const run3 = await ty.metadata.getRun(r3.runId);
        const run1 = await ty.metadata.getRun(r1.runId);
        expect(run3!.codeVersion).not.toBe(run1!.codeVersion);
      });

      it("reruns a step when a helper it calls, imported from another file, changes", async () => {
        const { ty } = await homes.open();
        const dir = homes.fixtureDir();
        const mod = path.join(dir, "pipeline.ts");
        const helper = path.join(dir, "features.ts");
        fs.writeFileSync(helper, "export function scale(x: number): number {\n  return x * 10;\n}\n");
        fs.writeFileSync(
          mod,
          `import { pipeline } from "trainyard";\nimport { scale } from ` +
            `"./features.js";\nconst p = pipeline("helper-change");\np.step("scaled", { run: ` +
            `() => scale(4) });\nexport default p;\n`,
        );
        const r1 = await ty.run(mod);
        expect(await ty.output(r1.runId, "scaled")).toBe(40);
        fs.writeFileSync(helper, "export function scale(x: number): number {\n  return x * 1000;\n}\n");
        const r2 = await ty.run(mod);
        expect(stepOf(r2, "scaled").cached).toBe(false);
        expect(await ty.output(r2.runId, "scaled")).toBe(4000);
      });
    });
  });
}
