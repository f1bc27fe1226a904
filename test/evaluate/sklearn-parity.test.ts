import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import {
  averagePrecision,
  brierScore,
  f1Score,
  logLoss,
  mae,
  mape,
  precision,
  r2,
  recall,
  rmse,
  rocAuc,
  accuracy,
  macroF1,
  multiclassLogLoss,
} from "../../src/lib/evaluate/metrics.js";
import { seededRandom } from "../../src/lib/models/random.js";
import { requireTools } from "../support/require-tool.js";

const PY = "/usr/bin/python3";
const sklearn = requireTools("scikit-learn");

const SCRIPT = `
import json, sys
import numpy as np
from sklearn import metrics as m
d = json.load(sys.stdin)
out = []
for c in d["cases"]:
    y = np.array(c["y"]); s = np.array(c["s"]); yp = (s >= 0.5).astype(int)
    r = np.array(c["r"]); rp = np.array(c["rp"])
    yk = np.array(c["yk"]); pk = np.array(c["pk"]).reshape(len(yk), 3); lk = np.array(c["lk"])
    out.append({
        "auc": m.roc_auc_score(y, s), "ap": m.average_precision_score(y, s), "logloss": m.log_loss(y, s),
        "brier": m.brier_score_loss(y, s), "acc": m.accuracy_score(y, yp),
        "prec": m.precision_score(y, yp, zero_division=0),
        "rec": m.recall_score(y, yp, zero_division=0), "f1": m.f1_score(y, yp, zero_division=0),
        "rmse": float(np.sqrt(m.mean_squared_error(r, rp))), "mae": m.mean_absolute_error(r, rp),
        "r2": m.r2_score(r, rp),
        "mape": m.mean_absolute_percentage_error(r, rp), "mlogloss": m.log_loss(yk, pk, labels=[0, 1, 2]),
        "macrof1": m.f1_score(yk, lk, average="macro"),
    })
print(json.dumps(out))
`;

function makeCase(seed: number, n: number) {
  const random = seededRandom(seed);
  // Scores rounded to 2 decimals so many rows tie, which is where AUC/AP implementations differ.
  const y = Array.from({ length: n }, () => (random.next() < 0.3 ? 1 : 0));
  const s = y.map((v) => Math.round(Math.min(0.99, Math.max(0.01, 0.3 * v + random.next() * 0.7)) * 100) / 100);
  const r = Array.from({ length: n }, () => 1 + random.next() * 10);
  const rp = r.map((v) => v + (random.next() - 0.5) * 2);
  const yk = Array.from({ length: n }, () => random.int(3));
  const pk: number[] = [];
  for (let i = 0; i < n; i++) {
    const w = [random.next() + (yk[i] === 0 ? 0.5 : 0), random.next(), random.next()];
    const z = w[0] + w[1] + w[2];
    pk.push(w[0] / z, w[1] / z, w[2] / z);
  }
  const lk = yk.map((v) => (random.next() < 0.6 ? v : random.int(3)));
  return { y, s, r, rp, yk, pk, lk };
}

sklearn.describe("metrics agree with scikit-learn", () => {
  it("on random labels and tied scores", () => {
    const cases = [makeCase(1, 50), makeCase(2, 500), makeCase(3, 3000), makeCase(4, 7)];
    cases[3].y = [0, 1, 0, 1, 1, 0, 0]; // tiny case with guaranteed both classes
    const run = spawnSync(PY, ["-c", SCRIPT], { input: JSON.stringify({ cases }), encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const expected = JSON.parse(run.stdout) as Record<string, number>[];
    cases.forEach((c, i) => {
      const e = expected[i];
      const close = (name: string, actual: number): void => {
        expect(Math.abs(actual - e[name]), `${name} case ${i}: ${actual} vs ${e[name]}`).toBeLessThan(1e-9);
      };
      close("auc", rocAuc(c.y, c.s));
      close("ap", averagePrecision(c.y, c.s));
      close("logloss", logLoss(c.y, c.s));
      close("brier", brierScore(c.y, c.s));
      close("acc", accuracy(c.y, c.s));
      close("prec", precision(c.y, c.s));
      close("rec", recall(c.y, c.s));
      close("f1", f1Score(c.y, c.s));
      close("rmse", rmse(c.r, c.rp));
      close("mae", mae(c.r, c.rp));
      close("r2", r2(c.r, c.rp));
      close("mape", mape(c.r, c.rp));
      close("mlogloss", multiclassLogLoss(c.yk, c.pk, 3));
      close("macrof1", macroF1(c.yk, c.lk));
    });
  });
});
