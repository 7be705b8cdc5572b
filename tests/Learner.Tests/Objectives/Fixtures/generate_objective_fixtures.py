"""Reference fixtures for Learner.Objectives, computed with PyTorch in float64 (autograd for the gradients).

Run with /usr/bin/python3 (which has torch):
    /usr/bin/python3 tests/Learner.Tests/Objectives/Fixtures/generate_objective_fixtures.py
Writes objective_fixtures.json next to this script. Each case is one (seed, B, D) batch with its metadata and, per
objective configuration, the loss and the gradients with respect to the embeddings (and the second view).
The implementations are the straightforward torch formulas a user would write, independent of the C# kernels.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
EPS_NORM = 1e-12
EPS_EUCLID = 1e-12


def pdist(e, kind):
    if kind == "cosine":
        n = F.normalize(e, dim=1, eps=EPS_NORM)
        return 1 - n @ n.t()
    diff = e[:, None, :] - e[None, :, :]
    sq = (diff * diff).sum(-1)
    return sq if kind == "sqeuclidean" else torch.sqrt(sq + EPS_EUCLID)


def mse(e, v, m, p):
    pred = e @ m["w"] + m["b"]
    t = (m["scores"] - p["offset"]) / p["scale"]
    return ((pred - t) ** 2).mean()


def mse_within(e, v, m, p):
    # mse plus lam * mean over rows of (residual - its patient's mean residual)^2, the means by scatter-add
    r = e @ m["w"] + m["b"] - (m["scores"] - p["offset"]) / p["scale"]
    pat = m["patients"]
    ids, inverse = torch.unique(pat, return_inverse=True)
    sums = torch.zeros(len(ids)).index_add(0, inverse, r)
    counts = torch.zeros(len(ids)).index_add(0, inverse, torch.ones_like(r))
    centred = r - (sums / counts)[inverse]
    return (r ** 2).mean() + p["lam"] * (centred ** 2).mean()


def contrastive(e, v, m, p):
    d = pdist(e, p["distance"])
    y = m["labels"]
    n = len(y)
    iu = torch.triu_indices(n, n, 1)
    dd = d[iu[0], iu[1]]
    pos = (y[iu[0]] == y[iu[1]]).double()
    loss = pos * dd ** 2 + (1 - pos) * F.relu(p["margin"] - dd) ** 2
    return loss.mean()


def gap_fn(gap, p):
    if p["gap"] == "linear":
        return gap / p["gap_scale"]
    if p["gap"] == "sqrt":
        return torch.sqrt(gap / p["gap_scale"])
    return torch.exp(gap / p["gap_scale"]) - 1


def weighted(e, v, m, p):
    d = pdist(e, p["distance"])
    s, pat = m["scores"], m["patients"]
    n = len(s)
    iu = torch.triu_indices(n, n, 1)
    keep = pat[iu[0]] != pat[iu[1]]
    i, j = iu[0][keep], iu[1][keep]
    dd = d[i, j]
    gap = (s[i] - s[j]).abs()
    pos = gap <= p["threshold"]
    g = gap_fn(gap, p)
    w = g / g[~pos].mean() if p["weight"] else torch.ones_like(g)
    margin = p["margin"] + (p["slope"] * g if p["margin_by_gap"] else 0)
    loss = torch.where(pos, dd ** 2, w * F.relu(margin - dd) ** 2)
    return loss.mean()


def penalty(x, kind):
    return F.relu(x) if kind == "hinge" else F.softplus(x)


def triplet(e, v, m, p):
    d = pdist(e, p["distance"])
    y = m["labels"]
    n = len(y)
    same = y[:, None] == y[None, :]
    eye = torch.eye(n, dtype=torch.bool)
    pos = same & ~eye
    neg = ~same
    if p["selection"] == "batch_hard":
        valid = pos.any(1) & neg.any(1)
        hp = d.masked_fill(~pos, float("-inf")).max(1).values
        hn = d.masked_fill(~neg, float("inf")).min(1).values
        return penalty(hp - hn + p["margin"], p["penalty"])[valid].mean()
    if p["selection"] == "batch_all":
        t = d[:, :, None] - d[:, None, :] + p["margin"]
        mask = pos[:, :, None] & neg[:, None, :]
        return penalty(t, p["penalty"])[mask].mean()
    # semi-hard: per (a, p), the nearest negative farther than p, else the farthest negative
    losses = []
    for a in range(n):
        negs = torch.nonzero(neg[a]).flatten()
        if len(negs) == 0:
            continue
        for q in torch.nonzero(pos[a]).flatten():
            dn = d[a, negs]
            farther = dn > d[a, q]
            if farther.any():
                dsel = dn.masked_fill(~farther, float("inf")).min()
            else:
                dsel = dn.max()
            losses.append(penalty(d[a, q] - dsel + p["margin"], p["penalty"]))
    return torch.stack(losses).mean()


def infonce(e, v, m, p):
    tau = p["tau"]
    u, w = F.normalize(e, dim=1, eps=EPS_NORM), F.normalize(v, dim=1, eps=EPS_NORM)
    n = len(u)
    target = torch.arange(n)
    if p["variant"] == "cross":
        return F.cross_entropy(u @ w.t() / tau, target)
    if p["variant"] == "symmetric":
        s = u @ w.t() / tau
        return 0.5 * (F.cross_entropy(s, target) + F.cross_entropy(s.t(), target))
    z = torch.cat([u, w])
    s = (z @ z.t() / tau).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    return F.cross_entropy(s, torch.cat([target + n, target]))


def supcon(e, v, m, p):
    z = F.normalize(torch.cat([e, v]), dim=1, eps=EPS_NORM)
    y = torch.cat([m["labels"], m["labels"]])
    n = len(z)
    eye = torch.eye(n, dtype=torch.bool)
    logits = (z @ z.t() / p["tau"]).masked_fill(eye, float("-inf"))
    logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos = (y[:, None] == y[None, :]) & ~eye
    cnt = pos.sum(1)
    valid = cnt > 0
    per = -(logp.masked_fill(~pos, 0).sum(1)[valid] / cnt[valid])
    return per.mean()


def yaware(e, v, m, p):
    z = F.normalize(torch.cat([e, v]), dim=1, eps=EPS_NORM)
    s = torch.cat([m["scores"], m["scores"]])
    n = len(z)
    eye = torch.eye(n, dtype=torch.bool)
    logits = (z @ z.t() / p["tau"]).masked_fill(eye, float("-inf"))
    logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    k = torch.exp(-(s[:, None] - s[None, :]) ** 2 / (2 * p["sigma"] ** 2)).masked_fill(eye, 0)
    w = k / k.sum(1, keepdim=True)
    return -(w * logp.masked_fill(eye, 0)).sum(1).mean()


def rnc(e, v, m, p):
    d = pdist(e, p["distance"])
    x = -d / p["tau"]
    s = m["scores"]
    n = len(s)
    ld = (s[:, None] - s[None, :]).abs()
    total = 0
    for i in range(n):
        for k in range(n):
            if k == i:
                continue
            mask = (ld[i] >= ld[i, k])
            mask[i] = False
            total = total - (x[i, k] - torch.logsumexp(x[i][mask], 0))
    return total / (n * (n - 1))


CONFIGS = [
    ("mse", mse, {"offset": 1.5, "scale": 0.8}),
    ("mse-within", mse_within, {"offset": 1.5, "scale": 0.8, "lam": 2.5}),
    ("contrastive-cosine", contrastive, {"distance": "cosine", "margin": 0.9}),
    ("contrastive-euclidean", contrastive, {"distance": "euclidean", "margin": 3.0}),
    ("weighted-linear", weighted, {"distance": "cosine", "margin": 0.9, "threshold": 0.3, "gap": "linear", "gap_scale": 1.0, "weight": True, "margin_by_gap": False, "slope": 0.5}),
    ("weighted-sqrt-margin", weighted, {"distance": "euclidean", "margin": 2.5, "threshold": 0.2, "gap": "sqrt", "gap_scale": 2.0, "weight": True, "margin_by_gap": True, "slope": 0.4}),
    ("weighted-exp-margin-only", weighted, {"distance": "cosine", "margin": 0.3, "threshold": 0.0, "gap": "exp", "gap_scale": 2.0, "weight": False, "margin_by_gap": True, "slope": 0.5}),
    ("triplet-hard-euclidean", triplet, {"selection": "batch_hard", "distance": "euclidean", "margin": 0.5, "penalty": "hinge"}),
    ("triplet-all-cosine-softplus", triplet, {"selection": "batch_all", "distance": "cosine", "margin": 0.2, "penalty": "softplus"}),
    ("triplet-all-euclidean", triplet, {"selection": "batch_all", "distance": "euclidean", "margin": 0.5, "penalty": "hinge"}),
    ("triplet-semihard-euclidean", triplet, {"selection": "semi_hard", "distance": "euclidean", "margin": 0.5, "penalty": "hinge"}),
    ("infonce-cross", infonce, {"variant": "cross", "tau": 0.1}),
    ("infonce-symmetric", infonce, {"variant": "symmetric", "tau": 0.2}),
    ("ntxent", infonce, {"variant": "ntxent", "tau": 0.1}),
    ("supcon", supcon, {"tau": 0.1}),
    ("y-aware", yaware, {"tau": 0.1, "sigma": 0.5}),
    ("rnc", rnc, {"distance": "euclidean", "tau": 2.0}),
]


def entry(t):
    t = t.detach().to(torch.float64).contiguous()
    return {"shape": list(t.shape), "data": [float(x) for x in t.reshape(-1).tolist()]}


def main():
    cases = []
    for seed, b, d in [(0, 8, 4), (1, 16, 8), (2, 33, 5), (3, 12, 16)]:
        rng = np.random.RandomState(seed)
        e0 = torch.tensor(rng.randn(b, d).astype(np.float32), dtype=torch.float64)
        v0 = torch.tensor(rng.randn(b, d).astype(np.float32), dtype=torch.float64)
        scores = torch.tensor((rng.rand(b) * 4).astype(np.float32), dtype=torch.float64)
        labels = torch.tensor(np.arange(b) % 3)
        patients = torch.tensor(rng.randint(0, max(2, b // 2), size=b))
        w = torch.tensor((rng.rand(d) - 0.5).astype(np.float32), dtype=torch.float64)
        bias = torch.tensor(np.float32(0.25), dtype=torch.float64)
        meta = {"scores": scores, "labels": labels, "patients": patients, "w": w, "b": bias}
        tensors = {"embeddings": e0, "second_view": v0, "scores": scores, "labels": labels.double(),
                   "patients": patients.double(), "head_w": w, "head_b": bias.reshape(1)}
        for name, fn, params in CONFIGS:
            e = e0.clone().requires_grad_(True)
            v = v0.clone().requires_grad_(True)
            loss = fn(e, v, meta, params)
            loss.backward()
            tensors["loss/" + name] = loss.reshape(1)
            tensors["grad/" + name] = e.grad if e.grad is not None else torch.zeros_like(e0)
            tensors["gradv/" + name] = v.grad if v.grad is not None else torch.zeros_like(v0)
        cases.append({"name": f"seed{seed}-B{b}-D{d}", "params": {"seed": seed, "B": b, "D": d},
                      "tensors": {k: entry(t) for k, t in tensors.items()}})
    doc = {"generator": "generate_objective_fixtures.py", "torch": torch.__version__,
           "configs": {name: params for name, _, params in CONFIGS}, "cases": cases}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "objective_fixtures.json")
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {out}: {len(cases)} cases x {len(CONFIGS)} objectives")


if __name__ == "__main__":
    main()
