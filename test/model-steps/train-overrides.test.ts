/**
 * `train` given algorithm options without a `kind` lays them over the search's algorithm (a refit
 * with more rounds), as an object or as a function of the params; the model is the one the full
 * algorithm written by hand gives. Without a search to lay them over, the step says what is missing.
 */
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Dataset, isTrainyardError, pipeline } from "../../src/index.js";
import { type Algorithm, features, search, train } from "../../src/lib/models/index.js";
import { readModelBundle } from "../../src/lib/serving/model-bundle.js";
import { loadPredictor } from "../../src/lib/serving/predictor.js";
import { runPipeline } from "../../src/testing/index.js";
import { makeTempDir, rng, writeTable, type Cell } from "../data/temp-data.js";

const tmp = makeTempDir("ty-train-overrides-");
afterAll(() => tmp.cleanup());

async function synthetic(n: number): Promise<string> {
  const r = rng(5);
  const rows: Cell[][] = [];
  for (let i = 0; i < n; i++) {
    const x = r.normal(0, 1);
    rows.push([x, x + r.normal(0, 0.8) > 0 ? 1 : 0]);
  }
  return writeTable(tmp.path("train.parquet"), { x: "DOUBLE", label: "INTEGER" }, rows);
}

const searched = { kind: "gbdt", numRounds: 5, seed: 3, minChildWeight: 2 } as const;

/** A search, then train with the given algorithm (or none). */
function build(
  name: string,
  path: string,
  algorithm?: Parameters<typeof train>[2]["algorithm"],
  searchAlgorithm: Algorithm = searched,
) {
  const p = pipeline(name, { params: z.object({ rounds: z.number().default(12) }) });
  const data = p.step("data", { sources: () => [path], run: (ctx) => ctx.dataset(path) as Dataset });
  const fitted = features(p, "features", { train: data, spec: { transforms: [{ kind: "passthrough", column: "x" }] } });
  const tuned = search(p, "search", {
    data,
    features: fitted,
    label: "label",
    algorithm: searchAlgorithm,
    space: { maxDepth: [2, 3] },
  });
  train(p, "train", { train: data, tuned, algorithm });
  return p;
}

describe("train: algorithm options laid over the search's", () => {
  it("as an object or a function of the params, give the model the full algorithm gives", async () => {
    const path = await synthetic(800);
    const full = await runPipeline(build("full", path, { ...searched, numRounds: 12 }));
    const object = await runPipeline(build("object", path, { numRounds: 12 }));
    const fn = await runPipeline(build("function", path, (params) => ({ numRounds: params.rounds })));
    const runs = [full, object, fn];
    try {
      for (const t of runs) expect(t.result.status, JSON.stringify(t.result.error)).toBe("succeeded");
      const best = (await full.output("search.best")).best;
      for (const t of runs) {
        const bundle = readModelBundle((await t.output("train")).path);
        expect(bundle.training.algorithm).toEqual({ ...searched, numRounds: 12, ...best });
      }
      const rows = [{ x: -1.2 }, { x: 0.1 }, { x: 2 }];
      const scores = async (t: typeof full) => (await loadPredictor((await t.output("train")).path)).predictRows(rows);
      expect(await scores(object)).toEqual(await scores(full));
      expect(await scores(fn)).toEqual(await scores(full));
    } finally {
      for (const t of runs) await t.cleanup();
    }
  });

  it("a changed search algorithm changes the key of a train whose function lays options over it", () => {
    const rounds = (params: Record<string, number>) => ({ numRounds: params.rounds });
    const config = (p: ReturnType<typeof build>) => JSON.stringify(p.steps.get("train")?.options.config);
    const same = [build("a", "a.parquet", rounds), build("b", "b.parquet", rounds)];
    expect(config(same[0])).toBe(config(same[1]));
    expect(config(build("c", "c.parquet", rounds, { ...searched, seed: 4 }))).not.toBe(config(same[0]));
  });

  it("without a search, options without a kind are an error naming what is missing", async () => {
    const path = await synthetic(200);
    const p = pipeline("no-search", { params: z.object({ rounds: z.number().default(12) }) });
    const data = p.step("data", { sources: () => [path], run: (ctx) => ctx.dataset(path) as Dataset });
    const fitted = features(p, "features", {
      train: data,
      spec: { transforms: [{ kind: "passthrough", column: "x" }] },
    });
    let message = "no error";
    try {
      train(p, "object", { train: data, features: fitted, label: "label", algorithm: { numRounds: 3 } });
    } catch (err) {
      message = isTrainyardError(err) ? `${err.code}: ${err.message}` : String(err);
    }
    expect(message).toBe('INVALID_OPTION: train step "object" needs algorithm.kind (no search to take it from)');
    train(p, "function", {
      train: data,
      features: fitted,
      label: "label",
      algorithm: (params) => ({ numRounds: params.rounds }),
    });
    const t = await runPipeline(p);
    try {
      expect(t.result.status).toBe("failed");
      const step = (await t.trainyard.metadata.listStepRuns(t.result.runId)).find((s) => s.stepId === "function");
      expect(step?.error?.code).toBe("INVALID_OPTION");
      expect(step?.error?.message).toContain("`algorithm` returned options without a `kind`");
    } finally {
      await t.cleanup();
    }
  });
});
