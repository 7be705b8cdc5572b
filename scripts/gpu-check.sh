#!/usr/bin/env bash
# A prepared check for a machine with an NVIDIA GPU and a CUDA TorchSharp runtime package (not served to our usual
# machines): builds the TorchSharp step benchmark against that runtime, runs its quick side-by-side mode (managed engine,
# libtorch CPU, libtorch CUDA: the same weights and batch on each), prints the times and ratios, and fails when
#   - no CUDA device is visible (nvidia-smi, or the benchmark finds none),
#   - a backend's loss at the first step (before any update: same weights, same batch) differs from the managed one's by
#     more than a relative 1e-3 (parity of the encoder forward and the objective on the device),
#   - any step is not finite.
# Runs in well under 8 minutes (a build, then 3 backends × 23 steps of the small TSM ResNet).
#
# Usage: scripts/gpu-check.sh [--runtime PACKAGE] [--version VERSION] [--steps N] [--allow-cpu]
#   --runtime   the native runtime package (default TorchSharp-cuda-linux; on Windows use TorchSharp-cuda-windows)
#   --version   its version (default 0.107.0, the TorchSharp version pinned in Directory.Packages.props; '' for the
#               version Directory.Packages.props pins for that package)
#   --steps     timed steps per backend (default 20)
#   --allow-cpu run without a GPU (checks the managed/CPU parity and this script itself; still exits 1 on a mismatch)
# The CUDA path has not been run by us (no CUDA machine was lent when it was written); the CPU path has.
set -euo pipefail
cd "$(dirname "$0")/.."
runtime=TorchSharp-cuda-linux version=0.107.0 steps=20 allow_cpu=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runtime) runtime="${2:?--runtime needs a package id}"; shift 2 ;;
    --version) version="${2-}"; shift 2 ;;
    --steps) steps="${2:?--steps needs a number}"; shift 2 ;;
    --allow-cpu) allow_cpu=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$steps" =~ ^[1-9][0-9]*$ ]] || { echo "gpu-check: --steps must be a positive integer, got '$steps'" >&2; exit 2; }
say() { echo "gpu-check: $*"; }

if command -v nvidia-smi >/dev/null && gpus="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null)" && [ -n "$gpus" ]; then
  say "GPU: $gpus"
elif [ "$allow_cpu" -eq 1 ]; then
  say "no NVIDIA GPU visible (nvidia-smi); --allow-cpu: checking managed / libtorch CPU only"
else
  say "no NVIDIA GPU visible (nvidia-smi missing or listing none); this check needs one (or --allow-cpu)" >&2
  exit 1
fi
say "CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1 || true)"

project=benchmarks/Learner.TorchSharp.Benchmarks
out="$project/bin/Release/net10.0"
say "build $project with $runtime $version"
props=(-p:TorchSharpRuntimePackage="$runtime"); [ -z "$version" ] || props+=(-p:TorchSharpRuntimeVersion="$version")
dotnet build "$project" -c Release --nologo -v quiet "${props[@]}" >/tmp/gpu-check-build.log 2>&1 \
  || { cat /tmp/gpu-check-build.log >&2; say "build failed" >&2; exit 1; }
scripts/libtorch-loadable.sh "$project/bin/Release" | sed 's/^/gpu-check: /'

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
timeout 420 dotnet "$out/Learner.TorchSharp.Benchmarks.dll" --quick "$steps" | tee "$log" || { say "the benchmark failed or ran past 7 minutes" >&2; exit 1; }

# Lines: "<backend> <ms> ms/step (min …, max …), loss <first> at the first step, <last> at the last …"
status=0
managed="$(awk '$1 == "managed" { for (i = 1; i <= NF; i++) if ($i == "loss") { print $(i + 1); exit } }' "$log" || true)"
[ -n "$managed" ] || { say "no managed line in the benchmark's output" >&2; exit 1; }
while read -r backend first; do
  [ "$backend" = managed ] && continue
  verdict="$(awk -v a="$managed" -v b="$first" 'BEGIN { d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); if (m < 1e-12) m = 1e-12;
    if (b != b + 0 || d / m > 1e-3) print "MISMATCH"; else printf "ok (relative difference %.2e)", d / m }')"
  say "$backend first-step loss $first vs managed $managed: $verdict"
  [[ "$verdict" == ok* ]] || status=1
done < <(awk '/ ms\/step / { for (i = 1; i <= NF; i++) if ($i == "loss") { sub(",", "", $(i + 1)); print $1, $(i + 1) } }' "$log")
if grep -Eq '(NaN|Infinity) at' "$log"; then say "a non-finite loss was printed" >&2; status=1; fi
if [ "$allow_cpu" -eq 0 ] && ! grep -q '^torchsharp-cuda ' "$log"; then
  say "the benchmark found no CUDA device (is $runtime the CUDA runtime for this driver?)" >&2
  status=1
fi
grep -E '^managed / ' "$log" | sed 's/^/gpu-check: ratio /'
[ "$status" -eq 0 ] && say "ok" || say "FAILED" >&2
exit "$status"
