#!/bin/bash
# Session-11 timing window (docs/performance.md, "session 11: Winograd"): the QuickStart with the default convolution
# choice and with LEARNER_CONV_ALGORITHM=gemm (im2col everywhere), interleaved twice; the TorchSharp --quick steps,
# passive and active; compare_training. compare_conv ran separately (conv-final.md: --repeats 3 --min-seconds 1).
#   run-window.sh OUT
set -u
out=$1
mkdir -p $out
cd "$(dirname "$0")/../../.."
lscpu > $out/lscpu.txt; grep -m1 -E 'cpu family' /proc/cpuinfo >> $out/lscpu.txt; grep -m1 -E '^model\s' /proc/cpuinfo >> $out/lscpu.txt
git log --oneline -1 > $out/commit.txt
uptime > $out/load.txt
dotnet build -c Release samples/QuickStart -v q > /dev/null 2>&1
for i in 1 2; do
  ( LEARNER_CONV_ALGORITHM=gemm /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs0.html ) > $out/quickstart-gemm-$i.txt 2>&1
  ( /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs.html ) > $out/quickstart-auto-$i.txt 2>&1
  uptime >> $out/load.txt
done
B=benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll
dotnet build -c Release benchmarks/Learner.TorchSharp.Benchmarks -v q > /dev/null 2>&1; scripts/libtorch-loadable.sh benchmarks/Learner.TorchSharp.Benchmarks/bin/Release > /dev/null
OMP_WAIT_POLICY=PASSIVE dotnet $B --quick 30 > $out/tsm-quick-passive.txt 2>&1; uptime >> $out/load.txt
OMP_WAIT_POLICY=ACTIVE dotnet $B --quick 30 --step-only > $out/tsm-quick-active.txt 2>&1; uptime >> $out/load.txt
OMP_WAIT_POLICY=PASSIVE dotnet $B --quick 10 --resnet18 --step-only > $out/resnet18-preset-passive.txt 2>&1; uptime >> $out/load.txt
OMP_WAIT_POLICY=ACTIVE dotnet $B --quick 10 --resnet18 --step-only > $out/resnet18-preset-active.txt 2>&1; uptime >> $out/load.txt
/usr/bin/python3 benchmarks/compare/compare_training.py --repeats 3 > $out/compare-training.md 2>&1
uptime >> $out/load.txt
echo done > $out/DONE
