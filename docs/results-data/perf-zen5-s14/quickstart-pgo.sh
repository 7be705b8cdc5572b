#!/bin/bash
# QuickStart wall time with the runtime's defaults and with tiered PGO off (DOTNET_TieredPGO=0), alternating 3 times:
# does the tier-up transient (methods run unoptimised, then instrumented, before their final code) cost the main job
# measurable time?   quickstart-pgo.sh OUT
set -u
out=$(realpath -m "$1"); mkdir -p "$out"
cd "$(dirname "$0")/../../.."
dotnet build -c Release samples/QuickStart -v q > /dev/null 2>&1
for i in 1 2 3; do
  for mode in default nopgo; do
    if [ $mode = nopgo ]; then export DOTNET_TieredPGO=0; else unset DOTNET_TieredPGO; fi
    ( /usr/bin/time -f "%e s wall" dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs-$mode.html ) > $out/quickstart-$mode-$i.txt 2>&1
    echo "$mode $i $(tail -n 1 $out/quickstart-$mode-$i.txt) $(uptime)" >> $out/summary.txt
  done
done
