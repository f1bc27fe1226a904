"""pandas + SciPy peer for bench/data-profile-drift.ts.

Reads the flights CSV exported by DuckDB, then (median of N runs) profiles the whole table
(describe + isna + nunique + quantiles + 20-bin histograms + top-20 value counts) and measures
drift of June against January-May with the same statistics Trainyard computes: PSI, KS
(ks_2samp), Jensen-Shannon (shared bins), Wasserstein for numbers; L-infinity, Jensen-Shannon,
chi-square, new/vanished categories for text; missing-rate change. Prints one JSON line.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

path = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3

t0 = time.perf_counter()
df = pd.read_csv(path, parse_dates=["date"])
read_s = time.perf_counter() - t0

NUMERIC = ["delay", "distance"]
TEXT = ["origin", "destination"]
QS = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]


def profile(frame):
    out = {"describe": frame.describe(include="all"), "nulls": frame.isna().sum(), "nunique": frame.nunique()}
    for c in NUMERIC:
        s = frame[c].dropna()
        out[c] = (s.quantile(QS), np.histogram(s, bins=20))
    for c in TEXT:
        out[c] = frame[c].value_counts().head(20)
    return out


def psi(r, c, eps=1e-4):
    r = np.maximum(r / r.sum(), eps)
    c = np.maximum(c / c.sum(), eps)
    return float(np.sum((c - r) * np.log(c / r)))


def drift(frame):
    june = frame["date"] >= "2001-06-01"
    ref, cur = frame[~june], frame[june]
    res = {}
    for c in NUMERIC:
        a, b = ref[c].dropna().to_numpy(), cur[c].dropna().to_numpy()
        edges = np.linspace(a.min(), a.max(), 21)
        ha, _ = np.histogram(a, bins=edges)
        hb, _ = np.histogram(np.clip(b, edges[0], edges[-1]), bins=edges)
        ks = stats.ks_2samp(a, b)
        res[c] = dict(psi=psi(ha, hb), ks=float(ks.statistic), p=float(ks.pvalue),
                      js=float(distance.jensenshannon(ha, hb)), w=float(stats.wasserstein_distance(a, b)),
                      missing=float(cur[c].isna().mean() - ref[c].isna().mean()))
    for c in TEXT:
        vr, vc = ref[c].value_counts(), cur[c].value_counts()
        cats = vr.index.union(vc.index)
        r = vr.reindex(cats, fill_value=0).to_numpy(float)
        k = vc.reindex(cats, fill_value=0).to_numpy(float)
        expected = k.sum() * (r + 0.5) / (r.sum() + 0.5 * len(cats))
        chi = stats.chisquare(k, expected)
        res[c] = dict(linf=float(np.max(np.abs(r / r.sum() - k / k.sum()))), js=float(distance.jensenshannon(r, k)),
                      chi=float(chi.statistic), p=float(chi.pvalue), new=int(((r == 0) & (k > 0)).sum()),
                      vanished=int(((k == 0) & (r > 0)).sum()), missing=float(cur[c].isna().mean() - ref[c].isna().mean()))
    return res


prof_times, drift_times = [], []
for _ in range(runs):
    t = time.perf_counter()
    profile(df)
    prof_times.append(time.perf_counter() - t)
    t = time.perf_counter()
    result = drift(df)
    drift_times.append(time.perf_counter() - t)

print(json.dumps({
    "rows": int(len(df)),
    "read_s": read_s,
    "profile_s": float(np.median(prof_times)),
    "drift_s": float(np.median(drift_times)),
    "drift": result,
}))
