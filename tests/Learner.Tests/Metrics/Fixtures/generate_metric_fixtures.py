#!/usr/bin/python3
"""Writes metrics.json: inputs and scikit-learn / scipy / numpy expected values for Learner.Metrics tests.

Run with the Debian interpreter (sklearn 1.2, scipy 1.10, numpy 1.24):
    /usr/bin/python3 tests/Learner.Tests/Metrics/Fixtures/generate_metric_fixtures.py
"""
import json
import math
import os
import warnings

import numpy as np
from scipy import stats
from scipy.spatial.distance import cosine
from sklearn import metrics as skm

warnings.filterwarnings("ignore")
rng = np.random.default_rng(20241102)


def num(v):
    v = float(v)
    return "NaN" if math.isnan(v) else v


def classification_case(name, y, p, k, scores=None):
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=int)
    labels = list(range(k))
    prec, rec, f1, sup = skm.precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    case = {
        "name": name, "k": k, "truth": y.tolist(), "predicted": p.tolist(),
        "accuracy": num(skm.accuracy_score(y, p)),
        "balanced_accuracy": num(skm.balanced_accuracy_score(y, p)),
        "precision": [num(v) for v in prec], "recall": [num(v) for v in rec],
        "f1": [num(v) for v in f1], "support": [int(v) for v in sup],
        # labels=None: the classes present in truth or predictions (scikit-learn's default)
        "macro_f1": num(skm.f1_score(y, p, average="macro", zero_division=0)),
        "weighted_f1": num(skm.f1_score(y, p, average="weighted", zero_division=0)),
        "confusion": skm.confusion_matrix(y, p, labels=labels).tolist(),
        "kappa_quadratic": num(skm.cohen_kappa_score(y, p, labels=labels, weights="quadratic")),
        "kappa_linear": num(skm.cohen_kappa_score(y, p, labels=labels, weights="linear")),
        "kappa_unweighted": num(skm.cohen_kappa_score(y, p, labels=labels)),
    }
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        aucs = []
        for c in range(k):
            yc = (y == c).astype(int)
            aucs.append(num(skm.roc_auc_score(yc, scores[:, c])) if 0 < yc.sum() < len(yc) else "NaN")
        defined = [a for a in aucs if a != "NaN"]
        case["scores"] = scores.ravel().tolist()
        case["roc_auc"] = aucs
        case["macro_roc_auc"] = num(np.mean(defined)) if defined else "NaN"
        if len(defined) == k and k > 2:
            # scikit-learn's own multi-class macro one-vs-rest on row-normalised scores, as a cross-check
            prob = scores / scores.sum(axis=1, keepdims=True)
            case["sklearn_ovr_macro_on_normalised"] = num(skm.roc_auc_score(y, prob, multi_class="ovr", average="macro"))
            case["normalised_scores"] = prob.ravel().tolist()
    return case


classification = []
n, k = 60, 3
y = rng.integers(0, k, n)
p = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
s = np.round(rng.random((n, k)) + 0.8 * np.eye(k)[y], 1) + 0.05  # rounded: many ties
classification.append(classification_case("random3", y, p, k, s))
n, k = 80, 5
y = rng.integers(0, k, n)
p = np.where(rng.random(n) < 0.4, y, rng.integers(0, k, n))
s = rng.random((n, k)) + 0.5 * np.eye(k)[y]
classification.append(classification_case("random5", y, p, k, s))
classification.append(classification_case("all_predicted_one_class", [0, 1, 2, 1, 0, 2, 1], [1] * 7, 3,
                                          rng.random((7, 3))))
classification.append(classification_case("class_absent_from_truth", [0, 0, 1, 1, 0, 1], [0, 2, 1, 1, 0, 2], 3,
                                          np.round(rng.random((6, 3)), 1) + 0.1))
classification.append(classification_case("class_absent_everywhere", [0, 2, 2, 0, 2], [0, 2, 0, 0, 2], 3))
classification.append(classification_case("perfect", [0, 1, 2, 2, 1, 0], [0, 1, 2, 2, 1, 0], 3))
classification.append(classification_case("single_class_both", [1, 1, 1, 1], [1, 1, 1, 1], 3))
classification.append(classification_case("inverse_ordinal", [0, 0, 1, 2, 2], [2, 2, 1, 0, 0], 3))


def corr_case(name, x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) < 2:
        r = rho = tau = float("nan")
    else:
        r = stats.pearsonr(x, y)[0] if len(x) >= 2 else float("nan")
        rho = stats.spearmanr(x, y)[0]
        tau = stats.kendalltau(x, y)[0]
    return {"name": name, "x": x.tolist(), "y": y.tolist(), "pearson": num(r), "spearman": num(rho), "kendall": num(tau)}


correlation = []
x = rng.normal(size=50)
correlation.append(corr_case("random", x, 0.6 * x + rng.normal(size=50)))
correlation.append(corr_case("ties", rng.integers(0, 5, 40), rng.integers(0, 4, 40)))
x = rng.integers(0, 6, 300)
correlation.append(corr_case("ties_long", x, x + rng.integers(0, 4, 300)))
correlation.append(corr_case("monotone_nonlinear", np.arange(12.0), np.exp(np.arange(12.0) / 3)))
correlation.append(corr_case("negative", [1, 2, 3, 4, 5], [5, 3, 4, 1, 2]))
correlation.append(corr_case("constant_x", [2, 2, 2, 2], [1, 3, 2, 5]))
correlation.append(corr_case("constant_y", [1, 3, 2, 5], [7, 7, 7, 7]))
correlation.append(corr_case("two_points", [1, 2], [3, 1]))
correlation.append(corr_case("one_point", [1], [3]))

# Alignment: cosine distances of same-patient pairs vs |delta score|.
N, D = 30, 8
emb = rng.normal(size=(N, D)).astype(np.float32)
pairs = [(int(i), int(j)) for i, j in rng.integers(0, N, (45, 2)) if i != j]
delta = np.abs(rng.normal(size=len(pairs))) + np.array([0.3 * cosine(emb[i].astype(np.float64), emb[j].astype(np.float64)) for i, j in pairs])
dist = [cosine(emb[i].astype(np.float64), emb[j].astype(np.float64)) for i, j in pairs]
alignment = {
    "n": N, "d": D, "embeddings": [float(v) for v in emb.ravel()], "pairs": pairs, "abs_delta": delta.tolist(),
    "distances": dist,
    "pearson": num(stats.pearsonr(dist, delta)[0]), "spearman": num(stats.spearmanr(dist, delta)[0]),
    "kendall": num(stats.kendalltau(dist, delta)[0]),
}


def map_at_r(emb, labels):
    """MAP@R and precision@1 (Musgrave et al. 2020): cosine similarity, the query excluded, ties broken by lower index."""
    e = emb.astype(np.float64)
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    sims = e @ e.T
    aps, p1s, skipped = [], [], 0
    for q in range(len(labels)):
        others = np.array([j for j in range(len(labels)) if j != q])
        r = int(np.sum(labels[others] == labels[q]))
        if r == 0:
            skipped += 1
            continue
        order = others[np.lexsort((others, -sims[q, others]))]
        rel = (labels[order[:r]] == labels[q]).astype(np.float64)
        prec = np.cumsum(rel) / np.arange(1, r + 1)
        aps.append(float(np.sum(prec * rel) / r))
        p1s.append(float(rel[0]))
    return {"map_at_r": num(np.mean(aps)) if aps else "NaN", "precision_at_1": num(np.mean(p1s)) if p1s else "NaN",
            "queries": len(aps), "skipped": skipped}


retrieval = []
for name, N, D, K, spread in [("clustered", 70, 6, 4, 1.2), ("noisy", 300, 16, 5, 3.0)]:
    centres = rng.normal(size=(K, D))
    labels = rng.integers(0, K, N)
    labels[-1] = K  # a lone label: its query is skipped
    centres = np.vstack([centres, rng.normal(size=(1, D))])
    emb = (centres[labels] + spread * rng.normal(size=(N, D))).astype(np.float32)
    case = {"name": name, "n": N, "d": D, "labels": labels.tolist(), "embeddings": [float(v) for v in emb.ravel()]}
    case.update(map_at_r(emb, labels))
    retrieval.append(case)

values = rng.normal(size=37)
percentile = {"values": values.tolist(), "q": [2.5, 50.0, 97.5, 0.0, 100.0],
              "expected": [float(np.percentile(values, q)) for q in [2.5, 50.0, 97.5, 0.0, 100.0]]}

out = {"classification": classification, "correlation": correlation, "alignment": alignment,
       "retrieval": retrieval, "percentile": percentile}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics.json")
with open(path, "w") as f:
    json.dump(out, f, indent=None, separators=(",", ":"))
print(path, os.path.getsize(path), "bytes")
