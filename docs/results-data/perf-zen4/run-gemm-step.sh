#!/usr/bin/env bash
# A short second window (under `flock /tmp/timing.lock`): GEMM 1024³/2048³ and the TSM step vs libtorch, raw output to $1.
set -u
cd "$(dirname "$0")/../../.."
{
  date -u; echo "load before: $(uptime)"
  /usr/bin/python3 benchmarks/compare/compare_gemm.py --repeats 3 --filter 024x
  OMP_WAIT_POLICY=PASSIVE dotnet benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll --quick 20
  echo "load after: $(uptime)"; date -u
} > "$1" 2>&1
