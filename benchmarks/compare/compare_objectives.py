#!/usr/bin/python3
"""Contrastive objectives, forward+backward on B×128 embeddings: the straightforward torch code a user would write
against Learner's fused objectives (same formulas; see ObjectiveWorkloads.cs).

    /usr/bin/python3 benchmarks/compare/compare_objectives.py [--repeats 3] [--threads 2]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CASES = [("infonce", 1024), ("infonce", 4096), ("triplet-batch-hard", 1024), ("supcon", 1024), ("weighted-contrastive", 1024)]
D = 128


def make(torch, name, b):
    F = torch.nn.functional
    e = torch.randn(b, D, requires_grad=True)
    v = torch.randn(b, D, requires_grad=True)
    scores = 100 + 400 * torch.rand(b)
    patients = torch.arange(b) // 4
    labels = ((scores - 100) / 100).long().clamp(max=3)

    if name == "infonce":
        # cross-view InfoNCE, cosine similarity, τ = 0.1
        def loss():
            logits = F.normalize(e, dim=1) @ F.normalize(v, dim=1).t() / 0.1
            return F.cross_entropy(logits, torch.arange(b))
    elif name == "triplet-batch-hard":
        # batch-hard triplet (Hermans et al.): hardest positive and negative per anchor, Euclidean, hinge, margin 0.2
        same = labels[:, None] == labels[None, :]
        eye = torch.eye(b, dtype=torch.bool)
        def loss():
            d = torch.cdist(e, e)
            hp = (d * (same & ~eye)).max(dim=1).values
            hn = d.masked_fill(same, float("inf")).min(dim=1).values
            return F.relu(hp - hn + 0.2).mean()
    elif name == "supcon":
        # SupCon L_out (Khosla et al.), cosine, τ = 0.1, one view, anchors with at least one positive
        same = (labels[:, None] == labels[None, :]).float()
        eye = torch.eye(b)
        pos = same - eye
        def loss():
            z = F.normalize(e, dim=1)
            logits = (z @ z.t() / 0.1).masked_fill(eye.bool(), float("-inf"))
            logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
            logp = logp.masked_fill(eye.bool(), 0)
            count = pos.sum(1)
            per = -(pos * logp).sum(1) / count.clamp(min=1)
            return per[count > 0].mean()
    else:
        # weighted contrastive (LEARNER): inter-patient pairs, cosine distance; |Δscore| ≤ 20 → d², else w·max(0, 0.5 − d)²
        # with w = (|Δ|/100) / mean over negatives
        gap = (scores[:, None] - scores[None, :]).abs()
        inter = patients[:, None] != patients[None, :]
        upper = torch.triu(torch.ones(b, b, dtype=torch.bool), 1) & inter
        pos = upper & (gap <= 20)
        neg = upper & (gap > 20)
        g = gap / 100
        w = g / g[neg].mean()
        def loss():
            z = F.normalize(e, dim=1)
            d = 1 - z @ z.t()
            terms = torch.where(pos, d ** 2, torch.where(neg, w * F.relu(0.5 - d) ** 2, torch.zeros(())))
            return terms.sum() / upper.sum()

    def step():
        e.grad = None
        v.grad = None
        loss().backward()
    return step


def main():
    args = common.argument_parser(__doc__).parse_args()
    torch = common.setup_torch(args.threads)
    workloads = {}
    for name, b in CASES:
        key = f"objective/{name}-b{b}"
        if args.filter in key:
            workloads[key] = make(torch, name, b)
    print(common.compare(workloads, "Objectives forward+backward, D=128 (straightforward torch vs Learner fused)",
                         **common.timing_options(args)))


if __name__ == "__main__":
    main()
