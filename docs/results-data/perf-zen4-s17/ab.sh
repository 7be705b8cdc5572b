#!/bin/bash
# ab.sh ROUNDS THREADS workload... : alternates /tmp/old and /work/main Learner.Compare, prints minima/medians
# OLD = a worktree of the earlier commit with Learner.Compare built in Release; run from the repository root
R=$1; T=$2; shift 2
for r in $(seq 1 $R); do
 for side in old new; do
  if [ $side = old ]; then D=${OLD:-/tmp/old}/benchmarks/compare/Learner.Compare/bin/Release/net10.0/Learner.Compare.dll; else D=benchmarks/compare/Learner.Compare/bin/Release/net10.0/Learner.Compare.dll; fi
  DOTNET_PROCESSOR_COUNT=$T dotnet $D run "$@" --min-seconds 1.5 2>&1 | grep -E "median" | sed "s/^/$side r$r T$T /"
 done
done
