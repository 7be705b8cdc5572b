#!/usr/bin/env bash
# The prepared GPU check of the TorchSharp backend, for a machine with an NVIDIA GPU and a CUDA TorchSharp runtime
# package (issue 15). Under 8 minutes once the packages are in the NuGet cache:
#   1. builds the backend's tests and benchmark with the CUDA runtime package (Directory.Build.targets'
#      -p:TorchSharpRuntimePackage / -p:TorchSharpRuntimeVersion), into artifacts/gpu-check/ (the normal bin/ and obj/
#      folders, built with the CPU libtorch, stay as they are), and makes the native library loadable where the system
#      libstdc++ predates GCC 13 (scripts/libtorch-loadable.sh; nothing to do elsewhere);
#   2. runs the parity tests (ObjectiveParityTests, BuiltInEncoderTests, TorchSharpAvailabilityTests) on the GPU:
#      LEARNER_TORCHSHARP_TEST_DEVICE=cuda, read by the test project's TestDevice (TF32 off, so float32 tolerances
#      hold), and LEARNER_REQUIRE_TORCHSHARP=1 (a skip is a failure);
#   3. runs the benchmark's quick side-by-side (--quick N --require-cuda): the pretraining step, the objectives and
#      embedding, managed against TorchSharp CPU against CUDA, with the ratios;
#   4. prints the GPU model, the test counts and every ratio line.
# Exit status: 0 all passed; 1 a parity test failed (or the build failed); 2 bad arguments; 3 no CUDA (no nvidia-smi, no
# GPU, or TorchSharp finds no CUDA device); 4 a step ran past its time limit.
#
# Usage: scripts/gpu-check.sh [--runtime PACKAGE] [--version VERSION] [--steps N] [--device cuda|cuda:N|cpu]
#   --runtime   the CUDA runtime package (default $TORCHSHARP_RUNTIME_PACKAGE, else TorchSharp-cuda-linux; on
#               Windows TorchSharp-cuda-windows, through Git Bash)
#   --version   its version (default $TORCHSHARP_RUNTIME_VERSION, else 0.107.0, the TorchSharp version pinned in
#               Directory.Packages.props)
#   --steps     the benchmark's --quick steps (default 20)
#   --device    cpu runs the same sequence on the CPU with the machine's default CPU runtime and without nvidia-smi
#               (a rehearsal of everything but CUDA; --runtime/--version then ignored)
# The runtime package must be served by a source in nuget.config (ours does not serve the CUDA packages); a machine-wide
# NuGet source or a local folder added to nuget.config will do.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# libtorch's OpenMP threads sleep when idle (read once, when libgomp loads; docs/torchsharp.md, "Threads"). A value in
# the caller's environment wins.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

usage() { sed -n '17,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
say() { echo "gpu-check: $*"; }
# value ARGC REGEX VALUE: an option's value is present and matches.
value() { [ "$1" -ge 2 ] && [[ "$3" =~ $2 ]]; }
runtime="${TORCHSHARP_RUNTIME_PACKAGE:-TorchSharp-cuda-linux}"
version="${TORCHSHARP_RUNTIME_VERSION:-0.107.0}"
steps=20 device=cuda
while [ $# -gt 0 ]; do
  case "$1" in
    --runtime) value $# '.' "${2-}" || usage; runtime="$2"; shift 2 ;;
    --version) value $# '.' "${2-}" || usage; version="$2"; shift 2 ;;
    --steps) value $# '^[1-9][0-9]{0,3}$' "${2-}" || usage; steps="$2"; shift 2 ;;
    --device) value $# '^(cpu|cuda|cuda:[0-9]+)$' "${2-}" || usage; device="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "gpu-check: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ "$runtime" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "gpu-check: '$runtime' is not a package id" >&2; exit 2; }
[[ "$version" =~ ^[0-9]+(\.[0-9]+){1,3}(-[A-Za-z0-9.-]+)?$ ]] || { echo "gpu-check: '$version' is not a package version" >&2; exit 2; }

started=$SECONDS
out="$repo/artifacts/gpu-check/${device%%:*}"
log="$out/logs"
mkdir -p "$log"
build_args=(-c Release --artifacts-path "$out")
bench_args=(--quick "$steps")
if [ "$device" = cpu ]; then
  say "device cpu: a rehearsal with the machine's CPU runtime package; CUDA is not checked"
  gpu="none (device cpu)"
else
  command -v nvidia-smi >/dev/null || { say "no nvidia-smi: this check needs an NVIDIA GPU and its driver" >&2; exit 3; }
  gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | paste -sd ';' -)" || gpu=""
  [ -n "$gpu" ] || { say "nvidia-smi finds no GPU" >&2; nvidia-smi >&2 || true; exit 3; }
  driver="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)" || driver="?"
  say "GPU: $gpu (driver $driver); runtime package $runtime $version"
  build_args+=(-p:TorchSharpRuntimePackage="$runtime" -p:TorchSharpRuntimeVersion="$version")
  bench_args+=(--require-cuda)
fi
cpu="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)"
say "CPU: ${cpu:-unknown}, $(nproc) cores; OMP_WAIT_POLICY=$OMP_WAIT_POLICY; output $out"

# 1. Build (restore included: the first run downloads the runtime package, several GB for CUDA).
for project in tests/Learner.TorchSharp.Tests benchmarks/Learner.TorchSharp.Benchmarks; do
  name="$(basename "$project")"
  say "building $name"
  set +e
  timeout 300 dotnet build "$project" "${build_args[@]}" >"$log/build-$name.log" 2>&1
  status=$?
  set -e
  if [ "$status" -ne 0 ]; then
    tail -n 30 "$log/build-$name.log" >&2
    [ "$status" -eq 124 ] && { say "building $name ran past 300 s" >&2; exit 4; }
    say "building $name failed (log: $log/build-$name.log)" >&2; exit 1
  fi
done
scripts/libtorch-loadable.sh "$out/bin/Learner.TorchSharp.Tests" "$out/bin/Learner.TorchSharp.Benchmarks" | sed 's/^/gpu-check: /'

# 2. The parity tests on the device, without building again (a build would restore the unpatched native library).
say "parity tests on $device"
filter='FullyQualifiedName~Learner.TorchSharp.Tests.ObjectiveParityTests|FullyQualifiedName~Learner.TorchSharp.Tests.BuiltInEncoderTests|FullyQualifiedName~Learner.TorchSharp.Tests.TorchSharpAvailabilityTests'
set +e
LEARNER_TORCHSHARP_TEST_DEVICE="$device" LEARNER_REQUIRE_TORCHSHARP=1 timeout 240 \
  dotnet test tests/Learner.TorchSharp.Tests "${build_args[@]}" --no-build --filter "$filter" >"$log/tests.log" 2>&1
test_status=$?
set -e
summary="$(grep -E '^(Passed|Failed)!' "$log/tests.log" || true)"
if [ "$test_status" -ne 0 ]; then
  grep -E '^\s+Failed |Error Message|asks for CUDA|finds no CUDA' "$log/tests.log" | head -n 40 >&2 || true
  [ -n "$summary" ] && echo "$summary" >&2
  if grep -q 'finds no CUDA device' "$log/tests.log"; then say "TorchSharp finds no CUDA device (log: $log/tests.log)" >&2; exit 3; fi
  [ "$test_status" -eq 124 ] && { say "the parity tests ran past 240 s (log: $log/tests.log)" >&2; exit 4; }
  say "parity tests FAILED on $device (log: $log/tests.log)" >&2; exit 1
fi
[ -n "$summary" ] || { say "no test summary in $log/tests.log" >&2; exit 1; }
if grep -qE 'Skipped: +[1-9]' <<<"$summary"; then say "parity tests skipped: $summary" >&2; exit 1; fi

# 3. The side-by-side benchmark, run from its built dll.
say "benchmark ${bench_args[*]}: managed vs TorchSharp CPU$([ "$device" = cpu ] || echo " vs $device")"
bench="$out/bin/Learner.TorchSharp.Benchmarks/release/Learner.TorchSharp.Benchmarks.dll"
set +e
timeout 240 dotnet "$bench" "${bench_args[@]}" >"$log/benchmark.log" 2>&1
bench_status=$?
set -e
cat "$log/benchmark.log"
case "$bench_status" in
  0) ;;
  3) say "the benchmark finds no CUDA device" >&2; exit 3 ;;
  124) say "the benchmark ran past 240 s" >&2; exit 4 ;;
  *) say "the benchmark failed (status $bench_status)" >&2; exit 1 ;;
esac
if [ "$device" != cpu ] && ! grep -q '^  torchsharp-cuda ' "$log/benchmark.log"; then say "the benchmark measured no CUDA step" >&2; exit 3; fi

# 4. What was measured.
echo
say "summary ($((SECONDS - started)) s)"
say "  GPU: $gpu"
say "  CPU: ${cpu:-unknown}, $(nproc) cores; OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
say "  runtime: $([ "$device" = cpu ] && echo "the default CPU runtime package" || echo "$runtime $version")"
say "  parity tests on $device: $summary"
grep -E 'managed / [a-z:-]+ = |^  (managed|torchsharp-[a-z]+) +[0-9]' "$log/benchmark.log" | sed 's/^/gpu-check:   /'
sed -n '/^objectives/,/^embedding/p' "$log/benchmark.log" | grep -v '^embedding' | sed 's/^/gpu-check:   /'
