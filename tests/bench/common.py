"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
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

    See `run_measured`, which also gives the CPU time.
    """
    run = run_measured(args, env, ok)
    return run.wall, run.rss_mb


@dataclass(frozen=True)
class Run:
    """One measured process: wall and CPU (user + system) seconds, peak RSS in MB."""

    wall: float
    cpu: float
    rss_mb: float


def run_measured(args: list[str], env: dict | None = None, ok=(0,)) -> Run:
    """Run ``python -m scanctl ARGS`` and measure it.

    The peak is sampled from ``/proc/PID/status`` (VmHWM, monotonic) every millisecond while
    the process runs; see `peak_rss_mb` for why the rusage figure cannot be used. The CPU time
    is the child's own rusage (``wait4``): on a shared machine it moves less than the wall.
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
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            try:
                with open(status_path) as status_file:
                    for line in status_file:
                        if line.startswith("VmHWM:"):
                            peak_kb = max(peak_kb, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
            time.sleep(0.001)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in ok:
            err.seek(0)
            message = err.read().decode(errors="replace")
            raise RuntimeError(f"scanctl {' '.join(args)} exited {child.returncode}: {message}")
    return Run(wall=elapsed, cpu=usage.ru_utime + usage.ru_stime, rss_mb=peak_kb / 1024)


def report(name: str, value: float, unit: str, budget: float | None = None) -> None:
    """Print one figure as ``name: value unit (budget …, ok|OVER)``."""
    verdict = ""
    if budget is not None:
        verdict = f"  (budget ≤ {budget:g} {unit}: {'ok' if value <= budget else 'OVER'})"
    print(f"{name:<58} {value:>9.3f} {unit}{verdict}", flush=True)
