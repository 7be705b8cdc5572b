#!/bin/bash
# Session 24, after the AVX2 kernels: the PyTorch comparisons that the change can move — the stride-1 3x3 convolutions
# (8x8 and 4x4 planes take the new Winograd permutes) and the small-CNN step (its 16/32-channel GEMMs take 4x24).
out=$1; mkdir -p $out
cd /work/main
git log --oneline -1 > $out/commit.txt; { date -u; uptime; } > $out/load.txt
OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 benchmarks/compare/compare_conv.py --repeats 2 --filter k3s1 > $out/compare-conv-k3s1.md 2>&1
uptime >> $out/load.txt
/usr/bin/python3 benchmarks/compare/compare_training.py --repeats 2 > $out/compare-training.md 2>&1
{ uptime; date -u; } >> $out/load.txt
