#!/usr/bin/env bash
# Session 23, a new machine kind: AMD Zen 3 (EPYC, family 25 model 1; AVX2 + FMA, no AVX-512; 32 KiB L1d, 512 KiB L2
# per core, 32 MiB L3), 2 vCPUs. The issue-19 comparisons (session 17's window.sh), the separate-process pretraining
# steps (session 15's separate-processes.sh) and QuickStart twice, on the current main; raw output to $1/.
set -u
out=$(realpath -m "$1"); mkdir -p "$out"
cd "$(dirname "$0")/../../.."
dotnet build -c Release samples/QuickStart -v q > /dev/null 2>&1
bash docs/results-data/perf-zen4-s17/window.sh "$out/window"
bash docs/results-data/perf-zen5-s15/separate-processes.sh "$out/steps"
for i in 1 2; do
  /usr/bin/time -f "wall %e s" dotnet samples/QuickStart/bin/Release/net10.0/QuickStart.dll > "$out/quickstart-$i.txt" 2>&1
done
uptime > "$out/load-after.txt"
