"""Generates optim.json: PyTorch reference trajectories for Learner.Nn's optimizers, LR schedules and gradient
clipping. Run from this folder with the system Python that has torch:

    /usr/bin/python3 generate_optim_fixtures.py

Optimizer cases: three parameters (5x7, 3, 2x2 — sizes that exercise vector bodies and scalar tails), fixed
gradients for S steps; parameter p2 only gets a gradient on some steps (its grad is None otherwise, so its
step count lags). Tensors: p{k}_init, p{k}_grads [S, ...] (zeros where absent), p{k}_traj [S, ...] (values after
each step); params: hyper-parameters, the group of each parameter, and p2_grad_steps.
"""
import math
import torch
from fixture_io import write

torch.manual_seed(1234)
STEPS = 6
SHAPES = [(5, 7), (3,), (2, 2)]
P2_GRAD_STEPS = [1, 2, 4]


def make_data():
    g = torch.Generator().manual_seed(99)
    inits = [torch.randn(s, generator=g) for s in SHAPES]
    grads = [torch.randn((STEPS,) + s, generator=g) * (k + 1) for k, s in enumerate(SHAPES)]
    grads[2][[i for i in range(STEPS) if i not in P2_GRAD_STEPS]] = 0.0
    return inits, grads


def run_optimizer(name, make_opt, groups_of, params_extra):
    inits, grads = make_data()
    params = [p.clone().requires_grad_(True) for p in inits]
    groups = {}
    for k, gi in enumerate(groups_of):
        groups.setdefault(gi, []).append(params[k])
    opt = make_opt([groups[i] for i in sorted(groups)])
    trajs = [[] for _ in params]
    for s in range(STEPS):
        for k, p in enumerate(params):
            if k == 2 and s not in P2_GRAD_STEPS:
                p.grad = None
            else:
                p.grad = grads[k][s].clone()
        opt.step()
        for k, p in enumerate(params):
            trajs[k].append(p.detach().clone())
    tensors = {}
    for k in range(len(params)):
        tensors[f"p{k}_init"] = inits[k]
        tensors[f"p{k}_grads"] = grads[k]
        tensors[f"p{k}_traj"] = torch.stack(trajs[k])
    # Final optimizer state of p0 (moment buffers), to check the state the optimizer exposes.
    st = opt.state[params[0]]
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer"):
        if key in st and st[key] is not None:
            tensors[f"p0_{key}"] = st[key]
    p = dict(params_extra)
    p.update({"steps": STEPS, "groups_of": groups_of, "p2_grad_steps": P2_GRAD_STEPS})
    return {"name": name, "params": p, "tensors": tensors}


cases = []


def sgd_case(name, groups_of, group_overrides, **kw):
    def make(gs):
        return torch.optim.SGD([dict(params=g, **group_overrides.get(i, {})) for i, g in enumerate(gs)], **kw)
    extra = {"optimizer": "sgd", **kw, "group_overrides": {str(k): v for k, v in group_overrides.items()}}
    cases.append(run_optimizer(name, make, groups_of, extra))


def adamw_case(name, groups_of, group_overrides, **kw):
    def make(gs):
        return torch.optim.AdamW([dict(params=g, **group_overrides.get(i, {})) for i, g in enumerate(gs)], **kw)
    extra = {"optimizer": "adamw", **{k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()},
             "group_overrides": {str(k): v for k, v in group_overrides.items()}}
    cases.append(run_optimizer(name, make, groups_of, extra))


sgd_case("sgd_plain", [0, 0, 0], {}, lr=0.1)
sgd_case("sgd_momentum_dampening", [0, 0, 0], {}, lr=0.05, momentum=0.9, dampening=0.1)
sgd_case("sgd_nesterov_weight_decay", [0, 0, 0], {}, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)
sgd_case("sgd_weight_decay", [0, 0, 0], {}, lr=0.1, weight_decay=0.05)
sgd_case("sgd_groups_maximize", [0, 1, 1], {1: {"lr": 0.01, "weight_decay": 0.1}}, lr=0.2, momentum=0.5, maximize=True)
adamw_case("adamw", [0, 0, 0], {}, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
adamw_case("adamw_amsgrad", [0, 0, 0], {}, lr=5e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True)
adamw_case("adamw_groups", [0, 1, 0], {1: {"lr": 0.1, "weight_decay": 0.0}}, lr=2e-2, weight_decay=0.01)

# ---------------------------------------------------------------- LR schedules (lrs[step, group], step 0..N)


def record(opt, sched, n):
    lrs = [[g["lr"] for g in opt.param_groups]]
    for _ in range(n):
        opt.step()
        sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    return torch.tensor(lrs, dtype=torch.float64)


def two_group_opt():
    a = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    return torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.02}], lr=0.1)


opt = two_group_opt()
cases.append({"name": "steplr", "params": {"step_size": 3, "gamma": 0.5, "steps": 12},
              "tensors": {"lrs": record(opt, torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5), 12)}})

opt = two_group_opt()
warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=5)
cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=15, eta_min=1e-4)
seq = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[5])
cases.append({"name": "cosine_warmup", "params": {"warmup": 5, "total": 20, "min_lr": 1e-4, "start_factor": 0.1, "steps": 20},
              "tensors": {"lrs": record(opt, seq, 20)}})

opt = two_group_opt()
cases.append({"name": "cosine_no_warmup", "params": {"warmup": 0, "total": 10, "min_lr": 0.0, "start_factor": 1.0, "steps": 10},
              "tensors": {"lrs": record(opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.0), 10)}})

# ---------------------------------------------------------------- gradient clipping


def clip_case(name, max_norm, scale):
    g = torch.Generator().manual_seed(7)
    params = [torch.zeros(s, requires_grad=True) for s in [(4, 9), (17,), (1,)]]
    tensors = {}
    for k, p in enumerate(params):
        p.grad = torch.randn(p.shape, generator=g) * scale
        tensors[f"g{k}"] = p.grad.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, error_if_nonfinite=True)
    for k, p in enumerate(params):
        tensors[f"clipped{k}"] = p.grad
    tensors["total_norm"] = total.reshape(1)
    cases.append({"name": name, "params": {"max_norm": max_norm}, "tensors": tensors})


clip_case("clip_active", 1.0, 1.0)
clip_case("clip_inactive", 100.0, 0.5)

write("optim.json", "generate_optim_fixtures.py", cases)
print(f"wrote optim.json with {len(cases)} cases")
