"""Shared writer for Learner.Nn test fixtures (run the generators with /usr/bin/python3, which has torch)."""
import json
import torch


def tensor_entry(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def write(path, generator, cases):
    """cases: list of dicts {name, params, tensors: {name: torch.Tensor}}."""
    doc = {
        "generator": generator,
        "torch": torch.__version__,
        "cases": [
            {"name": c["name"], "params": c.get("params", {}),
             "tensors": {k: tensor_entry(v) for k, v in c["tensors"].items()}}
            for c in cases
        ],
    }
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
