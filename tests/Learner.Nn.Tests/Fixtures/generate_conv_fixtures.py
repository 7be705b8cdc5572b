"""Generates conv.json: PyTorch reference values for Learner.Nn convolution, pooling and temporal shift.

Run with /usr/bin/python3 (torch 1.13, CPU) from this folder:  /usr/bin/python3 generate_conv_fixtures.py
Each case stores the inputs, a fixed random upstream gradient `gy`, the forward output `y` and the gradients
(`gx`, `gw`, `gb`) of sum(y * gy), computed in float64 and stored as float32.
"""
import os
import torch
import torch.nn.functional as F
from fixture_io import write

torch.manual_seed(20241101)
cases = []


def rnd(*shape):
    return torch.empty(*shape, dtype=torch.float64).uniform_(-1, 1)


def grads(y, leaves):
    gy = rnd(*y.shape)
    (y * gy).sum().backward()
    return gy, [l.grad for l in leaves]


def conv_case(name, dims, n, cin, cout, size, k, stride, padding, dilation, groups, bias=True):
    x = rnd(n, cin, *size).requires_grad_()
    w = rnd(cout, cin // groups, *k).requires_grad_()
    b = rnd(cout).requires_grad_() if bias else None
    f = F.conv2d if dims == 2 else F.conv3d
    y = f(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    leaves = [x, w] + ([b] if bias else [])
    gy, gs = grads(y, leaves)
    t = {"x": x, "w": w, "gy": gy, "y": y, "gx": gs[0], "gw": gs[1]}
    if bias:
        t["b"] = b
        t["gb"] = gs[2]
    cases.append({"name": name, "params": {"op": f"conv{dims}d", "stride": list(stride), "padding": list(padding),
                                          "dilation": list(dilation), "groups": groups, "bias": bias}, "tensors": t})


conv_case("conv2d_3x3_pad1", 2, 2, 3, 4, (5, 6), (3, 3), (1, 1), (1, 1), (1, 1), 1)
conv_case("conv2d_3x3_stride2_nobias", 2, 2, 2, 3, (7, 7), (3, 3), (2, 2), (1, 1), (1, 1), 1, bias=False)
conv_case("conv2d_rect_dilated_stride12", 2, 1, 2, 3, (7, 8), (3, 2), (1, 2), (2, 1), (2, 3), 1)
conv_case("conv2d_groups2", 2, 2, 4, 6, (5, 4), (3, 3), (1, 1), (0, 1), (1, 1), 2)
conv_case("conv2d_depthwise_stride2", 2, 2, 3, 3, (6, 5), (3, 3), (2, 2), (1, 1), (1, 1), 3)
conv_case("conv2d_depthwise_mult2", 2, 1, 2, 4, (5, 5), (3, 3), (1, 1), (1, 1), (1, 1), 2)
conv_case("conv2d_pointwise", 2, 2, 5, 3, (4, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1)
conv_case("conv2d_1x1_stride2", 2, 2, 3, 4, (5, 5), (1, 1), (2, 2), (0, 0), (1, 1), 1)
conv_case("conv2d_row_input", 2, 1, 1, 2, (1, 7), (1, 3), (1, 1), (0, 2), (1, 1), 1)
conv_case("conv2d_5x5_stride3_pad2", 2, 1, 2, 2, (9, 8), (5, 5), (3, 3), (2, 2), (1, 1), 1)
conv_case("conv3d_3_pad1", 3, 2, 2, 3, (4, 5, 3), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), 1)
conv_case("conv3d_mixed_groups2", 3, 1, 4, 2, (4, 6, 5), (2, 3, 3), (2, 1, 2), (0, 1, 1), (1, 2, 1), 2)
conv_case("conv3d_pointwise", 3, 2, 3, 2, (2, 3, 4), (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1), 1)
conv_case("conv3d_stride2_nobias", 3, 1, 2, 2, (5, 5, 5), (3, 3, 3), (2, 2, 2), (1, 1, 1), (1, 1, 1), 1, bias=False)


def pool_case(name, op, shape, **kw):
    x = rnd(*shape).requires_grad_()
    fn = {"max_pool2d": F.max_pool2d, "avg_pool2d": F.avg_pool2d, "max_pool3d": F.max_pool3d,
          "avg_pool3d": F.avg_pool3d, "adaptive_avg_pool2d": F.adaptive_avg_pool2d,
          "adaptive_avg_pool3d": F.adaptive_avg_pool3d}[op]
    y = fn(x, **kw)
    gy, (gx,) = grads(y, [x])
    params = {"op": op}
    for key, v in kw.items():
        params[key] = list(v) if isinstance(v, tuple) else v
    cases.append({"name": name, "params": params, "tensors": {"x": x, "gy": gy, "y": y, "gx": gx}})


pool_case("maxpool2d_k3_s2_p1", "max_pool2d", (2, 2, 7, 7), kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
pool_case("maxpool2d_k2_odd", "max_pool2d", (1, 3, 6, 5), kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
pool_case("maxpool2d_k3_s1_p1", "max_pool2d", (1, 2, 5, 6), kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
pool_case("maxpool2d_rect", "max_pool2d", (2, 1, 6, 7), kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))
pool_case("avgpool2d_k3_s2_p1", "avg_pool2d", (2, 2, 7, 7), kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
pool_case("avgpool2d_k2_odd", "avg_pool2d", (1, 3, 6, 5), kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
pool_case("avgpool2d_k3_s1_p1", "avg_pool2d", (1, 2, 5, 6), kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
pool_case("avgpool2d_rect", "avg_pool2d", (2, 1, 6, 7), kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))
pool_case("maxpool3d_k2", "max_pool3d", (1, 2, 4, 5, 4), kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0))
pool_case("maxpool3d_k3_s2_p1", "max_pool3d", (1, 2, 5, 5, 6), kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1))
pool_case("maxpool3d_s1", "max_pool3d", (1, 1, 3, 4, 5), kernel_size=(2, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))
pool_case("avgpool3d_k2", "avg_pool3d", (1, 2, 4, 5, 4), kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0))
pool_case("avgpool3d_k3_s2_p1", "avg_pool3d", (1, 2, 5, 5, 6), kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1))
pool_case("avgpool3d_s1", "avg_pool3d", (1, 1, 3, 4, 5), kernel_size=(2, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))
pool_case("adaptive2d_7x5_to_3x2", "adaptive_avg_pool2d", (2, 2, 7, 5), output_size=(3, 2))
pool_case("adaptive2d_upsample_3x4_to_5x6", "adaptive_avg_pool2d", (1, 2, 3, 4), output_size=(5, 6))
pool_case("adaptive2d_to_1x1", "adaptive_avg_pool2d", (2, 3, 4, 4), output_size=(1, 1))
pool_case("adaptive3d_5x7x6_to_2x3x4", "adaptive_avg_pool3d", (1, 2, 5, 7, 6), output_size=(2, 3, 4))
pool_case("adaptive3d_to_1", "adaptive_avg_pool3d", (2, 2, 3, 2, 3), output_size=(1, 1, 1))


def tsm_reference(x, n_segment, fold_div):
    # The TSM reference rule (Lin et al., temporal_shift.py): shift left / right within each clip.
    nt, c, h, w = x.size()
    x = x.view(nt // n_segment, n_segment, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(nt, c, h, w)


def tsm_case(name, shape, clip, fold_div):
    x = rnd(*shape).requires_grad_()
    y = tsm_reference(x, clip, fold_div)
    gy, (gx,) = grads(y, [x])
    cases.append({"name": name, "params": {"op": "temporal_shift", "clip_length": clip, "fold_div": fold_div},
                  "tensors": {"x": x, "gy": gy, "y": y, "gx": gx}})


tsm_case("tsm_T3_div4", (6, 8, 2, 3), 3, 4)
tsm_case("tsm_T4_div8_c10", (4, 10, 2, 2), 4, 8)
tsm_case("tsm_T2_div2", (4, 6, 1, 3), 2, 2)
tsm_case("tsm_T1", (3, 8, 2, 2), 1, 8)

# 3x3 stride-1 padding-1 shapes for Learner's Winograd F(2x2, 3x3) path (ConvTests forces it on every case that fits):
# a plane with 8+ tiles a row (its row path), an odd narrow plane and a 4x4 plane (its gathered path). Appended after
# every other case so the earlier cases keep their random values.
conv_case("conv2d_winograd_rows", 2, 2, 3, 4, (3, 17), (3, 3), (1, 1), (1, 1), (1, 1), 1)
conv_case("conv2d_winograd_odd", 2, 3, 4, 5, (5, 7), (3, 3), (1, 1), (1, 1), (1, 1), 1, bias=False)
conv_case("conv2d_winograd_4x4", 2, 5, 6, 5, (4, 4), (3, 3), (1, 1), (1, 1), (1, 1), 1)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv.json")
write(out, "generate_conv_fixtures.py", cases)
print(f"wrote {len(cases)} cases to {out} ({os.path.getsize(out)} bytes)")
