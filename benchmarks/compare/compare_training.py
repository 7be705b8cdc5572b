#!/usr/bin/python3
"""One training step of the same small CNN in torch and in Learner.Nn (see TrainingWorkloads.cs).

    /usr/bin/python3 benchmarks/compare/compare_training.py [--repeats 3] [--threads 2]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    args = common.argument_parser(__doc__).parse_args()
    torch = common.setup_torch(args.threads)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(32, 1, 32, 32)
    y = torch.arange(32) % 3

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    print(common.compare({"train/small-cnn-b32": step}, "Training step, small CNN, batch 32 (torch vs Learner.Nn)",
                         **common.timing_options(args)))


if __name__ == "__main__":
    main()
