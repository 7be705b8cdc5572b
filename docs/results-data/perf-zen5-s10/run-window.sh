#!/bin/bash
set -u
out=/work/timing/s10b
mkdir -p $out
cd /work/main
lscpu > $out/lscpu.txt; grep -m1 -E 'cpu family' /proc/cpuinfo >> $out/lscpu.txt; grep -m1 -E '^model\s' /proc/cpuinfo >> $out/lscpu.txt
git log --oneline -1 > $out/commit.txt
uptime > $out/load.txt
dotnet build -c Release samples/QuickStart -v q > /dev/null 2>&1
for i in 1 2; do
  ( cd /tmp/base && /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs0.html ) > $out/quickstart-before-917dfe1-$i.txt 2>&1
  ( /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs.html ) > $out/quickstart-after-$i.txt 2>&1
  uptime >> $out/load.txt
done
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
