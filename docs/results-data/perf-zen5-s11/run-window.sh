#!/bin/bash
# Session-11 timing window (docs/performance.md, "session 11: Winograd"): the QuickStart with the default convolution
# choice and with LEARNER_CONV_ALGORITHM=gemm (im2col everywhere), interleaved twice; the TorchSharp --quick steps,
# passive and active; compare_training. compare_conv ran separately (conv-final.md: --repeats 3 --min-seconds 1).
#   run-window.sh OUT
source "$(dirname "$0")/../window-steps.sh"
window_begin "$0" "$1"
for i in 1 2; do
  ( LEARNER_CONV_ALGORITHM=gemm /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs0.html ) > $out/quickstart-gemm-$i.txt 2>&1
  ( /usr/bin/time -v dotnet run -c Release --no-build --project samples/QuickStart -- /tmp/qs.html ) > $out/quickstart-auto-$i.txt 2>&1
  uptime >> $out/load.txt
done
window_steps
uptime >> $out/load.txt
echo done > $out/DONE
