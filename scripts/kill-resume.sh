#!/usr/bin/env bash
# Kills `learner pretrain` with SIGKILL at random moments, resumes it until it completes, and checks that the final
# checkpoint and log.jsonl equal an uninterrupted run's byte for byte (log: line for line) and that no *.tmp is left.
# Usage: scripts/kill-resume.sh [kills=8] [work-dir]   (build first: dotnet build src/Learner.Cli -c Release)
set -euo pipefail
KILLS=${1:-8}
WORK=${2:-$(mktemp -d)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI=(dotnet "$ROOT/src/Learner.Cli/bin/Release/net10.0/Learner.Cli.dll")
ARGS=(--objective mse+weighted-contrastive --epochs 2 --steps 30 --dim 8 --width 0.25 --patients-per-batch 4 --scans-per-patient 2 --checkpoint-every 3)
mkdir -p "$WORK"; cd "$WORK"
"${CLI[@]}" synth --cohort lus --patients 12 --out data > /dev/null
"${CLI[@]}" pretrain --manifest data/manifest.csv --out full "${ARGS[@]}" > /dev/null
killed=0; attempts=0
"${CLI[@]}" pretrain --manifest data/manifest.csv --out cut "${ARGS[@]}" > /dev/null 2>&1 & pid=$!
while true; do
  sleep "$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.2f", 1.0 + rand() * 2.5 }')"
  if kill -0 "$pid" 2> /dev/null && [ "$killed" -lt "$KILLS" ]; then
    kill -9 "$pid"; wait "$pid" 2> /dev/null || true; killed=$((killed + 1))
  else
    wait "$pid" && break || true
  fi
  attempts=$((attempts + 1))
  if [ -f cut/last.safetensors ]; then
    "${CLI[@]}" pretrain --out cut --resume > /dev/null 2>> resume.err & pid=$!
  else
    "${CLI[@]}" pretrain --manifest data/manifest.csv --out cut --force "${ARGS[@]}" > /dev/null 2>&1 & pid=$!
  fi
done
cmp full/last.safetensors cut/last.safetensors
# Each log line carries the time its step finished: compare the lines without it.
untimed() { sed 's/"time":"[^"]*",//' "$1"; }
cmp <(untimed full/log.jsonl) <(untimed cut/log.jsonl)
left=$(find cut -name '*.tmp' | wc -l)
[ "$left" -eq 0 ]
echo "kill-resume: $killed SIGKILLs, $attempts restarts; last.safetensors and log.jsonl (but for its timestamps) identical to the uninterrupted run; $left .tmp left; repairs: $(grep -c dropped resume.err || true)"
