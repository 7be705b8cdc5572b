#!/bin/bash
# TSM step A/B: old main 2368d91 (/tmp/oldb) vs /work/wt-perf (conv2), interleaved
for r in 1 2 3; do for v in old new; do
  d=/tmp/oldb; [ $v = new ] && d=/work/wt-perf
  echo "== $v round $r load: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
  OMP_WAIT_POLICY=PASSIVE timeout 300 dotnet $d/benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll --quick 15 2>&1 | grep -E "^  managed  |step:" | head -2
done; done
echo "end load: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
