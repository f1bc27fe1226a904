"""SciPy side of test/data/scipy-parity.test.ts: reads cases from a JSON file, prints results."""
import json
import sys

import numpy as np
from scipy import stats
from scipy.spatial import distance

cases = json.load(open(sys.argv[1]))
out = []
for case in cases:
    if case["kind"] == "numeric":
        ref = np.asarray(case["ref"], dtype=float)
        cur = np.asarray(case["cur"], dtype=float)
        ks = stats.ks_2samp(ref, cur)
        out.append({
            "ks": float(ks.statistic), "p": float(ks.pvalue),
            "w": float(stats.wasserstein_distance(ref, cur)),
            "js": float(distance.jensenshannon(case["hist_ref"], case["hist_cur"])),
        })
    else:
        ref, cur = case["ref"], case["cur"]
        cats = sorted(set(ref) | set(cur))
        r = np.array([ref.count(c) for c in cats], dtype=float)
        c = np.array([cur.count(c) for c in cats], dtype=float)
        pc = case["pseudo"]
        expected = c.sum() * (r + pc) / (r.sum() + pc * len(cats))
        chi = stats.chisquare(c, expected)
        out.append({
            "chi": float(chi.statistic), "p": float(chi.pvalue),
            "js": float(distance.jensenshannon(r, c)),
            "linf": float(np.max(np.abs(r / r.sum() - c / c.sum()))),
        })
print(json.dumps(out))
