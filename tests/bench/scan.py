"""Issues 4, 6 and 12: the whole `scan` process and `backfill` on the demo market."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from tests.bench.common import report, run_command
from tests.bench.engines import build_demo_db


def last_date(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT max(date) FROM bars").fetchone()[0]


def bench_scan(db: Path) -> None:
    day = last_date(db)
    args = ["--db", str(db), "scan", "--version", "v1,v2,v3", "--no-notify", "--date", day]
    first_wall, first_rss = run_command(args)
    report("scan --version v1,v2,v3 --no-notify, first run (writes)", first_wall, "s", 0.8)
    report("  its peak RSS", first_rss, "MB", 250)
    runs = [run_command(args) for _ in range(3)]
    report("scan, rerun (best of 3)", min(w for w, _ in runs), "s", 0.8)
    report("  peak RSS (max of 3)", max(r for _, r in runs), "MB", 250)


def bench_backfill(db: Path, sessions: int = 250) -> None:
    with sqlite3.connect(db) as conn:
        dates = [r[0] for r in conn.execute("SELECT DISTINCT date FROM bars ORDER BY date")]
    start, end = dates[-sessions], dates[-1]
    args = ["--db", str(db), "backfill", "--from", start, "--to", end, "--version", "v2,v3"]
    runs = [run_command(args) for _ in range(3)]
    wall = min(w for w, _ in runs)
    report(f"backfill {sessions} sessions x (v2, v3), {start} … {end}, best of 3", wall, "s", 10)
    report("  its peak RSS (max of 3)", max(r for _, r in runs), "MB")
    wall, _ = run_command(["--db", str(db), "evaluate", "--horizon", "10", "--json"])
    report("evaluate over that year of picks (whole process)", wall, "s", 5)


def main() -> None:
    print("== scan and backfill (issues 4, 6)")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        build_demo_db(db)
        bench_scan(db)
        bench_backfill(db)


if __name__ == "__main__":
    main()
