#!/bin/bash
# QuickStart wall: default tiering against TieredCompilation=0 and TieredPGO=0, alternating.
cd /work/main
Q=samples/QuickStart/bin/Release/net10.0/QuickStart.dll
for r in 1 2; do
  for mode in default tc0 pgo0; do
    case $mode in
      default) env=() ;;
      tc0) env=(DOTNET_TieredCompilation=0) ;;
      pgo0) env=(DOTNET_TieredPGO=0) ;;
    esac
    s=$(date +%s.%N)
    env "${env[@]}" dotnet $Q > /work/s25/qs-$mode-$r.log 2>&1
    e=$(date +%s.%N)
    echo "$mode round $r wall $(echo "$e - $s" | bc) s load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
