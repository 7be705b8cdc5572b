#!/bin/bash
# QuickStart wall and pretraining seconds with the 6x16 kernel everywhere (avx2) against the default (avx2-mixed), alternating.
cd /work/main
for i in 1 2; do
  for k in avx2 avx2-mixed; do
    /usr/bin/time -f "wall %e s" env LEARNER_GEMM_KERNEL=$k dotnet samples/QuickStart/bin/Release/net10.0/QuickStart.dll /tmp/qs.html > /work/s24/qs-$k-$i.txt 2>&1
    echo "$i $k: $(grep -E '^wall' /work/s24/qs-$k-$i.txt) $(grep -oE 'pretraining [0-9.]+ s' /work/s24/qs-$k-$i.txt | tr '\n' ' ')" >> /work/s24/qs-ab.txt
  done
done
