#!/bin/bash
# Interleaved A/B of the engine runtime change: old (before) and new binaries, same workloads, alternating.
out=/work/ab/result-$(date +%H%M).txt
{
uptime
for round in 1 2; do
  for v in old new; do
    echo "== round $round $v"
    dotnet /work/ab/$v/Learner.Compare.dll run 'conv/k3s1-64-64-32-n64' 'conv/k3s1-128-128-16-n64' 'conv/k3s2-128-256-16-n64' 'conv/k3s1-512-512-4-n64' 'conv/k1s2-64-128-32-n64' 'train/small-cnn-b32' 'objective/infonce-b4096' --min-seconds 2
  done
done
for round in 1 2; do
  for v in old new; do
    echo "== TSM round $round $v"
    OMP_WAIT_POLICY=PASSIVE dotnet /work/ab/ts-$v/Learner.TorchSharp.Benchmarks.dll --quick 20 --step-only | grep -E "managed|torchsharp-cpu|step:"
    echo "== ResNet-18 round $round $v"
    OMP_WAIT_POLICY=PASSIVE dotnet /work/ab/ts-$v/Learner.TorchSharp.Benchmarks.dll --quick 5 --width 8 --step-only | grep -E "managed|torchsharp-cpu|step:"
  done
done
uptime
} > $out 2>&1
echo $out
