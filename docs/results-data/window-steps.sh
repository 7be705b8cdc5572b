# Sourced by the perf-zen5-s*/run-window.sh scripts (with $out set, in the repository root): the machine header and the
# QuickStart's Release build, then
# (window_steps) the TorchSharp --quick steps, passive and active, default and ResNet-18 presets, and compare_training.
# window_begin SCRIPT OUT: strict mode, $out from OUT, into the repository root (three levels above SCRIPT), header.
window_begin() {
  set -u
  out=$(realpath -m "$2")
  cd "$(dirname "$1")/../../.."
  window_header
}
window_header() {
  mkdir -p $out
  lscpu > $out/lscpu.txt; grep -m1 -E 'cpu family' /proc/cpuinfo >> $out/lscpu.txt; grep -m1 -E '^model\s' /proc/cpuinfo >> $out/lscpu.txt
  git log --oneline -1 > $out/commit.txt
  uptime > $out/load.txt
  dotnet build -c Release samples/QuickStart -v q > /dev/null 2>&1
}
window_steps() {
  local B=benchmarks/Learner.TorchSharp.Benchmarks/bin/Release/net10.0/Learner.TorchSharp.Benchmarks.dll
  dotnet build -c Release benchmarks/Learner.TorchSharp.Benchmarks -v q > /dev/null 2>&1; scripts/libtorch-loadable.sh benchmarks/Learner.TorchSharp.Benchmarks/bin/Release > /dev/null
  OMP_WAIT_POLICY=PASSIVE dotnet $B --quick 30 > $out/tsm-quick-passive.txt 2>&1; uptime >> $out/load.txt
  OMP_WAIT_POLICY=ACTIVE dotnet $B --quick 30 --step-only > $out/tsm-quick-active.txt 2>&1; uptime >> $out/load.txt
  OMP_WAIT_POLICY=PASSIVE dotnet $B --quick 10 --resnet18 --step-only > $out/resnet18-preset-passive.txt 2>&1; uptime >> $out/load.txt
  OMP_WAIT_POLICY=ACTIVE dotnet $B --quick 10 --resnet18 --step-only > $out/resnet18-preset-active.txt 2>&1; uptime >> $out/load.txt
  /usr/bin/python3 benchmarks/compare/compare_training.py --repeats 3 > $out/compare-training.md 2>&1
}
