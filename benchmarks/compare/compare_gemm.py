#!/usr/bin/python3
"""SGEMM: torch.mm (OpenBLAS) against Learner's Gemm.Sgemm on the same shapes.

    /usr/bin/python3 benchmarks/compare/compare_gemm.py [--repeats 3] [--threads 2]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# (m, n, k): C[m×n] = A[m×k]·B[k×n]; names match GemmWorkloads.cs.
SHAPES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
          (4096, 128, 128), (128, 4096, 128), (1024, 1024, 64)]


def main():
    args = common.argument_parser(__doc__).parse_args()
    torch = common.setup_torch(args.threads)
    workloads = {}
    for m, n, k in SHAPES:
        name = f"gemm/{m}x{n}x{k}"
        if args.filter not in name:
            continue
        a, b, out = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
        workloads[name] = (lambda a=a, b=b, out=out: torch.mm(a, b, out=out))
    print(common.compare(workloads, "SGEMM (torch.mm vs Gemm.Sgemm)", **common.timing_options(args)))


if __name__ == "__main__":
    main()
