#!/bin/bash
# Session 15: the pretraining step of the TSM default preset and the ResNet-18 preset, each backend in its own process
# (Learner.TorchSharp.Benchmarks --quick --backends B), under both OpenMP wait policies, two rounds; as session 14's
# separate-processes/ (docs/performance.md, "Zen 5, sessions 12–14").   separate-processes.sh OUT
set -u
out=$(realpath -m "$1"); mkdir -p "$out"
cd "$(dirname "$0")/../../.."
B=benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll
dotnet build -c Release benchmarks/Learner.TorchSharp.Benchmarks -v q > /dev/null 2>&1
scripts/libtorch-loadable.sh benchmarks/Learner.TorchSharp.Benchmarks/bin/Release > /dev/null
git log --oneline -1 > $out/commit.txt
lscpu > $out/lscpu.txt
for i in 1 2; do
  for pol in PASSIVE ACTIVE; do
    for be in managed torchsharp-cpu; do
      OMP_WAIT_POLICY=$pol dotnet $B --quick 30 --step-only --backends $be > $out/tsm-$be-$pol-$i.txt 2>&1
      echo "$i $pol $be: $(grep -E "^  $be " $out/tsm-$be-$pol-$i.txt | sed -E 's/, loss.*//; s/ +/ /g')" >> $out/summary.txt
    done
  done
done
for i in 1 2; do
  for pol in PASSIVE ACTIVE; do
    for be in managed torchsharp-cpu; do
      OMP_WAIT_POLICY=$pol dotnet $B --quick 10 --resnet18 --step-only --backends $be > $out/resnet18-$be-$pol-$i.txt 2>&1
      echo "resnet18 $i $pol $be: $(grep -E "^  $be " $out/resnet18-$be-$pol-$i.txt | sed -E 's/, loss.*//; s/ +/ /g')" >> $out/summary.txt
    done
  done
done
