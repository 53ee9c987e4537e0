"""Help at the floor (issue 12 item 3, issue 14): `--help`, `--version` and a completion request
as a user's shell runs them, each a new `python -m scanctl` process.

Budget: ≤ 0.2 s wall, median of 15 runs (the best run is printed too: the machine is shared, and
the median moves with its load). Run with ``python -m tests.bench.cli``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from tests.bench.common import REPO, report

RUNS = 15
BUDGET_S = 0.2
CASES = [
    ("scanctl --help", ["--help"], {}),
    ("scanctl scan --help", ["scan", "--help"], {}),
    ("scanctl data sync --help", ["data", "sync", "--help"], {}),
    ("scanctl --version", ["--version"], {}),
    (
        "completion: data sync --source <TAB>",
        [],
        {
            "_SCANCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": "scanctl data sync --source ",
            "COMP_CWORD": "4",
        },
    ),
]


def wall_times(args: list[str], env: dict[str, str], runs: int = RUNS) -> list[float]:
    """Wall seconds of ``runs`` runs of `python -m scanctl ARGS` (after one to warm the cache)."""
    command = [sys.executable, "-m", "scanctl", *args]
    environ = {**os.environ, **env}
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(command, env=environ, cwd=REPO, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times[1:]


def main() -> None:
    print("== help, version and completion (issues 12 and 14)")
    for name, args, env in CASES:
        times = wall_times(args, env)
        report(f"{name} (median of {RUNS})", statistics.median(times), "s", BUDGET_S)
        report(f"{name} (best)", min(times), "s")


if __name__ == "__main__":
    main()
