#!/bin/bash
# Quiet-window timing on this machine: QuickStart, the four compare scripts with the libtorch column, TorchSharp --quick.
set -u
out=/work/timing/$(date +%H%M)
mkdir -p $out
cd /work/main
lscpu > $out/lscpu.txt; grep -m1 -E 'cpu family' /proc/cpuinfo >> $out/lscpu.txt; grep -m1 -E '^model\s' /proc/cpuinfo >> $out/lscpu.txt
git log --oneline -1 > $out/commit.txt
uptime > $out/load-before.txt
( /usr/bin/time -v dotnet run -c Release --project samples/QuickStart -- /tmp/qs.html ) > $out/quickstart.txt 2>&1
uptime >> $out/load-before.txt
for s in gemm objectives training conv; do
  /usr/bin/python3 benchmarks/compare/compare_$s.py --repeats 3 > $out/compare-$s.md 2>&1
  uptime >> $out/load-before.txt
done
B=benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll
dotnet build -c Release benchmarks/Learner.TorchSharp.Benchmarks -v q > /dev/null 2>&1; scripts/libtorch-loadable.sh benchmarks/Learner.TorchSharp.Benchmarks/bin/Release > /dev/null
OMP_WAIT_POLICY=PASSIVE dotnet $B --quick 20 > $out/tsm-quick-passive.txt 2>&1; uptime >> $out/load-before.txt
OMP_WAIT_POLICY=ACTIVE dotnet $B --quick 20 --step-only > $out/tsm-quick-active.txt 2>&1; uptime >> $out/load-before.txt
OMP_WAIT_POLICY=PASSIVE dotnet $B --quick 5 --width 8 --step-only > $out/resnet18-quick-passive.txt 2>&1; uptime >> $out/load-before.txt
echo done > $out/DONE
