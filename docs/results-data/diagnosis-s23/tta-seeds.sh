#!/usr/bin/env bash
# Session 23 (AMD Zen 3): the issue-14 levers of docs/results.md, "Test-time flip"; logs to $1 (default: here).
OUT=$(realpath -m "${1:-.}"); mkdir -p "$OUT"
cd "$(dirname "$0")/../../../benchmarks/PaperClaim"
P="dotnet bin/Release/net10.0/PaperClaim.dll"
O='objective=mse(withinPatientWeight=64)'
for seed in 2 3; do for sp in 1234 1 2; do
  $P diagnose steps=120 splitSeed=$sp seed=$seed "$O" tta=flip > "$OUT"/w64-ttaflip-seed$seed-sp$sp.log 2>&1
done; done
$P diagnose steps=120 splitSeed=1234 objective=mse tta=flip > "$OUT"/mse-ttaflip-sp1234.log 2>&1
$P diagnose steps=120 splitSeed=1 objective=mse tta=flip > "$OUT"/mse-ttaflip-sp1.log 2>&1
$P diagnose steps=120 splitSeed=2 objective=mse tta=flip > "$OUT"/mse-ttaflip-sp2.log 2>&1
true
