#!/bin/bash
# TSM step A/B: old main 2368d91 (/tmp/oldb), perf before conv2 a9cfae8 (/tmp/conv2-base), conv2 9caf223 (/work/wt-perf), interleaved
for r in 1 2; do for v in old base new; do
  d=/tmp/oldb; [ $v = new ] && d=/work/wt-perf; [ $v = base ] && d=/tmp/conv2-base
  echo "== $v round $r load: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
  OMP_WAIT_POLICY=PASSIVE timeout 300 dotnet $d/benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll --quick 15 2>&1 | grep -E "^  managed  |step:" | head -2
done; done
echo "end load: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
