#!/bin/bash
# small-CNN + deep conv A/B: perf before conv2 (a9cfae8) vs conv2 9caf223, interleaved
for r in 1 2 3; do for v in base new; do
  d=/tmp/conv2-base; [ $v = new ] && d=/work/wt-perf
  echo "== $v round $r load: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
  for wl in train/small-cnn-b32 conv/k3s1-512-512-4-n64; do
  timeout 100 dotnet $d/benchmarks/compare/Learner.Compare/bin/Release/net10.0/Learner.Compare.dll run $wl --min-seconds 1 --iterations 8 2>&1 | tail -1
  done
done; done
echo "end load: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
