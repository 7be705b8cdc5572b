#!/usr/bin/python3
"""Writes probe.json: float32 embeddings, health scores and scikit-learn's expected values for the health-score probe
(make_pipeline(StandardScaler(), Ridge(alpha)) fit on some rows, predicting every row) and for r2_score.

Run with the Debian interpreter (scikit-learn 1.2, numpy 1.24; apt-get install python3-sklearn):
    /usr/bin/python3 tests/Learner.Tests/Downstream/Fixtures/generate_probe_fixtures.py
The embeddings are float32 (as the encoders write them) and are cast to float64 before fitting, so that scikit-learn
works in double precision, as the probe does.
"""
import json
import os

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(20261202)


def probe_case(name, x, y, train, alpha):
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float64)
    train = np.asarray(train, dtype=int)
    target = np.setdiff1d(np.arange(len(y)), train)
    model = make_pipeline(StandardScaler(), Ridge(alpha=alpha, solver="cholesky"))
    model.fit(x[train].astype(np.float64), y[train])
    pred = model.predict(x.astype(np.float64))
    ridge = model[-1]
    return {
        "name": name, "dimension": int(x.shape[1]), "alpha": alpha,
        "embeddings": [float(v) for v in x.ravel()], "scores": [float(v) for v in y],
        "train": train.tolist(), "target": target.tolist(),
        "predictions": [float(v) for v in pred],
        "coefficients": [float(v) for v in ridge.coef_], "intercept": float(ridge.intercept_),
        "r2_target": float(r2_score(y[target], pred[target])),
    }


def linear_data(n, d, noise, offset=0.0, spread=1.0):
    x = offset + spread * rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    y = 50 + x @ w + noise * rng.standard_normal(n)
    return x, y


cases = []
x, y = linear_data(60, 8, 0.5)
cases.append(probe_case("n60_d8_alpha1", x, y, rng.permutation(60)[:40], 1.0))
x, y = linear_data(36, 48, 1.0)
cases.append(probe_case("more_features_than_rows_alpha0.1", x, y, np.arange(24), 0.1))
x, y = linear_data(50, 6, 0.2)
x[:, 2] = 3.25            # a constant feature: StandardScaler keeps scale 1, Ridge gives it weight 0
x[:, 5] = 2 * x[:, 4]     # collinear features
cases.append(probe_case("constant_and_collinear_alpha10", x, y, np.arange(0, 50, 2)[:20].tolist() + list(range(41, 50)), 10.0))
x, y = linear_data(80, 16, 2.0, offset=1000.0, spread=0.05)
cases.append(probe_case("large_offset_small_spread", x, y, np.arange(60), 1.0))
x, y = linear_data(120, 64, 3.0)
cases.append(probe_case("embedding_64_alpha1", x, y, rng.permutation(120)[:90], 1.0))

r2 = []
for name, t, p in [
    ("noisy", rng.normal(30, 10, 40), None),
    ("perfect", [1.0, 2.0, 3.5, -4.0], [1.0, 2.0, 3.5, -4.0]),
    ("worse_than_mean", [0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]),
    ("single_pair", [5.0, 7.0], [6.0, 6.5]),
]:
    t = np.asarray(t, dtype=np.float64)
    p = t + rng.normal(0, 4, len(t)) if p is None else np.asarray(p, dtype=np.float64)
    r2.append({"name": name, "truth": t.tolist(), "predicted": p.tolist(), "r2": float(r2_score(t, p))})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.json")
with open(out, "w") as f:
    json.dump({"generator": "generate_probe_fixtures.py", "probe": cases, "r2": r2}, f, separators=(",", ":"))
print(f"wrote {out}: {len(cases)} probe cases, {len(r2)} r2 cases")
