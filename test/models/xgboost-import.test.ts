import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { importXgboostJson } from "../../src/lib/models/import/xgboost-json.js";
import { loadModel } from "../../src/lib/models/load-model.js";
import { seededRandom } from "../../src/lib/models/random.js";
import { requireTools } from "../support/require-tool.js";

const PY = "/usr/bin/python3";
const xgboost = requireTools("xgboost");

const SCRIPT = `
import sys, numpy as np, xgboost as xgb
d = sys.argv[1]; objective = sys.argv[2]
X = np.fromfile(d + "/x.f64").reshape(-1, 4); y = np.fromfile(d + "/y.f64")
params = {"objective": objective, "tree_method": "hist", "max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 0}
if objective.startswith("multi"): params["num_class"] = 3
b = xgb.train(params, xgb.DMatrix(X, label=y, missing=np.nan), 25)
b.save_model(d + "/model.json")
b = xgb.Booster(model_file=d + "/model.json")  # score the saved model, which is what we import
b.predict(xgb.DMatrix(X, missing=np.nan)).astype(np.float64).tofile(d + "/pred.f64")
`;

function data(n: number, objective: string) {
  const r = seededRandom(11);
  const cols = Array.from({ length: 4 }, () => new Float64Array(n));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 4; j++) cols[j][i] = r.next() < 0.1 ? NaN : (r.next() - 0.5) * 10 ** j;
    const s = (cols[0][i] || 0) + (cols[1][i] || 0) / 10 - (cols[2][i] || 0) / 100;
    y[i] =
      objective === "reg:squarederror"
        ? s + r.next()
        : objective === "binary:logistic"
          ? s + r.next() - 0.5 > 0
            ? 1
            : 0
          : s < -1
            ? 0
            : s < 1
              ? 1
              : 2;
  }
  return { cols, y };
}

xgboost.describe("XGBoost JSON import", () => {
  for (const objective of ["binary:logistic", "reg:squarederror", "multi:softprob"]) {
    it(`matches xgboost.predict to 1e-6 for ${objective}`, () => {
      const dir = mkdtempSync(join(tmpdir(), "xgb-"));
      const n = 3000;
      const { cols, y } = data(n, objective);
      const rowMajor = new Float64Array(n * 4);
      for (let i = 0; i < n; i++) for (let j = 0; j < 4; j++) rowMajor[i * 4 + j] = cols[j][i];
      writeFileSync(join(dir, "x.f64"), rowMajor);
      writeFileSync(join(dir, "y.f64"), y);
      const run = spawnSync(PY, ["-c", SCRIPT, dir, objective], { encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      const raw = readFileSync(join(dir, "pred.f64"));
      const expected = new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
      const text = readFileSync(join(dir, "model.json"), "utf8");
      const model = importXgboostJson(text);
      expect(loadModel(JSON.parse(text)).format).toBe(model.format);
      const x = { names: ["f0", "f1", "f2", "f3"], columns: cols, rows: n };
      const p = model.predict(x);
      expect(p.length).toBe(expected.length);
      let worst = 0;
      for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i] - expected[i]));
      expect(worst).toBeLessThan(objective === "reg:squarederror" ? 1e-4 : 1e-6);
      // Survives our own serialization too.
      expect(loadModel(JSON.parse(JSON.stringify(model.toJSON()))).predict(x)).toEqual(p);
    });
  }
});
