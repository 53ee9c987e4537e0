"""Issue 12 figures for the store: `data demo` of ten years, `data import` of a million rows,
and the whole daily `scan --version v1,v2,v3` process on 2,700 × 400 and 2,700 × 2,500 stores.

Each figure is the best wall time of 3 runs and the largest peak RSS of those runs, next to
its budget; the CPU time (user + system) of the best run is printed too, as the wall moves
with whatever else the machine runs. Run with ``python -m tests.bench.storage`` (about three
minutes) or `make bench`.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import tempfile
from pathlib import Path

from tests.bench.common import Run, report, run_measured

PINNED = {"SCANCTL_NOW": "2025-11-28T18:00:00"}  # the demo ends on Friday 2025-11-28
RUNS = 3
IMPORT_ROWS = 1_000_000


def best(name: str, runs: list[Run], wall_budget: float, rss_budget: float) -> None:
    """Report the best wall of ``runs`` (and its CPU) and their largest peak RSS."""
    fastest = min(runs, key=lambda run: run.wall)
    report(f"{name}, best of {len(runs)}", fastest.wall, "s", wall_budget)
    report("  its CPU time (user + system)", fastest.cpu, "s")
    report(f"  peak RSS (max of {len(runs)})", max(run.rss_mb for run in runs), "MB", rss_budget)


def fresh(path: Path) -> Path:
    """``path`` with no store (nor WAL, shared-memory or lock file) left from a previous run."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def demo_runs(db: Path, tickers: int, sessions: int, runs: int) -> list[Run]:
    """``runs`` × `data demo` into a new store each time; the last one is left in ``db``."""
    args = ["data", "demo", "--tickers", str(tickers), "--sessions", str(sessions)]
    return [run_measured(["--db", str(fresh(db)), *args], PINNED) for _ in range(runs)]


def scan_runs(db: Path, runs: int) -> tuple[Run, list[Run]]:
    """The first scan of the demo's last session (it writes the picks), then ``runs`` more."""
    args = ["--db", str(db), "scan", "--version", "v1,v2,v3", "--no-notify"]
    args += ["--date", "2025-11-28"]
    first = run_measured(args, PINNED)
    return first, [run_measured(args, PINNED) for _ in range(runs)]


def write_import_csv(path: Path, rows: int) -> None:
    """The first ``rows`` bars of a 2,700-ticker demo market as a plain bars CSV with values."""
    from scanctl.market.calendar import KrxCalendar
    from scanctl.providers.demo import generate_demo_market

    end = dt.date(2025, 11, 28)
    sessions = KrxCalendar().sessions_in_range(end - dt.timedelta(days=900), end)[-400:]
    market = generate_demo_market(sessions, n_tickers=2700, seed=1)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "ticker", "open", "high", "low", "close", "volume", "value"])
        writer.writerows(itertools.islice(market.bar_rows(), rows))


def main() -> None:
    print("== store I/O and the daily scan (issue 12)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ten_years = folder / "ten-years.db"
        runs = demo_runs(ten_years, 2700, 2500, RUNS)
        best("data demo --tickers 2700 --sessions 2500", runs, 30, 600)

        bars = folder / "bars.csv"
        write_import_csv(bars, IMPORT_ROWS)
        target = folder / "import.db"
        runs = [
            run_measured(["--db", str(fresh(target)), "data", "import", str(bars)])
            for _ in range(RUNS)
        ]
        best(f"data import {IMPORT_ROWS:,} rows ({bars.stat().st_size >> 20} MB CSV)", runs, 6, 300)

        one_year = folder / "one-year.db"
        demo_runs(one_year, 2700, 400, 1)
        for db, label, wall, rss in (
            (one_year, "2,700 x 400", 0.8, 250),
            (ten_years, "2,700 x 2,500", 1.5, 300),
        ):
            first, runs = scan_runs(db, RUNS)
            report(f"scan --version v1,v2,v3, {label}, first run", first.wall, "s")
            best(f"scan --version v1,v2,v3, {label}, reruns", runs, wall, rss)


if __name__ == "__main__":
    main()
