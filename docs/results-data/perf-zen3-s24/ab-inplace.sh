#!/bin/bash
B=/work/main/benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll
out=$1
for i in 1 2 3 4; do
  for p in 2 4 6; do
    r=$(LEARNER_INPLACE_PANELS=$p OMP_WAIT_POLICY=PASSIVE dotnet $B --quick 30 --step-only --backends managed 2>&1 | grep -E "^  managed" | sed -E 's/, loss.*//; s/ +/ /g')
    echo "$i panels=$p: $r" >> $out
  done
done
