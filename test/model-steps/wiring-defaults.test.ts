/**
 * Options a step can take from the wiring already declared: a search samples and splits one
 * dataset itself, train refits a search's best trial with the search's features, label and
 * algorithm, register takes the model, evaluation and training data the gates judged, and the
 * registry steps name the model after the pipeline. Each gives what the same pipeline wired by
 * hand gives, artifact for artifact.
 */
import { afterAll, describe, expect, it } from "vitest";
import { type Dataset, isTrainyardError, pipeline } from "../../src/index.js";
import { sampleStep, splitStep } from "../../src/lib/data/index.js";
import {
  currentModel,
  deploy,
  evaluate,
  features,
  gates,
  register,
  search,
  train,
} from "../../src/lib/models/index.js";
import { loadPredictor } from "../../src/lib/serving/predictor.js";
import { runPipeline } from "../../src/testing/index.js";
import { makeTempDir, rng, writeTable, type Cell } from "../data/temp-data.js";

const tmp = makeTempDir("ty-wiring-defaults-");
afterAll(() => tmp.cleanup());

async function synthetic(name: string, n: number, seed: number): Promise<string> {
  const r = rng(seed);
  const rows: Cell[][] = [];
  for (let i = 0; i < n; i++) {
    const x = r.normal(0, 1);
    const z = r.normal(0, 1);
    rows.push([x, z, 2 * x - z + r.normal(0, 0.7) > 0 ? 1 : 0]);
  }
  return writeTable(tmp.path(name), { x: "DOUBLE", z: "DOUBLE", label: "INTEGER" }, rows);
}

const algorithm = { kind: "gbdt", numRounds: 10, seed: 1 } as const;
const space = { maxDepth: [2, 3] };

/** The shared start: training and test data, and the fitted features. */
function start(name: string, trainPath: string, testPath: string) {
  const p = pipeline(name);
  const ds = (id: string, path: string) =>
    p.step(id, { sources: () => [path], run: (ctx) => ctx.dataset(path) as Dataset });
  const trainData = ds("train-data", trainPath);
  const testData = ds("test-data", testPath);
  const spec = {
    transforms: [
      { kind: "passthrough" as const, column: "x" },
      { kind: "standardize" as const, column: "z" },
    ],
  };
  return { p, trainData, testData, fitted: features(p, "features", { train: trainData, spec }) };
}

function byHand(trainPath: string, testPath: string) {
  const { p, trainData, testData, fitted } = start("by-hand", trainPath, testPath);
  const sample = sampleStep(p, "search-data", { input: trainData, rows: 600, seed: 3 });
  const split = splitStep(p, "search-split", {
    input: sample,
    split: { method: "random", testFraction: 0.25, seed: 3 },
  });
  const tuned = search(p, "search", {
    train: split.pick("train"),
    valid: split.pick("test"),
    features: fitted,
    label: "label",
    algorithm,
    space,
  });
  const model = train(p, "train", { train: trainData, features: fitted, label: "label", algorithm, tuned });
  const production = currentModel(p, "production", { name: "by-hand", candidate: model });
  const evaluation = evaluate(p, "evaluate", { candidate: model, production, data: testData, latency: { samples: 5 } });
  const checked = gates(p, "gates", { evaluation, gates: [{ kind: "metric", metric: "auc", min: 0.5 }] });
  const registered = register(p, "register", {
    name: "by-hand",
    model,
    gates: checked,
    evaluation,
    data: trainData,
  });
  deploy(p, "deploy", { registered });
  return p;
}

function byDefaults(trainPath: string, testPath: string) {
  const { p, trainData, testData, fitted } = start("by-defaults", trainPath, testPath);
  const tuned = search(p, "search", {
    data: trainData,
    rows: 600,
    seed: 3,
    features: fitted,
    label: "label",
    algorithm,
    space,
  });
  const candidate = train(p, "train", { train: trainData, tuned });
  const production = currentModel(p, "production", { candidate });
  const evaluation = evaluate(p, "evaluate", { candidate, production, data: testData, latency: { samples: 5 } });
  const checked = gates(p, "gates", { evaluation, gates: [{ kind: "metric", metric: "auc", min: 0.5 }] });
  deploy(p, "deploy", { registered: register(p, "register", { gates: checked }) });
  return p;
}

describe("options taken from the declared wiring", () => {
  it("give the artifacts, registry version and alias the hand-wired pipeline gives", async () => {
    const [trainPath, testPath] = [await synthetic("train.parquet", 2000, 1), await synthetic("test.parquet", 500, 2)];
    const hand = await runPipeline(byHand(trainPath, testPath));
    const auto = await runPipeline(byDefaults(trainPath, testPath));
    try {
      for (const t of [hand, auto]) expect(t.result.status, JSON.stringify(t.result.error)).toBe("succeeded");
      // Equal outputs, digests included; only the homes they are stored in and the timings differ.
      const output = async (t: typeof hand, step: string) =>
        JSON.stringify(await t.output(step), (key, value) => (key === "path" || key === "seconds" ? undefined : value));
      for (const step of ["search-data", "search-split", "search.best"]) {
        expect(await output(auto, step), step).toBe(await output(hand, step));
      }
      const rows = [
        { x: 1.5, z: -0.5 },
        { x: -1, z: 0.3 },
      ];
      const scores = async (t: typeof hand) => (await loadPredictor((await t.output("train")).path)).predictRows(rows);
      expect(await scores(auto)).toEqual(await scores(hand));
      const model = await auto.output("train");
      const trainData = await auto.output("train-data");
      const version = await auto.trainyard.registry.getVersion("by-defaults", "production");
      expect(version).toMatchObject({ version: 1, artifactDigest: model.digest, dataDigests: [trainData.digest] });
      const evaluation = (await auto.output("evaluate")).evaluation;
      expect(version?.metrics.auc).toBe(evaluation.candidate.metrics.auc);
      expect(version?.gates.map((g) => g.status)).toEqual(["pass"]);
      const handVersion = await hand.trainyard.registry.getVersion("by-hand", "production");
      expect(handVersion?.dataDigests).toEqual(version?.dataDigests);
    } finally {
      await hand.cleanup();
      await auto.cleanup();
    }
  });

  it("say which options are missing when there is nothing to take them from", () => {
    const { p, trainData, fitted } = start("missing", "a.parquet", "b.parquet");
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return isTrainyardError(err) ? `${err.code}: ${err.message}` : String(err);
      }
      return "no error";
    };
    expect(codeOf(() => train(p, "t", { train: trainData }))).toBe(
      'INVALID_OPTION: train step "t" needs features, label, algorithm',
    );
    expect(codeOf(() => search(p, "s", { features: fitted, label: "label", algorithm, space }))).toMatch(
      /^INVALID_OPTION: search "s" needs either `train` and `valid`, or `data`/,
    );
    const verdicts = p.step("verdicts", { run: () => ({ passed: true, verdicts: [] }) });
    expect(codeOf(() => register(p, "r", { gates: verdicts }))).toBe(
      'MISSING_INPUT: register step "r": no model to register',
    );
  });
});
