"""Shared helpers for the PyTorch-vs-Learner comparison scripts.

Run the scripts with /usr/bin/python3 (the interpreter that has torch 1.13 + OpenBLAS), e.g.
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
    if blas is None or "openblas" not in blas:
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


def build_learner() -> None:
    """Builds the Learner.Compare tool in Release once per process."""
    global _built
    if _built:
        return
    subprocess.run(["dotnet", "build", COMPARE_PROJECT, "-c", "Release", "--nologo", "-v", "q"],
                   check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    _built = True


def run_learner(names: Sequence[str], extra_args: Sequence[str] = ()) -> Dict[str, Dict[str, float]]:
    """Runs Learner.Compare on the named workloads; returns {name: {median_ms, min_ms, mean_ms, iterations}}."""
    build_learner()
    cmd = ["dotnet", "run", "-c", "Release", "--no-build", "--project", COMPARE_PROJECT, "--", "run", *names, "--json", *extra_args]
    out = subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, text=True).stdout
    document = json.loads(out[out.index("{"):])
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


def cpu_family() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu family"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


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


def machine_description(threads: int = DEFAULT_THREADS) -> str:
    import torch

    return (f"CPU: {cpu_model()}, family {cpu_family()} ({os.cpu_count()} logical CPUs; {cpu_caches()}); torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads (requested {threads}), {torch_config_blas()}, "
            f"run-time BLAS: {blas_library()}; Learner: .NET Release build, Environment.ProcessorCount threads")


def markdown_table(rows: Iterable[Dict[str, object]], title: str = "") -> str:
    """rows: dicts with name, torch (timing dict), learner (timing dict). Ratio = PyTorch min / Learner min."""
    lines = []
    if title:
        lines.append(f"### {title}\n")
    lines.append("| workload | PyTorch ms (min / median) | Learner ms (min / median) | speed ratio (PyTorch / Learner) |")
    lines.append("|---|---:|---:|---:|")
    for row in rows:
        t, l = row["torch"], row["learner"]
        ratio = t["min_ms"] / l["min_ms"] if l["min_ms"] > 0 else float("inf")
        lines.append(f"| {row['name']} | {t['min_ms']:.3f} / {t['median_ms']:.3f} | {l['min_ms']:.3f} / {l['median_ms']:.3f} | {ratio:.2f}× |")
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
            threads: int = DEFAULT_THREADS, min_seconds: float = 1.0) -> str:
    """Times every workload on both sides, `repeats` times interleaved; returns the markdown report."""
    names = list(torch_workloads)
    best_torch: Dict[str, Dict[str, float]] = {}
    best_learner: Dict[str, Dict[str, float]] = {}
    for _ in range(repeats):
        for name in names:
            best_torch[name] = best_of(best_torch.get(name), time_torch(torch_workloads[name], min_seconds=min_seconds))
        for name, timing in run_learner(names, ["--min-seconds", str(min_seconds)]).items():
            best_learner[name] = best_of(best_learner.get(name), timing)
    rows = [{"name": n, "torch": best_torch[n], "learner": best_learner[n]} for n in names]
    load = os.getloadavg()
    return "\n".join([
        markdown_table(rows, title),
        "",
        f"Machine: {machine_description(threads)}.",
        f"Repeats: {repeats} (torch and Learner interleaved); load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.",
    ])


def argument_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repetitions of the whole comparison (best kept)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch intra-op threads")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="minimum timed seconds per workload and repeat")
    parser.add_argument("--filter", default="", help="only workloads whose name contains this text")
    return parser
