#!/usr/bin/env bash
# Session 23 (AMD Zen 3): the issue-14 levers of docs/results.md, "Test-time flip"; logs to $1 (default: here).
OUT=$(realpath -m "${1:-.}"); mkdir -p "$OUT"
cd "$(dirname "$0")/../../../benchmarks/PaperClaim"
P="dotnet bin/Release/net10.0/PaperClaim.dll"
O='objective=mse(withinPatientWeight=64)'
for sp in 1234 1 2; do
  $P diagnose steps=120 splitSeed=$sp "$O" > "$OUT"/w64-sp$sp.log 2>&1
  $P diagnose steps=120 splitSeed=$sp "$O" ema=0.9 > "$OUT"/w64-ema0.9-sp$sp.log 2>&1
  $P diagnose steps=120 splitSeed=$sp "$O" ema=0.97 > "$OUT"/w64-ema0.97-sp$sp.log 2>&1
  $P diagnose steps=120 splitSeed=$sp "$O" tta=flip > "$OUT"/w64-ttaflip-sp$sp.log 2>&1
  $P diagnose steps=120 splitSeed=$sp "$O" aug=default > "$OUT"/w64-aug-sp$sp.log 2>&1
  $P diagnose steps=120 splitSeed=$sp "$O" aug=default tta=flip > "$OUT"/w64-aug-ttaflip-sp$sp.log 2>&1
done
true
