"""XGBoost peer for bench/gbdt.ts: same rows, same settings, times only training and prediction.

Reads the raw float64 columns that bench/gbdt.ts exported under bench/.work/flights/, trains, and
prints one JSON line with the training figures. Then it serves timing requests on stdin so the
benchmark can interleave the two sides' predictions under the same machine load:

  "predict\\n" -> one booster.predict over the test rows, answered with {"predict_s": ...}
  "quit\\n" (or EOF) -> exit

With --rounds N (no stdin protocol) it trains, predicts N times and prints one JSON line with all
timings, for running the peer on its own.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import xgboost as xgb
from sklearn.metrics import roc_auc_score

FEATURES = ["hour", "dow", "distance", "origin", "destination"]


def load(directory, part):
    cols = [np.fromfile(os.path.join(directory, f"{part}_{name}.f64"), dtype=np.float64) for name in FEATURES]
    label = np.fromfile(os.path.join(directory, f"{part}_label.f64"), dtype=np.float64)
    return np.column_stack(cols), label


def main():
    args = sys.argv[1:]
    rounds = None
    if "--rounds" in args:
        i = args.index("--rounds")
        rounds = int(args[i + 1])
        del args[i:i + 2]
    directory = args[0] if args else "bench/.work/flights"
    x_train, y_train = load(directory, "train")
    x_test, y_test = load(directory, "test")
    dtrain = xgb.DMatrix(x_train, label=y_train, nthread=2)
    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "max_depth": 6,
        "eta": 0.1,
        "max_bin": 256,
        "nthread": 2,
    }
    t0, c0 = time.perf_counter(), time.process_time()
    booster = xgb.train(params, dtrain, num_boost_round=100)
    train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0

    def predict():
        # A fresh DMatrix every time (untimed): the booster caches predictions per DMatrix, so
        # predicting the same DMatrix again returns the cached result in a few milliseconds.
        dtest = xgb.DMatrix(x_test, nthread=2)
        # predict_proba equivalent for the Booster API: probabilities of the positive class.
        t = time.perf_counter()
        proba = booster.predict(dtest)
        return time.perf_counter() - t, proba

    first_s, proba = predict()
    auc = roc_auc_score(y_test, proba)
    info = {"train_s": train_s, "train_cpu_s": train_cpu_s, "first_predict_s": first_s, "auc": auc, "xgboost": xgb.__version__}
    if rounds is not None:
        times = [predict()[0] for _ in range(rounds)]
        info.update(predict_s=statistics.median(times), predict_times_s=times)
        print(json.dumps(info), flush=True)
        return
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        if line.strip() != "predict":
            break
        print(json.dumps({"predict_s": predict()[0]}), flush=True)


if __name__ == "__main__":
    main()
