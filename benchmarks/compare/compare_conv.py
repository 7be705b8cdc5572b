#!/usr/bin/python3
"""Conv2d forward+backward: torch (F.conv2d + backward of a fixed upstream gradient) against Learner's Ops.Conv2d.

    /usr/bin/python3 benchmarks/compare/compare_conv.py [--repeats 3] [--threads 2]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# (kernel, stride, cin, cout, square size, batch); padding = kernel // 2; names match ConvWorkloads.cs.
SHAPES = [(3, 1, 64, 64, 32, 64), (3, 1, 128, 128, 16, 64), (1, 1, 64, 256, 32, 64), (3, 2, 64, 128, 32, 64), (7, 2, 3, 64, 112, 16),
          # the rest of ResNet-18's basic-block shapes on 32×32 inputs at batch 64 (stages 2–4 and their 1×1 stride-2 shortcuts)
          (1, 2, 64, 128, 32, 64), (3, 2, 128, 256, 16, 64), (3, 1, 256, 256, 8, 64), (1, 2, 128, 256, 16, 64),
          (3, 2, 256, 512, 8, 64), (3, 1, 512, 512, 4, 64), (1, 2, 256, 512, 8, 64)]


def main():
    args = common.argument_parser(__doc__).parse_args()
    torch = common.setup_torch(args.threads)
    F = torch.nn.functional
    workloads = {}
    for k, s, cin, cout, hw, n in SHAPES:
        name = f"conv/k{k}s{s}-{cin}-{cout}-{hw}-n{n}"
        if args.filter not in name:
            continue
        x = torch.empty(n, cin, hw, hw).uniform_(-1, 1).requires_grad_()
        w = torch.empty(cout, cin, k, k).uniform_(-0.1, 0.1).requires_grad_()
        b = torch.empty(cout).uniform_(-0.1, 0.1).requires_grad_()
        o = (hw + 2 * (k // 2) - k) // s + 1
        gy = torch.empty(n, cout, o, o).uniform_(-1, 1)

        def step(x=x, w=w, b=b, gy=gy, s=s, p=k // 2):
            x.grad = w.grad = b.grad = None
            F.conv2d(x, w, b, stride=s, padding=p).backward(gy)
        workloads[name] = step
    print(common.compare(workloads, "Conv2d forward+backward (torch vs Ops.Conv2d)", **common.timing_options(args)))


if __name__ == "__main__":
    main()
