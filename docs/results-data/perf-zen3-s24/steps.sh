#!/bin/bash
# The TSM preset's pretraining step, managed (default kernel choice) and libtorch 2.10, each in its own process, both
# OpenMP wait policies, rounds as given; as session 15's separate-processes.sh (TSM part only).   steps.sh OUT ROUNDS
out=$1; rounds=${2:-2}; mkdir -p $out
cd /work/main
B=benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll
git log --oneline -1 > $out/commit.txt
for i in $(seq 1 $rounds); do
  for pol in PASSIVE ACTIVE; do
    for be in managed torchsharp-cpu; do
      OMP_WAIT_POLICY=$pol dotnet $B --quick 30 --step-only --backends $be > $out/tsm-$be-$pol-$i.txt 2>&1
      echo "$i $pol $be: $(grep -E "^  $be " $out/tsm-$be-$pol-$i.txt | sed -E 's/, loss.*//; s/ +/ /g')" >> $out/summary.txt
    done
  done
done
uptime >> $out/summary.txt
