#!/bin/bash
# Learner.Compare A/B: perf branch before conv2 (a9cfae8, /tmp/conv2-base) vs /work/wt-perf (conv2), interleaved
for r in 1 2; do for v in base new; do
  d=/tmp/conv2-base; [ $v = new ] && d=/work/wt-perf
  echo "== $v round $r load: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
  for wl in conv/k3s1-64-64-32-n64 conv/k3s1-512-512-4-n64 conv/k1s2-64-128-32-n64 conv/k1s2-256-512-8-n64 train/small-cnn-b32; do
    timeout 100 dotnet $d/benchmarks/compare/Learner.Compare/bin/Release/net10.0/Learner.Compare.dll run $wl --min-seconds 0.6 --iterations 4 2>&1 | tail -1
  done
done; done
echo "end load: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
