#!/usr/bin/env bash
# Session 18, AMD Zen 4 (quiet at the session start): the issue-19 comparisons on the current main, raw output to $1/.
set -u
out=$(realpath -m "$1"); mkdir -p "$out"
cd "$(dirname "$0")/../../.."
git log --oneline -1 > $out/commit.txt; lscpu > $out/lscpu.txt
{ date -u; uptime; } > $out/load.txt
/usr/bin/python3 benchmarks/compare/compare_gemm.py --repeats 2 > $out/compare-gemm.md 2>&1
uptime >> $out/load.txt
OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 benchmarks/compare/compare_conv.py --repeats 2 > $out/compare-conv.md 2>&1
uptime >> $out/load.txt
/usr/bin/python3 benchmarks/compare/compare_objectives.py --repeats 2 --filter infonce > $out/compare-objectives.md 2>&1
uptime >> $out/load.txt
/usr/bin/python3 benchmarks/compare/compare_training.py --repeats 2 > $out/compare-training.md 2>&1
{ uptime; date -u; } >> $out/load.txt
