#!/bin/bash
# Session 15: the TSM default preset's managed step, session start (cf450f6, built in a worktree at OLD) against this
# build, alternating three times, each in its own process.   tsm-step-ab.sh OLD OUT
set -u
old=$(realpath "$1"); out=$(realpath -m "$2"); mkdir -p "$out"
cd "$(dirname "$0")/../../.."
B=benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll
git -C "$old" log --oneline -1 > $out/commit-old.txt; git log --oneline -1 > $out/commit-new.txt
for i in 1 2 3; do
  for t in old new; do
    d=.; [ $t = old ] && d=$old
    dotnet $d/$B --quick 40 --step-only --backends managed > $out/tsm-$t-$i.txt 2>&1
    echo "$i $t: $(grep -E '^  managed ' $out/tsm-$t-$i.txt | sed -E 's/, loss.*//; s/ +/ /g')" >> $out/summary.txt
  done
done
