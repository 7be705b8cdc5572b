#!/usr/bin/python3
"""Reference values for Learner's pytorch-metric-learning (PML) parity tests.

Runs PML's own public source (not a re-implementation) on Debian's PyTorch, in float64, and writes each mapped loss's
value and its gradient with respect to the embeddings (autograd) for several batch shapes into
tests/Learner.Tests/Objectives/Fixtures/pml_fixtures.json. Inputs are rounded to float32 first, so the float32 library
sees exactly the numbers PML saw.

Setup (Debian 12):
    apt-get install -y python3-torch python3-numpy python3-scipy python3-tqdm
    # PML's source, e.g. from a clone or an archive of github.com/KevinMusgrave/pytorch-metric-learning (v2.8.1):
    git --git-dir=<pml>.git archive v2.8.1 src | tar x -C /tmp/pml
    PYTHONPATH=/tmp/pml/src /usr/bin/python3 scripts/pml-reference.py

Each config below names the PML call; tests/Learner.Tests/Objectives/PmlParityTests.cs maps the same name to Learner's
objective and holds it to 1e-5 relative.
"""
import json
import os
import sys

import numpy as np
import torch

import pytorch_metric_learning
from pytorch_metric_learning import distances, losses, miners, reducers

torch.set_default_dtype(torch.float64)

# name -> (loss, miner or None, whether the batch is two views (SimCLR form: rows = [u; v], labels = [0..B-1; 0..B-1]))
CONFIGS = {
    "supcon": (lambda: losses.SupConLoss(temperature=0.1), None, False),
    "supcon-t0.5": (lambda: losses.SupConLoss(temperature=0.5), None, False),
    "triplet-default": (lambda: losses.TripletMarginLoss(), None, False),
    "triplet-all-m0.2": (lambda: losses.TripletMarginLoss(margin=0.2), None, False),
    "triplet-batchhard-m0.2": (lambda: losses.TripletMarginLoss(margin=0.2), lambda: miners.BatchHardMiner(), False),
    "triplet-smooth-m0.2": (lambda: losses.TripletMarginLoss(margin=0.2, smooth_loss=True), None, False),
    "triplet-all-raw-m0.5": (lambda: losses.TripletMarginLoss(margin=0.5, distance=distances.LpDistance(normalize_embeddings=False)), None, False),
    "ntxent": (lambda: losses.NTXentLoss(), None, False),
    "ntxent-t0.5": (lambda: losses.NTXentLoss(temperature=0.5), None, False),
    "ntxent-views": (lambda: losses.NTXentLoss(temperature=0.1), None, True),
    "contrastive": (lambda: losses.ContrastiveLoss(), None, False),
    "contrastive-margins": (lambda: losses.ContrastiveLoss(pos_margin=0.2, neg_margin=0.9), None, False),
    "contrastive-raw": (lambda: losses.ContrastiveLoss(pos_margin=0.5, neg_margin=3.0, distance=distances.LpDistance(normalize_embeddings=False)), None, False),
    "contrastive-pairmargin": (lambda: losses.ContrastiveLoss(), lambda: miners.PairMarginMiner(pos_margin=0.2, neg_margin=0.8), False),
    # LpDistance(power=2): the squared Euclidean distance of the raw embeddings.
    "triplet-all-squared-m0.5": (lambda: losses.TripletMarginLoss(margin=0.5, distance=distances.LpDistance(normalize_embeddings=False, power=2)), None, False),
    "contrastive-squared": (lambda: losses.ContrastiveLoss(pos_margin=0.5, neg_margin=6.0, distance=distances.LpDistance(normalize_embeddings=False, power=2)), None, False),
    # DotProductSimilarity normalises by default (BaseDistance's normalize_embeddings=True), so only the raw form is a dot.
    "supcon-dot": (lambda: losses.SupConLoss(temperature=0.5, distance=distances.DotProductSimilarity(normalize_embeddings=False)), None, False),
    "supcon-dot-normalized": (lambda: losses.SupConLoss(temperature=0.5, distance=distances.DotProductSimilarity()), None, False),
    "ntxent-dot": (lambda: losses.NTXentLoss(temperature=0.5, distance=distances.DotProductSimilarity(normalize_embeddings=False)), None, False),
    # Reducers passed as reducer=: the triplet loss has one sub-loss; the contrastive loss reduces its positive and
    # negative sub-losses separately (over ordered pairs, each unordered pair twice) and adds them.
    "triplet-all-mean-m0.2": (lambda: losses.TripletMarginLoss(margin=0.2, reducer=reducers.MeanReducer()), None, False),
    "triplet-all-sum-m0.2": (lambda: losses.TripletMarginLoss(margin=0.2, reducer=reducers.SumReducer()), None, False),
    "contrastive-mean": (lambda: losses.ContrastiveLoss(reducer=reducers.MeanReducer()), None, False),
    "contrastive-sum": (lambda: losses.ContrastiveLoss(reducer=reducers.SumReducer()), None, False),
}

# (name, B, D, labels, seed): several shapes, an imbalanced batch with a singleton class, a batch with many classes.
SHAPES = [
    ("B8-D4-2cls", 8, 4, [i % 2 for i in range(8)], 1),
    ("B12-D16-3cls", 12, 16, [i % 3 for i in range(12)], 2),
    ("B30-D8-4cls", 30, 8, [(7 * i) % 4 for i in range(30)], 3),
    ("B7-D5-singleton", 7, 5, [0, 0, 0, 1, 1, 2, 0], 4),
    ("B16-D32-8cls", 16, 32, [i // 2 for i in range(16)], 5),
]


def f32(x):
    return x.astype(np.float32).astype(np.float64)


def run(config, e, v, labels):
    make_loss, make_miner, views = CONFIGS[config]
    loss_fn = make_loss()
    b = e.shape[0]
    if views:
        x = torch.tensor(np.concatenate([e, v]), requires_grad=True)
        y = torch.cat([torch.arange(b), torch.arange(b)])
    else:
        x = torch.tensor(e, requires_grad=True)
        y = torch.tensor(labels)
    if make_miner is None:
        loss = loss_fn(x, y)
    else:
        loss = loss_fn(x, y, make_miner()(x, y))
    loss.backward()
    g = x.grad.detach().numpy()
    out = {"loss": float(loss.item()), "grad": g[:b].ravel().tolist()}
    if views:
        out["grad_second_view"] = g[b:].ravel().tolist()
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "Learner.Tests", "Objectives", "Fixtures", "pml_fixtures.json")
    cases = []
    for name, b, d, labels, seed in SHAPES:
        rng = np.random.default_rng(seed)
        e = f32(rng.standard_normal((b, d)))
        v = f32(e + 0.3 * rng.standard_normal((b, d)))
        cases.append({
            "name": name, "B": b, "D": d, "labels": labels,
            "embeddings": e.ravel().tolist(), "second_view": v.ravel().tolist(),
            "losses": {c: run(c, e, v, labels) for c in CONFIGS},
        })
    doc = {
        "generator": "scripts/pml-reference.py",
        "pytorch_metric_learning": pytorch_metric_learning.__version__,
        "torch": torch.__version__,
        "dtype": "float64",
        "cases": cases,
    }
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}: {len(cases)} shapes x {len(CONFIGS)} configs", file=sys.stderr)


if __name__ == "__main__":
    main()
