#!/usr/bin/env bash
# Session 24, AMD Zen 3 (EPYC, family 25 model 1; AVX2 + FMA, no AVX-512), 2 vCPUs: after the AVX2 4×24 GEMM kernel
# (avx2-mixed) and the AVX2 8×8 Winograd input permutes. The separate-process pretraining steps (session 15's
# separate-processes.sh: TSM and ResNet-18 presets, managed and libtorch 2.10, both OpenMP wait policies, two rounds)
# and QuickStart twice, on the current main; raw output to $1/.   run.sh OUT
set -u
out=$(realpath -m "$1"); mkdir -p "$out"
cd "$(dirname "$0")/../../.."
dotnet build -c Release samples/QuickStart -v q > /dev/null 2>&1
uptime > "$out/load-before.txt"
bash docs/results-data/perf-zen5-s15/separate-processes.sh "$out/steps"
for i in 1 2; do
  /usr/bin/time -f "wall %e s" dotnet samples/QuickStart/bin/Release/net10.0/QuickStart.dll > "$out/quickstart-$i.txt" 2>&1
done
uptime > "$out/load-after.txt"
