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


def run_command(args: list[str], env: dict | None = None, ok=(0,)) -> tuple[float, float]:
    """Run ``python -m scanctl ARGS``; returns (wall seconds, peak RSS of that process in MB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "scanctl", *args],
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in ok:
            err.seek(0)
            message = err.read().decode(errors="replace")
            raise RuntimeError(f"scanctl {' '.join(args)} exited {child.returncode}: {message}")
    return elapsed, usage.ru_maxrss / 1024


def report(name: str, value: float, unit: str, budget: float | None = None) -> None:
    """Print one figure as ``name: value unit (budget …, ok|OVER)``."""
    verdict = ""
    if budget is not None:
        verdict = f"  (budget ≤ {budget:g} {unit}: {'ok' if value <= budget else 'OVER'})"
    print(f"{name:<58} {value:>9.3f} {unit}{verdict}", flush=True)
