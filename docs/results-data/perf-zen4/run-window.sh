#!/usr/bin/env bash
# One timing window on this machine (run under `flock /tmp/timing.lock`): the issue-19 comparisons, raw output to $1.
# Usage: docs/results-data/perf-zen4/run-window.sh OUTFILE
set -u
cd "$(dirname "$0")/../../.."
out=$1
{
  date -u; echo "load before: $(uptime)"
  /usr/bin/python3 benchmarks/compare/compare_gemm.py --repeats 2
  /usr/bin/python3 benchmarks/compare/compare_conv.py --repeats 2
  /usr/bin/python3 benchmarks/compare/compare_objectives.py --repeats 2 --filter infonce
  /usr/bin/python3 benchmarks/compare/compare_training.py --repeats 2
  OMP_WAIT_POLICY=PASSIVE dotnet benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll --quick 20
  echo "load after: $(uptime)"; date -u
} > "$out" 2>&1
