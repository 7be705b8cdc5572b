#!/bin/bash
# Session-10 timing window on this machine (docs/performance.md, "session 10").
#   run-window.sh OUT [BASE]   writes into OUT; with BASE (a worktree of an older build, e.g. 917dfe1, built in Release)
#                              it first runs the QuickStart of BASE and of this checkout, interleaved twice.
# The final window (final-*) ran with BASE = a 917dfe1 worktree; the second window (second-8b380d7-*) without BASE.
set -u
out=$(realpath -m "$1"); base=${2:-}
cd "$(dirname "$0")/../../.."
source docs/results-data/window-steps.sh
window_header
if [ -n "$base" ]; then
  dotnet build -c Release samples/QuickStart -v q > /dev/null 2>&1
  for i in 1 2; do
    ( cd "$base" && /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs0.html ) > $out/quickstart-before-$(git -C "$base" rev-parse --short HEAD)-$i.txt 2>&1
    ( /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs.html ) > $out/quickstart-after-$i.txt 2>&1
    uptime >> $out/load.txt
  done
fi
window_steps
/usr/bin/python3 benchmarks/compare/compare_conv.py --repeats 3 > $out/compare-conv.md 2>&1
uptime >> $out/load.txt
echo done > $out/DONE
