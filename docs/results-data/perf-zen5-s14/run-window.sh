#!/bin/bash
# Session-14 timing window (docs/performance.md, "Zen 5, sessions 12–14"): the QuickStart twice; the TorchSharp
# --quick steps (default and ResNet-18 presets, passive and active) and compare_training; then the objectives, SGEMM
# and convolution comparisons, whose machine line now names the library behind torch's convolutions (oneDNN).
#   run-window.sh OUT
source "$(dirname "$0")/../window-steps.sh"
window_begin "$0" "$1"
for i in 1 2; do
  ( /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs.html ) > $out/quickstart-$i.txt 2>&1
  uptime >> $out/load.txt
done
window_steps
export OMP_WAIT_POLICY=PASSIVE
/usr/bin/python3 benchmarks/compare/compare_objectives.py --repeats 3 > $out/compare-objectives.md 2>&1; uptime >> $out/load.txt
/usr/bin/python3 benchmarks/compare/compare_gemm.py --repeats 3 > $out/compare-gemm.md 2>&1; uptime >> $out/load.txt
/usr/bin/python3 benchmarks/compare/compare_conv.py --repeats 2 > $out/compare-conv.md 2>&1; uptime >> $out/load.txt
echo done > $out/DONE
# Run after the window, once with torch passive too and once more with torch's default wait policy:
/usr/bin/python3 benchmarks/compare/compare_training.py --repeats 3 > $out/compare-training-passive.md 2>&1
env -u OMP_WAIT_POLICY /usr/bin/python3 benchmarks/compare/compare_training.py --repeats 3 > $out/compare-training-2.md 2>&1
