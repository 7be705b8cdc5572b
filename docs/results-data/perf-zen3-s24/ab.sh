#!/bin/bash
# A/B of the AVX2 GEMM kernels on the managed TSM step: rounds of avx2 / avx2-4x24 / avx2-mixed, one process each.
B=/work/main/benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll
out=$1; shift
for i in 1 2 3 4; do
  for k in ${KERNELS:-avx2 avx2-4x24 avx2-mixed}; do
    r=$(LEARNER_GEMM_KERNEL=$k OMP_WAIT_POLICY=PASSIVE dotnet $B --quick 30 --step-only --backends managed "$@" 2>&1 | grep -E "^  managed" | sed -E 's/, loss.*//; s/ +/ /g')
    echo "$i $k: $r" >> $out
  done
done
