/**
 * `importModel`: an XGBoost model trained by a real Python script (Debian's python3-xgboost)
 * and an ONNX graph become bundles in one call, and score like their own runtimes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import { splitStep, sqlStep } from "../../src/lib/data/index.js";
import { readColumns, withConnection } from "../../src/lib/data/duck.js";
import { datasetSource } from "../../src/lib/data/steps/quality-steps.js";
import { evaluate, importModel } from "../../src/lib/models/index.js";
import { loadPredictor } from "../../src/lib/serving/predictor.js";
import { runPipeline } from "../../src/testing/index.js";
import { makeTempDir, rng } from "../data/temp-data.js";
import { logisticOnnx } from "../models/onnx-protobuf.js";
import { requireTools } from "../support/require-tool.js";

const tmp = makeTempDir("ty-import-");
afterAll(() => tmp.cleanup());

const TRAIN_PY = `
import json, os, sys
import numpy as np
import xgboost as xgb
train = os.environ["TRAINYARD_INPUT_TRAIN"]
test = os.environ["TRAINYARD_INPUT_TEST"]
out = os.environ["TRAINYARD_OUT"]
def load(path):
    rows = [l.rstrip("\\n").split(",") for l in open(path)][1:]
    return np.array([[float(v) for v in r[:3]] for r in rows]), [r[3] for r in rows]
x, y = load(train)
classes = sorted(set(y))
clf = xgb.XGBClassifier(n_estimators=15, max_depth=3, learning_rate=0.3, random_state=0)
clf.fit(x, np.array([classes.index(v) for v in y]))
clf.get_booster().save_model(os.path.join(out, "model.json"))
tx, _ = load(test)
json.dump({"proba": clf.predict_proba(tx).tolist(), "classes": classes}, open(os.path.join(out, "expected.json"), "w"))
`;

/** Three species-like classes from three measurements. */
function writeData(): string {
  const r = rng(5);
  const lines = ["a,b,c,kind"];
  for (let i = 0; i < 600; i++) {
    const k = r.int(0, 2);
    lines.push([r.normal(k, 0.8), r.normal(-k, 1), r.normal(0, 1), ["gentoo", "adelie", "chinstrap"][k]].join(","));
  }
  const path = tmp.path("birds.csv");
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

const xgboost = requireTools("xgboost");
xgboost.describe("an XGBoost model trained in Python", () => {
  it("imports with one call and scores like XGBoost's predict_proba", async () => {
    const csv = writeData();
    writeFileSync(tmp.path("train.py"), TRAIN_PY);
    const p = pipeline("import-xgboost");
    const data = sqlStep(p, "data", {
      inputs: {},
      sql: `SELECT * FROM read_csv(${JSON.stringify(csv).replaceAll('"', "'")})`,
    });
    const parts = splitStep(p, "split", { input: data, split: { method: "random", testFraction: 0.3, seed: 1 } });
    const exported = p.step("export", {
      inputs: { train: parts.pick("train"), test: parts.pick("test") },
      run: async (ctx, { train, test }) => {
        const paths = { train: `${ctx.workdir}/train.csv`, test: `${ctx.workdir}/test.csv` };
        // CSV for Python (Debian's pandas has no Parquet reader).
        await withConnection(async (con) => {
          await con.run(
            `COPY (SELECT a, b, c, ` +
              `kind FROM read_parquet('${train.path}')) TO '${paths.train}' (FORMAT csv, HEADER true)`,
          );
          await con.run(
            `COPY (SELECT a, b, c, ` +
              `kind FROM read_parquet('${test.path}')) TO '${paths.test}' (FORMAT csv, HEADER true)`,
          );
        });
        return { train: ctx.dataset(paths.train), test: ctx.dataset(paths.test) };
      },
    });
    const trained = p.command("train", {
      inputs: { train: exported.pick("train"), test: exported.pick("test") },
      run: ["/usr/bin/python3", tmp.path("train.py")],
      outputs: { model: { path: "model.json", kind: "file" }, expected: { path: "expected.json", kind: "file" } },
    });
    const model = importModel(p, "import", {
      format: "xgboost-json",
      model: trained.pick("model"),
      features: ["a", "b", "c"],
      label: "kind",
      data: parts.pick("train"),
    });
    evaluate(p, "evaluate", {
      candidate: model,
      data: parts.pick("test"),
      latency: { samples: 10, rounds: 1, warmup: 10 },
    });
    const t = await runPipeline(p);
    try {
      expect(t.result.status, JSON.stringify(t.result.error)).toBe("succeeded");
      const bundle = await t.output("import");
      expect(bundle.meta).toMatchObject({ task: "multiclass", estimator: "xgboost-json", label: "kind" });
      const predictor = await loadPredictor(bundle.path);
      const expected = JSON.parse(readFileSync((await t.output("train")).expected.path, "utf8")) as {
        proba: number[][];
        classes: string[];
      };
      expect(predictor.classes).toEqual(expected.classes);
      const test = (await t.output("split")).test;
      const cols = await readColumns(datasetSource(test), ["a", "b", "c"]);
      const value = (c: string, i: number) => (cols.columns[c] as { values: Float64Array }).values[i];
      const rows = expected.proba.map((_, i) => ({ a: value("a", i), b: value("b", i), c: value("c", i) }));
      const served = await predictor.predictRows(rows);
      let worst = 0;
      served.forEach((s, i) =>
        (s as { probabilities: number[] }).probabilities.forEach(
          (v, k) => (worst = Math.max(worst, Math.abs(v - expected.proba[i][k]))),
        ),
      );
      expect(worst).toBeLessThan(1e-5);
      expect((await t.output("evaluate")).evaluation.candidate.metrics.accuracy).toBeGreaterThan(0.6);
    } finally {
      await t.cleanup();
    }
  }, 120_000);
});

describe("an ONNX graph", () => {
  it("imports with a task and scores through onnxruntime", async () => {
    const weights = [0.5, -1.25];
    const file = tmp.path("logistic.onnx");
    writeFileSync(file, logisticOnnx(weights, 0.1));
    const p = pipeline("import-onnx");
    const made = p.command("export", {
      run: ["cp", file, "{out}/model.onnx"],
      outputs: { model: { path: "model.onnx", kind: "file" } },
    });
    importModel(p, "import", {
      format: "onnx",
      model: made.pick("model"),
      features: ["x", "y"],
      label: "late",
      task: "binary",
    });
    const t = await runPipeline(p);
    try {
      expect(t.result.status, JSON.stringify(t.result.error)).toBe("succeeded");
      const predictor = await loadPredictor((await t.output("import")).path);
      const [hit] = await predictor.predictRows([{ x: 2, y: 0.5 }]);
      const z = 0.5 * 2 - 1.25 * 0.5 + 0.1;
      expect(Math.abs((hit as { score: number }).score - 1 / (1 + Math.exp(-z)))).toBeLessThan(1e-6);
    } finally {
      await t.cleanup();
    }
  });

  it("refuses an ONNX import without a task", async () => {
    const p = pipeline("import-onnx-no-task");
    const file = tmp.path("l2.onnx");
    writeFileSync(file, logisticOnnx([1], 0));
    const made = p.command("export", {
      run: ["cp", file, "{out}/model.onnx"],
      outputs: { model: { path: "model.onnx", kind: "file" } },
    });
    importModel(p, "import", { format: "onnx", model: made.pick("model"), features: ["x"], label: "y" });
    const t = await runPipeline(p);
    try {
      expect(t.result.status).toBe("failed");
      expect(t.result.error?.message).toMatch(/needs `task`/);
    } finally {
      await t.cleanup();
    }
  });
});
