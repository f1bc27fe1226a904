/**
 * Experiment tracking in the engine: ctx.metric and ctx.tag from inline, map and isolated steps;
 * JSON lines a real Python command appends to $TRAINYARD_METRICS, recorded while it runs;
 * malformed lines reported by step, file and line; reads through the query API.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../../src/index.js";
import type { RunEvent } from "../../src/engine/events.js";
import { requireTools } from "../support/require-tool.js";
import { stepOf, useHomes, waitFor } from "./support.js";

const homes = useHomes();
const python = requireTools("python3");

function trainingPipeline() {
  const p = pipeline("tracked", { params: z.object({ lr: z.number().default(0.1), trials: z.number().default(3) }) });
  p.step("train", {
    params: ["lr"],
    run: (ctx) => {
      // A loss curve that is lowest at step 2, then rises: best is not last.
      for (const [i, loss] of [0.9, 0.5, 0.3, 0.4].entries())
        ctx.metric("val_loss", loss * ctx.params.lr * 10, { step: i });
      ctx.metric("auc", 0.7 + ctx.params.lr);
      ctx.metric("latency_ms", 12);
      ctx.metric("custom", 5, { goal: "min" });
      ctx.metric("broken", Number.NaN);
      ctx.tag("model", "gbdt");
      return "trained";
    },
  });
  const trials = p.step("trials", {
    params: ["trials"],
    run: (ctx) => Array.from({ length: ctx.params.trials }, (_, i) => i),
  });
  p.map("search", { over: trials, run: (ctx, i: number) => (ctx.metric("auc", 0.6 + i / 100), i) });
  return p;
}

describe("metrics from steps", () => {
  it(
    "records metrics with step indexes, goals, " + "tags and map trials; reads series with final and best values",
    async () => {
      const { ty } = await homes.open();
      const events: RunEvent[] = [];
      const r1 = await ty.run(trainingPipeline(), { onEvent: (e) => events.push(e) });
      expect(r1.status).toBe("succeeded");
      const series = await ty.query.metrics(r1.runId);
      const of = (step: string, name: string, item = -1) =>
        series.find((s) => s.stepId === step && s.name === name && s.itemIndex === item)!;
      const loss = of("train", "val_loss");
      expect(loss.points.map((p) => p.step)).toEqual([0, 1, 2, 3]);
      expect(loss.goal).toBe("min");
      expect(loss.final).toBeCloseTo(0.4);
      expect(loss.best).toMatchObject({ step: 2 });
      expect(loss.best.value).toBeCloseTo(0.3);
      expect(of("train", "auc")).toMatchObject({ goal: "max", final: 0.7 + 0.1 });
      expect(of("train", "latency_ms").goal).toBe("min");
      expect(of("train", "custom").goal).toBe("min");
      expect(series.find((s) => s.name === "broken")).toBeUndefined();
      expect([0, 1, 2].map((i) => of("search", "auc", i).final)).toEqual([0.6, 0.61, 0.62]);
      expect(await ty.query.tags(r1.runId)).toEqual({ model: "gbdt" });
      // A bad value is left out with a warning naming the step; the step still succeeds.
      const warning = events.find((e) => e.type === "warning");
      expect(warning).toMatchObject({
        stepId: "train",
        message: expect.stringContaining('metric "broken" has the value'),
      });
      const log = await ty.metadata.getLogs(`${r1.runId}:train`);
      expect(log.map((l) => l.line).join("\n")).toMatch(/warning: step "train": ctx.metric left out/);
      expect(events.filter((e) => e.type === "metric").length).toBe(4 + 3 + 3);

      // A cached re-run shows the metrics of the step runs it reused.
      const r2 = await ty.run(trainingPipeline());
      expect(stepOf(r2, "train").cached).toBe(true);
      const again = await ty.query.metrics(r2.runId, { step: "train", metric: "val_loss" });
      expect(again).toHaveLength(1);
      expect(again[0]).toMatchObject({ reused: true, fromStepRun: `${r1.runId}:train`, final: loss.final });
      expect(await ty.query.tags(r2.runId)).toEqual({ model: "gbdt" });

      const r3 = await ty.run(trainingPipeline(), { params: { lr: 0.05 } });
      const compared = await ty.query.compareRuns([r1.runId, r3.runId]);
      const rows = Object.fromEntries(compared.rows.map((r) => [r.measure ? `${r.key} ${r.measure}` : r.key, r]));
      expect(compared.rows[0]).toMatchObject({ kind: "param", key: "lr", differs: true, values: [0.1, 0.05] });
      expect(rows["train.val_loss final"]).toMatchObject({ differs: true, goal: "min", best: 1 });
      expect(rows["train.auc final"]).toMatchObject({ differs: true, goal: "max", best: 0 });
      expect(rows["search[best].auc best"]).toMatchObject({ differs: false, values: [0.62, 0.62] });
      expect(rows["search[best].auc final"]).toMatchObject({ differs: false, values: [0.62, 0.62] });
      expect(compared.rows.findIndex((r) => !r.differs)).toBeGreaterThan(compared.rows.findLastIndex((r) => r.differs));
    },
  );

  it("records metrics from an isolated step's own process", async () => {
    const { ty } = await homes.open();
    const dir = homes.fixtureDir();
    const mod = path.join(dir, "isolated-metrics.ts");
    fs.writeFileSync(
      mod,
      `import { pipeline } from "trainyard";
const p = pipeline("isolated-metrics");
p.step("fit", {
  isolate: true,
  run: (ctx) => {
    ctx.metric("rmse", 3.5, { step: 1 });
    ctx.metric("rmse", 3.25, { step: 2 });
    ctx.tag("pid", String(process.pid));
    return process.pid;
  },
});
export default p;
`,
    );
    const r = await ty.run(mod);
    expect(r.status).toBe("succeeded");
    const [rmse] = await ty.query.metrics(r.runId);
    expect(rmse).toMatchObject({
      stepId: "fit",
      name: "rmse",
      goal: "min",
      final: 3.25,
      best: { value: 3.25, step: 2 },
    });
    const childPid = (await ty.output(r.runId, "fit")) as number;
    expect(childPid).not.toBe(process.pid);
    expect(await ty.query.tags(r.runId)).toEqual({ pid: String(childPid) });
  });
});

python.describe("metrics from a Python command step ($TRAINYARD_METRICS)", () => {
  it(
    "records lines while the step runs, " + "reports malformed lines by step, file and line, and keeps the rest",
    async () => {
      const { ty } = await homes.open();
      const dir = homes.tempDir("ty-metrics-");
      const script = path.join(dir, "train.py");
      // Epoch 0 is written, then the script waits for `go`: the test creates it only once it has
      // read epoch 0 back from the store, so recording at the end alone would never finish.
      fs.writeFileSync(
        script,
        `import json, os, sys, time
path = os.environ["TRAINYARD_METRICS"]
go = sys.argv[1]
with open(path, "a") as f:
    f.write(json.dumps({"name": "val_auc", "value": 0.61, "step": 0}) + "\\n"); f.flush()
    deadline = time.time() + 60
    while not os.path.exists(go) and time.time() < deadline: time.sleep(0.05)
    f.write("this is not json\\n")
    f.write(json.dumps({"loss": 0.52, "acc": 0.7, "epoch": 1}) + "\\n")
    f.write(json.dumps({"name": "val_auc", "value": "high"}) + "\\n")
    f.write(json.dumps({"tag": "framework", "value": "numpy"}) + "\\n")
    f.write(json.dumps({"name": "val_auc", "value": 0.66, "step": 1}))
open(os.path.join(os.environ["TRAINYARD_OUT"], "model.txt"), "w").write("model")
`,
      );
      const go = path.join(dir, "go");
      const p = pipeline("py-metrics");
      p.command("train", {
        run: ["/usr/bin/python3", script, go],
        outputs: { model: { path: "model.txt", kind: "file" } },
      });
      const events: RunEvent[] = [];
      const running = ty.run(p, { onEvent: (e) => events.push(e) });
      const runId = await waitFor(
        () => events.find((e) => e.type === "run-started") as { runId: string } | undefined,
        "the run to start",
      );
      const live = await waitFor(async () => {
        const seen = await ty.metadata.listMetrics([`${runId.runId}:train`]);
        return seen.length ? seen : undefined;
      }, "epoch 0 recorded while the step runs");
      expect(live).toMatchObject([{ name: "val_auc", value: 0.61, step: 0 }]);
      expect((await ty.metadata.getStepRun(`${runId.runId}:train`))?.status).toBe("running");
      fs.writeFileSync(go, "");
      const r = await running;
      expect(r.status).toBe("succeeded");

      const series = await ty.query.metrics(r.runId);
      const byName = Object.fromEntries(series.map((s) => [s.name, s]));
      expect(byName.val_auc.points.map((p) => [p.step, p.value])).toEqual([
        [0, 0.61],
        [1, 0.66],
      ]);
      expect(byName.loss).toMatchObject({ final: 0.52, goal: "min", points: [{ step: 1, value: 0.52 }] });
      expect(byName.acc).toMatchObject({ final: 0.7, goal: "max" });
      expect(await ty.query.tags(r.runId)).toEqual({ framework: "numpy" });
      const warnings = events.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatch(
        /step "train": line 2 of \$TRAINYARD_METRICS \(.*metrics\.jsonl\) was left out: it is not JSON/,
      );
      expect(warnings[1]).toMatch(
        /line 4 of .* was left out: metric "val_auc" has the value "high", not a finite number/,
      );
      const log = (await ty.metadata.getLogs(`${r.runId}:train`)).map((l) => l.line).join("\n");
      expect(log).toContain("line 2 of $TRAINYARD_METRICS");
    },
  );
});
