"""XGBoost peer for bench/gbdt.ts: same rows, same settings, times only training and prediction.

Reads the raw float64 columns that bench/gbdt.ts exported under bench/.work/flights/ and prints
one JSON line with the figures.
"""
import json
import os
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
    directory = sys.argv[1] if len(sys.argv) > 1 else "bench/.work/flights"
    x_train, y_train = load(directory, "train")
    x_test, y_test = load(directory, "test")
    dtrain = xgb.DMatrix(x_train, label=y_train, nthread=2)
    dtest = xgb.DMatrix(x_test, nthread=2)
    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "max_depth": 6,
        "eta": 0.1,
        "max_bin": 256,
        "nthread": 2,
    }
    t0 = time.perf_counter()
    booster = xgb.train(params, dtrain, num_boost_round=100)
    train_s = time.perf_counter() - t0
    # predict_proba equivalent for the Booster API: probabilities of the positive class.
    t0 = time.perf_counter()
    proba = booster.predict(dtest)
    predict_s = time.perf_counter() - t0
    auc = roc_auc_score(y_test, proba)
    print(json.dumps({"train_s": train_s, "predict_s": predict_s, "auc": auc, "xgboost": xgb.__version__}))


if __name__ == "__main__":
    main()
