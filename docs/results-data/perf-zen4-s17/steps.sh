#!/bin/bash
# Session 17, quiet Zen 4: separate-process steps (TSM default preset and ResNet-18 preset, both wait policies, two
# rounds), then QuickStart twice. OUT = $1
set -u
out=$(realpath -m "$1"); mkdir -p "$out"
cd "$(dirname "$0")/../../.."
bash docs/results-data/perf-zen5-s15/separate-processes.sh $out/separate-processes
for i in 1 2; do
  /usr/bin/time -f "wall %e s" dotnet samples/QuickStart/bin/Release/net10.0/QuickStart.dll > $out/quickstart-$i.txt 2>&1
done
uptime > $out/load-after.txt
