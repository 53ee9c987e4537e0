"""Issue 2 figures: `--help` latency, CSV import (real and synthetic), panel read."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import tempfile
from pathlib import Path

from tests.bench.common import SHARED_KRX, best_of, report, run_command


def bench_help() -> None:
    run_command(["--help"])  # warm the page cache
    wall = min(run_command(["--help"])[0] for _ in range(5))
    report("scanctl --help (wall, best of 5)", wall, "s", 0.3)


def bench_real_import(folder: Path) -> None:
    if not (SHARED_KRX / "ohlcv.csv.gz").exists():
        print("real-data import: skipped (../shared/data/krx absent)")
        return
    db = folder / "real.db"
    wall, rss = run_command(["--db", str(db), "data", "import", str(SHARED_KRX / "ohlcv.csv.gz")])
    report("data import ohlcv.csv.gz, 222k real rows (wall)", wall, "s", 5.0)


def write_synthetic_csv(path: Path, n_tickers: int, n_sessions: int) -> int:
    """A demo market written as a bars CSV (gzip); returns the row count."""
    from scanctl.market.calendar import KrxCalendar
    from scanctl.providers.demo import generate_demo_market

    calendar = KrxCalendar()
    end = calendar.last_session_on_or_before(dt.date(2025, 11, 28))
    sessions = calendar.sessions_in_range(end - dt.timedelta(days=n_sessions * 2), end)
    market = generate_demo_market(sessions[-n_sessions:], n_tickers=n_tickers, seed=1)
    rows = 0
    with gzip.open(path, "wt", newline="", compresslevel=1) as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "ticker", "open", "high", "low", "close", "volume", "value"])
        for row in market.bar_rows():
            writer.writerow(row)
            rows += 1
    return rows


def bench_synthetic_import_and_panel(folder: Path) -> None:
    from scanctl.store.db import open_db
    from scanctl.store.panel import read_panel

    csv_path = folder / "synthetic.csv.gz"
    rows = write_synthetic_csv(csv_path, 2700, 500)
    db_path = folder / "synthetic.db"
    wall, _ = run_command(["--db", str(db_path), "data", "import", str(csv_path)])
    report(f"data import synthetic 2,700 x 500 ({rows:,} rows, wall)", wall, "s", 15.0)

    db = open_db(db_path)
    end = dt.date(2030, 1, 1)
    seconds = best_of(5, lambda: read_panel(db, end, 260))
    panel = read_panel(db, end, 260)
    shape = f"{panel.close.shape[0]} x {panel.close.shape[1]}"
    report(f"read panel {shape} (best of 5)", seconds, "s", 0.3)
    db.execute("DELETE FROM bar_blocks")
    cold = best_of(1, lambda: read_panel(db, end, 260))
    report("read panel with every block rebuilt from bars (info)", cold, "s")


def main() -> None:
    print("== foundation (issue 2)")
    bench_help()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_real_import(folder)
        bench_synthetic_import_and_panel(folder)
