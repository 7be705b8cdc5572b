"""Shared helpers for the PyTorch-vs-Learner comparison scripts.

Run the scripts with /usr/bin/python3 (the interpreter that has torch 1.13 + OpenBLAS here; any torch works, and the
tables name its version), e.g.
    /usr/bin/python3 benchmarks/compare/compare_gemm.py

A comparison script
  1. times each workload in torch with `time_torch` (warm-up, then repeated calls; median and minimum),
  2. times the same workloads in Learner with `run_learner` (the Learner.Compare C# tool, same names),
  3. prints `markdown_table(...)` with the machine description.
`compare(...)` does all three, interleaving the two sides `repeats` times and keeping each side's best,
so that both see the same background load on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
COMPARE_PROJECT = os.path.join(HERE, "Learner.Compare", "Learner.Compare.csproj")

DEFAULT_THREADS = 2


def setup_torch(threads: int = DEFAULT_THREADS):
    """Imports torch, pins its intra-op thread count, and checks that matrix products go to OpenBLAS."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    blas = blas_library()
    # Debian's torch (BLAS_INFO=generic) calls whichever BLAS is installed, the reference one unless OpenBLAS is; the
    # pip wheels carry MKL inside libtorch_cpu (BLAS_INFO=mkl), which maps no separate BLAS library.
    if "mkl" not in torch_config_blas().lower() and (blas is None or "openblas" not in blas):
        print(f"warning: torch is not using OpenBLAS (loaded BLAS: {blas}); its timings will be far slower than usual. "
              "Install libopenblas0-pthread.", file=sys.stderr)
    return torch


def blas_library() -> Optional[str]:
    """The BLAS shared library mapped into this process (after a first matrix product), or None."""
    import torch

    torch.mm(torch.ones(8, 8), torch.ones(8, 8))  # make sure the BLAS is loaded
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path)
            if "blas" in name:
                return path
    return None


def torch_config_blas() -> str:
    """The BLAS line of torch.__config__.show() (the build-time setting; the run-time library is `blas_library`)."""
    import torch

    for part in torch.__config__.show().replace("\n", ",").split(","):
        if "BLAS_INFO" in part:
            return part[part.index("BLAS_INFO"):].strip()
    return "BLAS_INFO unknown"


def time_torch(fn: Callable[[], object], warmup: int = 3, warmup_seconds: float = 0.3,
               min_iterations: int = 10, min_seconds: float = 1.0, max_iterations: int = 1000) -> Dict[str, float]:
    """Warms up, then times `fn` until both minimums are met. Returns median_ms, min_ms, mean_ms, iterations."""
    start = time.perf_counter()
    i = 0
    while i < warmup or time.perf_counter() - start < warmup_seconds:
        fn()
        i += 1
    samples: List[float] = []
    start = time.perf_counter()
    while len(samples) < max_iterations and (len(samples) < min_iterations or time.perf_counter() - start < min_seconds):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(samples), "min_ms": min(samples),
            "mean_ms": statistics.fmean(samples), "iterations": len(samples)}


_built = False
# Set to 1 to use Learner.Compare's existing Release output instead of building it (a machine with the .NET runtime
# but no SDK).
PREBUILT_VARIABLE = "LEARNER_COMPARE_PREBUILT"
COMPARE_OUTPUT = os.path.join(HERE, "Learner.Compare", "bin", "Release", "net10.0")
LIBTORCH = "@libtorch"


def build_learner() -> None:
    """Builds the Learner.Compare tool in Release once per process, then makes its libtorch loadable where the system
    libstdc++ is older than TorchSharp's (Debian 12: scripts/libtorch-loadable.sh; it does nothing elsewhere)."""
    global _built
    if _built:
        return
    if os.environ.get(PREBUILT_VARIABLE) == "1":
        # A machine without the SDK (only the runtime): the tool's Release output was copied there as built elsewhere.
        if not os.path.isfile(os.path.join(COMPARE_OUTPUT, "Learner.Compare.dll")):
            raise SystemExit(f"{PREBUILT_VARIABLE}=1 but {COMPARE_OUTPUT}/Learner.Compare.dll is missing: build it first "
                             "(dotnet build benchmarks/compare/Learner.Compare -c Release) or copy its output there.")
        _built = True
        return
    subprocess.run(["dotnet", "build", COMPARE_PROJECT, "-c", "Release", "--nologo", "-v", "q"],
                   check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(REPO, "scripts", "libtorch-loadable.sh"), COMPARE_OUTPUT], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL)
    _built = True


_learner_machine: Dict[str, object] = {}


def run_learner(names: Sequence[str], extra_args: Sequence[str] = ()) -> Dict[str, Dict[str, float]]:
    """Runs Learner.Compare on the named workloads (names ending in @libtorch run in libtorch 2.10 through TorchSharp,
    in the same process); returns {name: {median_ms, min_ms, mean_ms, iterations}}."""
    build_learner()
    cmd = ["dotnet", os.path.join(COMPARE_OUTPUT, "Learner.Compare.dll"), "run", *names, "--json", *extra_args]
    out = subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, text=True).stdout
    document = json.loads(out[out.index("{"):])
    _learner_machine.update(document.get("machine", {}))
    return {r["name"]: r for r in document["results"]}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _cpuinfo_field(key: str) -> str:
    """The first processor's value of an exact /proc/cpuinfo key ('cpu family', 'model'), or '?'."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return "?"


def cpu_family() -> str:
    return _cpuinfo_field("cpu family")


def cpu_model_number() -> str:
    return _cpuinfo_field("model")


def cpu_caches() -> str:
    """Per-core cache sizes from sysfs (the ones Learner's GEMM blocking is derived from), e.g. 'L1d 48K, L2 2048K, L3 307200K/2'."""
    root = "/sys/devices/system/cpu/cpu0/cache"
    parts = []
    try:
        for entry in sorted(os.listdir(root)):
            if not entry.startswith("index"):
                continue
            d = os.path.join(root, entry)

            def read(name: str) -> str:
                with open(os.path.join(d, name)) as f:
                    return f.read().strip()
            kind = read("type")
            if kind == "Instruction":
                continue
            level = read("level")
            shared = read("shared_cpu_list")
            parts.append(f"L{level}{'d' if kind == 'Data' else ''} {read('size')} (shared by CPUs {shared})")
    except OSError:
        return "caches unknown"
    return ", ".join(parts) or "caches unknown"


def torch_convolution_backend() -> str:
    """Which library runs torch's CPU convolutions: oneDNN (MKL-DNN, its own JIT-compiled AVX2/AVX-512 direct and
    Winograd kernels, not the BLAS) when the build has it and it is enabled, otherwise im2col + the BLAS."""
    import torch

    if torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled:
        for line in torch.__config__.show().splitlines():
            if "MKL-DNN" in line or "oneDNN" in line:
                return "convolutions: " + line.strip(" -").split("(Git")[0].strip()
        return "convolutions: oneDNN (MKL-DNN)"
    return "convolutions: im2col + BLAS (no oneDNN)"


def machine_description(threads: int = DEFAULT_THREADS) -> str:
    import torch

    libtorch = _learner_machine.get("libtorch")
    libtorch_line = (f"; libtorch 2.10 (package libtorch-cpu-linux-x64) through TorchSharp {libtorch['torchsharp']} in the Learner process, "
                     f"{libtorch['threads']} threads, OMP_WAIT_POLICY {libtorch['omp_wait_policy']}") if isinstance(libtorch, dict) else ""
    learner_cpu = _learner_machine.get("cpu")
    learner_line = f" (its CpuInfo: {learner_cpu})" if isinstance(learner_cpu, str) else ""
    return (f"CPU: {cpu_model()}, family {cpu_family()} model {cpu_model_number()} ({os.cpu_count()} logical CPUs; {cpu_caches()}); torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads (requested {threads}), {torch_config_blas()}, {torch_convolution_backend()}, "
            f"run-time BLAS: {blas_library()}; Learner: .NET Release build, Environment.ProcessorCount threads{learner_line}{libtorch_line}")


def _cell(t: Dict[str, float]) -> str:
    return f"{t['min_ms']:.3f} / {t['median_ms']:.3f}"


def _ratio(other: Dict[str, float], learner: Dict[str, float]) -> str:
    return f"{other['min_ms'] / learner['min_ms']:.2f}×" if learner["min_ms"] > 0 else "∞"


def torch_version() -> str:
    """torch's major.minor version ('1.13', '2.11'), for the tables' headers."""
    import torch

    return ".".join(torch.__version__.split("+")[0].split(".")[:2])


def markdown_table(rows: Iterable[Dict[str, object]], title: str = "") -> str:
    """rows: dicts with name, torch, learner and optionally libtorch (timing dicts). Ratios = other min / Learner min."""
    rows = list(rows)
    with_libtorch = any(row.get("libtorch") for row in rows)
    lines = []
    if title:
        lines.append(f"### {title}\n")
    if with_libtorch:
        lines.append(f"| workload | PyTorch {torch_version()} ms (min / median) | libtorch 2.10 ms (min / median) | Learner ms (min / median) "
                     "| ratio PyTorch / Learner | ratio libtorch / Learner |")
        lines.append("|---|---:|---:|---:|---:|---:|")
    else:
        lines.append(f"| workload | PyTorch {torch_version()} ms (min / median) | Learner ms (min / median) | speed ratio (PyTorch / Learner) |")
        lines.append("|---|---:|---:|---:|")
    for row in rows:
        t, l, lt = row["torch"], row["learner"], row.get("libtorch")
        if with_libtorch:
            lines.append(f"| {row['name']} | {_cell(t)} | {_cell(lt) if lt else '—'} | {_cell(l)} | {_ratio(t, l)} | {_ratio(lt, l) if lt else '—'} |")
        else:
            lines.append(f"| {row['name']} | {_cell(t)} | {_cell(l)} | {_ratio(t, l)} |")
    lines.append("")
    lines.append("Speed ratio > 1 means Learner is faster. Ratios use the minimum over all timed calls and repeats "
                 "(the least disturbed run on a shared machine).")
    return "\n".join(lines)


def best_of(a: Optional[Dict[str, float]], b: Dict[str, float]) -> Dict[str, float]:
    """Merges two timings of the same workload: the lower minimum and the lower median."""
    if a is None:
        return dict(b)
    return {"min_ms": min(a["min_ms"], b["min_ms"]), "median_ms": min(a["median_ms"], b["median_ms"]),
            "mean_ms": min(a["mean_ms"], b["mean_ms"]), "iterations": a["iterations"] + b["iterations"]}


def compare(torch_workloads: Dict[str, Callable[[], object]], title: str, repeats: int = 1,
            threads: int = DEFAULT_THREADS, min_seconds: float = 1.0, libtorch: bool = True,
            libtorch_threads: Optional[int] = None, interleave: str = "workload") -> str:
    """Times every workload in PyTorch and in Learner (and, with `libtorch`, in libtorch 2.10 inside the Learner
    process), `repeats` times interleaved; returns the markdown report.

    `interleave="workload"` (the default) times each workload in torch and then, at once, in one Learner process (with
    its libtorch twin), so the three engines of a row see the load of the same minute; `"suite"` times every workload
    in torch first and then all of them in one Learner process (one .NET start per repeat instead of one per workload,
    but on a host whose load drifts the two sides of a row can be minutes apart)."""
    if interleave not in ("workload", "suite"):
        raise ValueError(f"interleave must be 'workload' or 'suite', not {interleave!r}")
    names = list(torch_workloads)
    best_torch: Dict[str, Dict[str, float]] = {}
    best_learner: Dict[str, Dict[str, float]] = {}
    best_libtorch: Dict[str, Dict[str, float]] = {}
    extra = ["--min-seconds", str(min_seconds)]
    if libtorch_threads is not None:
        extra += ["--libtorch-threads", str(libtorch_threads)]
    def learner_side(group: Sequence[str]) -> None:
        # Learner and libtorch alternate per workload inside one process.
        requested = [n for name in group for n in ([name, name + LIBTORCH] if libtorch else [name])]
        for name, timing in run_learner(requested, extra).items():
            if name.endswith(LIBTORCH):
                base = name[:-len(LIBTORCH)]
                best_libtorch[base] = best_of(best_libtorch.get(base), timing)
            else:
                best_learner[name] = best_of(best_learner.get(name), timing)

    for _ in range(repeats):
        if interleave == "workload":
            for name in names:
                best_torch[name] = best_of(best_torch.get(name), time_torch(torch_workloads[name], min_seconds=min_seconds))
                learner_side([name])
        else:
            for name in names:
                best_torch[name] = best_of(best_torch.get(name), time_torch(torch_workloads[name], min_seconds=min_seconds))
            learner_side(names)
    rows = [{"name": n, "torch": best_torch[n], "learner": best_learner[n], "libtorch": best_libtorch.get(n)} for n in names]
    load = os.getloadavg()
    return "\n".join([
        markdown_table(rows, title),
        "",
        f"Machine: {machine_description(threads)}.",
        f"Repeats: {repeats} ({'per workload: torch, then Learner and libtorch in one process' if interleave == 'workload' else 'per suite: every workload in torch, then Learner and libtorch alternating per workload'}); load average at the end: "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.",
    ])


def timing_options(args: argparse.Namespace) -> Dict[str, object]:
    """The keyword arguments of `compare` from the common command line."""
    return {"repeats": args.repeats, "threads": args.threads, "min_seconds": args.min_seconds,
            "libtorch": not args.no_libtorch, "libtorch_threads": args.libtorch_threads, "interleave": args.interleave}


def argument_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repetitions of the whole comparison (best kept)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch intra-op threads")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="minimum timed seconds per workload and repeat")
    parser.add_argument("--filter", default="", help="only workloads whose name contains this text")
    parser.add_argument("--no-libtorch", action="store_true", help="leave out the libtorch 2.10 (TorchSharp) column")
    parser.add_argument("--interleave", choices=("workload", "suite"), default="workload",
                        help="time each workload in torch and Learner back to back (default), or every workload in torch "
                             "first and then all in one Learner process")
    parser.add_argument("--libtorch-threads", type=int, default=None,
                        help="libtorch intra-op threads (default: the processor count, as Learner)")
    return parser
