#!/usr/bin/env bash
# Sessions 12-13: levers at 10x budget + augmentation, validation patients of split 1234 only (one run at a time),
# then the validation-best configuration (p16) on the test patients once. Run in the repository root after
#   dotnet build -c Release benchmarks/PaperClaim
# (the logs here came from a build at 4686c74); sweep.sh OUT writes one log per row into OUT.
out=${1:?output folder}; mkdir -p "$out"
run() { name=$1; shift; [ -s "$out/$name.log" ] && return; echo "== $name: $*" > "$out/$name.log"; dotnet benchmarks/PaperClaim/bin/Release/net10.0/PaperClaim.dll diagnose "$@" >> "$out/$name.log" 2>&1; }
run base steps=1200 aug=default
run lr3 steps=1200 aug=default lr=0.003
run lr12 steps=1200 aug=default lr=0.012
run k8 steps=1200 aug=default P=4 K=8
run p16 steps=1200 aug=default P=16 K=4
run s2400 steps=2400 aug=default
run p16-test steps=1200 aug=default P=16 K=4 test=true
# session 14: the batch lever on the other two splits, with the default batch rerun at the same build
run basesp1 steps=1200 aug=default splitSeed=1
run basesp2 steps=1200 aug=default splitSeed=2
run p16sp1 steps=1200 aug=default P=16 K=4 splitSeed=1
run p16sp2 steps=1200 aug=default P=16 K=4 splitSeed=2
