"""Generates norms.json: PyTorch references for Learner.Nn's activations, softmax family, L2-normalize and
batch/layer/group norm (forward outputs, and input/weight/bias gradients for a fixed random upstream gradient).

Run with /usr/bin/python3 (which has torch) from this folder:  /usr/bin/python3 generate_norm_fixtures.py
Inputs are drawn in float32 and stored as float32; the references are computed in float64 from those exact inputs,
so they are the correctly rounded values the float32 engine is compared against (within 1e-4 relative).
"""
import os
import torch
import torch.nn.functional as F
from fixture_io import write

torch.manual_seed(20241101)
cases = []


def f32(*shape, lo=-2.0, hi=2.0):
    return (torch.rand(*shape) * (hi - lo) + lo).to(torch.float32)


def grads(y, inputs, gy):
    """d(sum(y * gy))/d(inputs); None for inputs that are None."""
    live = [t for t in inputs if t is not None]
    gs = torch.autograd.grad(y, live, grad_outputs=gy.to(y.dtype))
    it = iter(gs)
    return [None if t is None else next(it) for t in inputs]


def leaf(t):
    return None if t is None else t.detach().to(torch.float64).requires_grad_(True)


# ---------------------------------------------------------------- batch norm (train and eval, ranks 2..5)
for shape in ([6, 3], [4, 3, 7], [2, 3, 5, 4], [2, 2, 3, 2, 3], [2, 3, 17]):
    c = shape[1]
    for training in (True, False):
        for affine in (True, False):
            if not affine and len(shape) not in (2, 4):
                continue
            x = f32(*shape) * 1.5 + 0.7
            w = f32(c, lo=0.5, hi=1.5) if affine else None
            b = f32(c, lo=-0.5, hi=0.5) if affine else None
            rm = f32(c, lo=-0.3, hi=0.3)
            rv = f32(c, lo=0.5, hi=2.0)
            gy = f32(*shape, lo=-1, hi=1)
            xd, wd, bd = leaf(x), leaf(w), leaf(b)
            rmd, rvd = rm.to(torch.float64).clone(), rv.to(torch.float64).clone()
            y = F.batch_norm(xd, rmd, rvd, wd, bd, training=training, momentum=0.1, eps=1e-5)
            gx, gw, gb = grads(y, [xd, wd, bd], gy)
            tensors = {"x": x, "running_mean": rm, "running_var": rv, "gy": gy, "y": y,
                       "running_mean_out": rmd, "running_var_out": rvd, "gx": gx}
            if affine:
                tensors.update({"weight": w, "bias": b, "gweight": gw, "gbias": gb})
            cases.append({"name": f"batchnorm_{'train' if training else 'eval'}_{'affine' if affine else 'plain'}_{'x'.join(map(str, shape))}",
                          "params": {"op": "batchnorm", "training": int(training), "affine": int(affine), "momentum": 0.1, "eps": 1e-5},
                          "tensors": tensors})

# ---------------------------------------------------------------- layer norm
for shape, norm_shape, affine in (([3, 5, 7], [7], True), ([2, 3, 17], [3, 17], True), ([4, 33], [33], False),
                                  ([2, 65], [65], True), ([5, 1], [1], True)):
    x = f32(*shape) * 3 + 1
    w = f32(*norm_shape, lo=0.5, hi=1.5) if affine else None
    b = f32(*norm_shape, lo=-0.5, hi=0.5) if affine else None
    gy = f32(*shape, lo=-1, hi=1)
    xd, wd, bd = leaf(x), leaf(w), leaf(b)
    y = F.layer_norm(xd, norm_shape, wd, bd, eps=1e-5)
    gx, gw, gb = grads(y, [xd, wd, bd], gy)
    tensors = {"x": x, "gy": gy, "y": y, "gx": gx}
    if affine:
        tensors.update({"weight": w, "bias": b, "gweight": gw, "gbias": gb})
    cases.append({"name": f"layernorm_{'x'.join(map(str, shape))}_over_{'x'.join(map(str, norm_shape))}",
                  "params": {"op": "layernorm", "normalized_shape": norm_shape, "affine": int(affine), "eps": 1e-5},
                  "tensors": tensors})

# ---------------------------------------------------------------- group norm
for shape, groups, affine in (([2, 6, 5], 3, True), ([2, 4, 3, 3], 2, True), ([3, 4, 7], 4, True), ([2, 6, 2, 2, 3], 1, True),
                              ([2, 6, 9], 2, False), ([1, 8, 17], 4, True)):
    c = shape[1]
    x = f32(*shape) * 2 - 0.5
    w = f32(c, lo=0.5, hi=1.5) if affine else None
    b = f32(c, lo=-0.5, hi=0.5) if affine else None
    gy = f32(*shape, lo=-1, hi=1)
    xd, wd, bd = leaf(x), leaf(w), leaf(b)
    y = F.group_norm(xd, groups, wd, bd, eps=1e-5)
    gx, gw, gb = grads(y, [xd, wd, bd], gy)
    tensors = {"x": x, "gy": gy, "y": y, "gx": gx}
    if affine:
        tensors.update({"weight": w, "bias": b, "gweight": gw, "gbias": gb})
    cases.append({"name": f"groupnorm_{'x'.join(map(str, shape))}_g{groups}",
                  "params": {"op": "groupnorm", "groups": groups, "affine": int(affine), "eps": 1e-5},
                  "tensors": tensors})

# ---------------------------------------------------------------- elementwise activations
grid = torch.cat([torch.linspace(-12, 12, 65), f32(33, lo=-4, hi=4), torch.tensor([0.0, 1e-6, -1e-6, 30.0, -30.0])]).to(torch.float32)
for name, fn in (("gelu", lambda t: F.gelu(t)),
                 ("gelu_tanh", lambda t: F.gelu(t, approximate="tanh")),
                 ("relu", F.relu),
                 ("leaky_relu", lambda t: F.leaky_relu(t, 0.05)),
                 ("sigmoid", torch.sigmoid),
                 ("tanh", torch.tanh),
                 ("softplus", lambda t: F.softplus(t)),
                 ("softplus_beta2", lambda t: F.softplus(t, beta=2.0))):
    gy = f32(grid.numel(), lo=-1, hi=1)
    xd = leaf(grid)
    y = fn(xd)
    (gx,) = grads(y, [xd], gy)
    cases.append({"name": f"activation_{name}", "params": {"op": name}, "tensors": {"x": grid, "gy": gy, "y": y, "gx": gx}})

# ---------------------------------------------------------------- softmax family and L2-normalize
def axis_cases():
    yield [4, 33], -1, 1.0
    yield [3, 7, 5], 1, 1.0
    yield [2, 3, 17], 0, 1.0
    yield [5, 1], -1, 1.0
    yield [2, 65], -1, 1.0
    yield [4, 9], -1, 1e4      # large magnitudes: only max subtraction keeps exp finite
    yield [3, 5, 6], 1, 1e30


for shape, axis, scale in axis_cases():
    x = f32(*shape) * scale
    tag = f"{'x'.join(map(str, shape))}_axis{axis}" + ("" if scale == 1.0 else f"_scale{scale:g}")
    for op in ("softmax", "log_softmax", "logsumexp", "logsumexp_keepdim", "l2normalize"):
        if op == "l2normalize" and scale == 1e30:
            continue
        if op == "logsumexp_keepdim" and shape != [3, 7, 5]:
            continue
        xd = leaf(x)
        if op == "softmax":
            y = torch.softmax(xd, axis)
        elif op == "log_softmax":
            y = torch.log_softmax(xd, axis)
        elif op == "logsumexp":
            y = torch.logsumexp(xd, axis)
        elif op == "logsumexp_keepdim":
            y = torch.logsumexp(xd, axis, keepdim=True)
        else:
            y = F.normalize(xd, p=2.0, dim=axis, eps=1e-12)
        gy = f32(*y.shape, lo=-1, hi=1)
        (gx,) = grads(y, [xd], gy)
        cases.append({"name": f"{op}_{tag}", "params": {"op": op, "axis": axis},
                      "tensors": {"x": x, "gy": gy, "y": y, "gx": gx}})

# L2-normalize with an all-zero row (norm below eps: the gradient is g/eps there)
x = f32(3, 7)
x[1] = 0
xd = leaf(x)
y = F.normalize(xd, p=2.0, dim=1, eps=1e-6)
gy = f32(3, 7, lo=-1, hi=1)
(gx,) = grads(y, [xd], gy)
cases.append({"name": "l2normalize_zero_row_eps1e-6", "params": {"op": "l2normalize", "axis": 1, "eps": 1e-6},
              "tensors": {"x": x, "gy": gy, "y": y, "gx": gx}})

here = os.path.dirname(os.path.abspath(__file__))
write(os.path.join(here, "norms.json"), "generate_norm_fixtures.py", cases)
print(f"wrote {len(cases)} cases")
