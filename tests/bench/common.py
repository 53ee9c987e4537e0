"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_KRX = REPO.parent / "shared" / "data" / "krx"


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The fastest of ``runs`` wall-clock timings of ``fn()``, in seconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB.

    Not ``getrusage().ru_maxrss``: Linux carries a parent's high-water mark into a child across
    fork and exec, so a small child of a large parent would report the parent's peak.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_command(args: list[str], env: dict | None = None, ok=(0,)) -> tuple[float, float]:
    """Run ``python -m scanctl ARGS``; returns (wall seconds, peak RSS of that process in MB).

    The peak is sampled from ``/proc/PID/status`` (VmHWM, monotonic) every millisecond while
    the process runs; see `peak_rss_mb` for why the rusage figure cannot be used.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "scanctl", *args],
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=err,
        )
        peak_kb = 0
        status_path = f"/proc/{child.pid}/status"
        while child.poll() is None:
            try:
                with open(status_path) as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            peak_kb = max(peak_kb, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
            time.sleep(0.001)
        elapsed = time.perf_counter() - start
        if child.returncode not in ok:
            err.seek(0)
            message = err.read().decode(errors="replace")
            raise RuntimeError(f"scanctl {' '.join(args)} exited {child.returncode}: {message}")
    return elapsed, peak_kb / 1024


def report(name: str, value: float, unit: str, budget: float | None = None) -> None:
    """Print one figure as ``name: value unit (budget …, ok|OVER)``."""
    verdict = ""
    if budget is not None:
        verdict = f"  (budget ≤ {budget:g} {unit}: {'ok' if value <= budget else 'OVER'})"
    print(f"{name:<58} {value:>9.3f} {unit}{verdict}", flush=True)
