import { afterAll, describe, expect, it } from "vitest";
import { pipeline, type Dataset } from "trainyard";
import { evaluate, features, gates, search, train, type DeployedModel } from "trainyard/models";
import { runPipeline } from "trainyard/testing";
import { loadPredictor } from "../../src/lib/serving/predictor.js";
import { makeTempDir, rng, writeTable, type Cell } from "../data/temp-data.js";

const tmp = makeTempDir("ty-model-steps-");
afterAll(() => tmp.cleanup());

/** y = 1 when 2x - z + noise > 0 and the city is "a" more often: learnable but not trivial. */
async function synthetic(name: string, n: number, seed: number): Promise<string> {
  const r = rng(seed);
  const rows: Cell[][] = [];
  for (let i = 0; i < n; i++) {
    const x = r.normal(0, 1);
    const z = r.normal(0, 1);
    const city = ["a", "b", "c", "d"][r.int(0, 3)];
    const logit = 2 * x - z + (city === "a" ? 1 : 0) + r.normal(0, 0.7);
    rows.push([x, z, city, logit > 0 ? 1 : 0]);
  }
  return writeTable(tmp.path(name), { x: "DOUBLE", z: "DOUBLE", city: "VARCHAR", label: "INTEGER" }, rows);
}

function build(trainPath: string, validPath: string, testPath: string, floor: number) {
  const p = pipeline("model-steps");
  const ds = (id: string, path: string) =>
    p.step(id, { sources: () => [path], run: (ctx) => ctx.dataset(path) as Dataset });
  const trainData = ds("train-data", trainPath);
  const validData = ds("valid-data", validPath);
  const testData = ds("test-data", testPath);
  const feats = features(p, "features", {
    train: trainData,
    spec: {
      transforms: [
        { kind: "passthrough", column: "x" },
        { kind: "standardize", column: "z" },
        { kind: "ordinal", column: "city" },
      ],
    },
  });
  const tuned = search(p, "search", {
    train: trainData,
    valid: validData,
    features: feats,
    label: "label",
    algorithm: { kind: "gbdt", numRounds: 20, seed: 1 },
    space: { maxDepth: [2, 4], learningRate: [0.3] },
  });
  const model = train(p, "train", {
    train: trainData,
    features: feats,
    label: "label",
    algorithm: { kind: "gbdt", numRounds: 20, seed: 1 },
    tuned: tuned.pick("best"),
  });
  const none = p.step("production", { run: (): DeployedModel | null => null });
  const evaluation = evaluate(p, "evaluate", {
    candidate: model,
    production: none,
    data: testData,
    slices: [{ column: "city" }],
    fairness: [{ metric: "tpr", column: "city" }],
    latency: { samples: 50 },
  });
  gates(p, "gates", {
    evaluation,
    gates: [
      { kind: "metric", metric: "auc", min: floor },
      { kind: "relative", metric: "auc", maxRegression: 0.01 },
      { kind: "latency", p99Ms: 1000 },
      { kind: "size", maxBytes: 10_000_000 },
    ],
  });
  return p;
}

describe("train, search, evaluate and gate a model", () => {
  it("learns a real signal, records every trial, and passes gates with no baseline", async () => {
    const [a, b, c] = [
      await synthetic("train.parquet", 3000, 1),
      await synthetic("valid.parquet", 800, 2),
      await synthetic("test.parquet", 1000, 3),
    ];
    const t = await runPipeline(build(a, b, c, 0.8));
    try {
      expect(t.result.status, JSON.stringify(t.result.error)).toBe("succeeded");
      const best = await t.output("search.best");
      expect(best.trials).toHaveLength(2);
      const ev = (await t.output("evaluate")).evaluation;
      expect(ev.candidate.metrics.auc).toBeGreaterThan(0.85);
      expect(ev.production).toBeUndefined();
      expect(ev.candidate.slices.city.map((s: { group: string }) => s.group).sort()).toEqual(["a", "b", "c", "d"]);
      expect(ev.fairness["tpr:city"].gap).toBeGreaterThanOrEqual(0);
      // The evaluation and every search trial are tracked as metrics, as a user's own step would be.
      const tracked = await t.trainyard.query.metrics(t.result.runId);
      const evaluated = tracked.find((m) => m.stepId === "evaluate" && m.name === "auc")!;
      expect(evaluated).toMatchObject({ goal: "max", final: ev.candidate.metrics.auc });
      expect(tracked.find((m) => m.stepId === "evaluate" && m.name === "log_loss")?.goal).toBe("min");
      expect(tracked.find((m) => m.stepId === "evaluate" && m.name === "latency_p99_ms")?.final).toBe(ev.latency.p99Ms);
      const trialAucs = tracked
        .filter((m) => m.stepId === "search" && m.name === "auc")
        .sort((x, y) => x.itemIndex - y.itemIndex);
      expect(trialAucs.map((m) => m.final)).toEqual(best.trials.map((x: { score: number }) => x.score));
      const verdicts = (await t.output("gates")).verdicts;
      expect(verdicts.map((v: { status: string }) => v.status)).toEqual(["pass", "no-baseline", "pass", "pass"]);
      // The model bundle is loadable by the serving code and scores JSON rows.
      const model = await t.output("train");
      const predictor = await loadPredictor(model.path);
      const [hi, lo] = await predictor.predictRows([
        { x: 2, z: -1, city: "a" },
        { x: -2, z: 1, city: "c" },
      ]);
      expect((hi as { score: number }).score).toBeGreaterThan((lo as { score: number }).score);
    } finally {
      await t.cleanup();
    }
  });

  it("a failing gate rejects the run with the margin, after storing the evaluation", async () => {
    const [a, b, c] = [
      await synthetic("train2.parquet", 2000, 4),
      await synthetic("valid2.parquet", 500, 5),
      await synthetic("test2.parquet", 800, 6),
    ];
    const t = await runPipeline(build(a, b, c, 0.999));
    try {
      expect(t.result.status).toBe("rejected");
      expect(t.result.error?.message).toMatch(/auc >= 0\.999 \(auc 0\.\d+ is below the floor 0\.999 by/);
    } finally {
      await t.cleanup();
    }
  });
});
