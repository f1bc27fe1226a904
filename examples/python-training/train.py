#!/usr/bin/env python3
"""Trains an XGBoost classifier inside a Trainyard pipeline (a command step).

Trainyard hands the step its inputs as files and collects its outputs from a directory:
  TRAINYARD_INPUT_TRAIN   CSV of training rows (features + label)
  TRAINYARD_INPUT_TEST    CSV of held-out rows
  TRAINYARD_PARAMS        JSON of the params this step declares
  TRAINYARD_OUT           where to write model.json (XGBoost JSON) and metrics.json
"""
import json
import os
import sys
import time

try:
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from sklearn.metrics import accuracy_score, log_loss
except ImportError as e:
    sys.exit(
        f"train.py: {sys.executable} cannot import {e.name or e} ({e}); "
        "install Debian's packages: apt-get install python3-xgboost python3-sklearn python3-pandas"
    )

# Held-out rows whose probabilities are written to metrics.json for the agreement check.
SAMPLE_ROWS = 1000

params = json.loads(os.environ["TRAINYARD_PARAMS"])
out = os.environ["TRAINYARD_OUT"]
train = pd.read_csv(os.environ["TRAINYARD_INPUT_TRAIN"])
test = pd.read_csv(os.environ["TRAINYARD_INPUT_TEST"])
features = [c for c in train.columns if c != "label"]
if train["label"].nunique() < 2:
    sys.exit("train.py: the training data has a single class; nothing to learn")

classes = sorted(train["label"].unique())
index = {c: i for i, c in enumerate(classes)}
y_train = train["label"].map(index).to_numpy()
y_test = test["label"].map(index).to_numpy()

model = xgb.XGBClassifier(
    n_estimators=int(params.get("rounds", 50)),
    max_depth=int(params.get("maxDepth", 3)),
    learning_rate=float(params.get("learningRate", 0.2)),
    tree_method="hist",
    random_state=int(params.get("seed", 0)),
    n_jobs=2,
)
started = time.time()
model.fit(train[features].to_numpy(dtype=np.float32), y_train)
seconds = time.time() - started
proba = model.predict_proba(test[features].to_numpy(dtype=np.float32))
model.get_booster().feature_names = features
model.get_booster().save_model(os.path.join(out, "model.json"))
metrics = {
    "accuracy": float(accuracy_score(y_test, proba.argmax(axis=1))),
    "log_loss": float(log_loss(y_test, proba, labels=list(range(len(classes))))),
    "train_seconds": seconds,
    "classes": [str(c) for c in classes],
    "features": features,
    "xgboost": xgb.__version__,
    # XGBoost's own scores of the first held-out rows (all of them for a small test set, in the
    # CSV's order), so the pipeline can check the imported model agrees with XGBoost.
    "sample_rows": min(len(test), SAMPLE_ROWS),
    "sample_probabilities": proba[:SAMPLE_ROWS].tolist(),
}
with open(os.path.join(out, "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)
print(f"trained {len(classes)}-class XGBoost on {len(train)} rows in {seconds:.2f}s: accuracy {metrics['accuracy']:.3f}")
