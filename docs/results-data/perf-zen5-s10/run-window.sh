#!/bin/bash
# Session-10 timing window on this machine (docs/performance.md, "session 10").
#   run-window.sh OUT [BASE]   writes into OUT; with BASE (a worktree of an older build, e.g. 917dfe1, built in Release)
#                              it first runs the QuickStart of BASE and of this checkout, interleaved twice.
# The final window (final-*) ran with BASE = a 917dfe1 worktree; the second window (second-8b380d7-*) without BASE.
set -u
out=$1; base=${2:-}
mkdir -p $out
cd "$(dirname "$0")/../../.."
lscpu > $out/lscpu.txt; grep -m1 -E 'cpu family' /proc/cpuinfo >> $out/lscpu.txt; grep -m1 -E '^model\s' /proc/cpuinfo >> $out/lscpu.txt
git log --oneline -1 > $out/commit.txt
uptime > $out/load.txt
if [ -n "$base" ]; then
  dotnet build -c Release samples/QuickStart -v q > /dev/null 2>&1
  for i in 1 2; do
    ( cd "$base" && /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs0.html ) > $out/quickstart-before-$(git -C "$base" rev-parse --short HEAD)-$i.txt 2>&1
    ( /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs.html ) > $out/quickstart-after-$i.txt 2>&1
    uptime >> $out/load.txt
  done
fi
B=benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll
dotnet build -c Release benchmarks/Learner.TorchSharp.Benchmarks -v q > /dev/null 2>&1; scripts/libtorch-loadable.sh benchmarks/Learner.TorchSharp.Benchmarks/bin/Release > /dev/null
OMP_WAIT_POLICY=PASSIVE dotnet $B --quick 30 > $out/tsm-quick-passive.txt 2>&1; uptime >> $out/load.txt
OMP_WAIT_POLICY=ACTIVE dotnet $B --quick 30 --step-only > $out/tsm-quick-active.txt 2>&1; uptime >> $out/load.txt
OMP_WAIT_POLICY=PASSIVE dotnet $B --quick 10 --resnet18 --step-only > $out/resnet18-preset-passive.txt 2>&1; uptime >> $out/load.txt
OMP_WAIT_POLICY=ACTIVE dotnet $B --quick 10 --resnet18 --step-only > $out/resnet18-preset-active.txt 2>&1; uptime >> $out/load.txt
/usr/bin/python3 benchmarks/compare/compare_training.py --repeats 3 > $out/compare-training.md 2>&1
/usr/bin/python3 benchmarks/compare/compare_conv.py --repeats 3 > $out/compare-conv.md 2>&1
uptime >> $out/load.txt
echo done > $out/DONE
