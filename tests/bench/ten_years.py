"""Issue 12: ten years of history (2,700 tickers x 2,500 sessions): the backfill of every
session with v2 and v3, whole process, against 120 s and 1 GB."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from tests.bench.common import report, run_command
from tests.bench.engines import build_demo_db

TICKERS, SESSIONS = 2700, 2500


def bench_backfill_all(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        first, last = conn.execute("SELECT min(date), max(date) FROM bars").fetchone()
    args = ["--db", str(db), "backfill", "--from", first, "--to", last, "--version", "v2,v3"]
    wall, rss = run_command(args)
    report(f"backfill of all {SESSIONS} sessions x (v2, v3), {TICKERS} tickers", wall, "s", 120)
    report("  its peak RSS", rss, "MB", 1024)


def main() -> None:
    print("== ten years of history (issue 12)")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ten-years.db"
        build_demo_db(db, n_tickers=TICKERS, n_sessions=SESSIONS)
        bench_backfill_all(db)


if __name__ == "__main__":
    main()
