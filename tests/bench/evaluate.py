"""`scanctl evaluate` figures: a year of v2 and v3 picks on the 2,700-ticker demo market.

Budget (issue text): `evaluate` over 250 sessions × v2, v3 on a 2,700-ticker demo market ≤ 5 s.
Run with ``python -m tests.bench.evaluate``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.bench.common import report

N_TICKERS = 2700
N_SESSIONS = 260
PICK_SESSIONS = 250
PINNED_NOW = "2025-11-28T18:00:00"
# Guidance per strategy (ENGINES.md §4.4 for v2, §7.2/§7.3 for v3); 관찰 carries nulls.
V2_GUIDANCE = {
    "스윙": (0.05, -0.05, 10),
    "포지션": (0.10, -0.07, 60),
    "장기": (0.15, -0.10, 120),
    "관찰": (None, None, None),
}
V3_GUIDANCE = {"midterm": (0.10, -0.07, 15), "v2_lite": (0.05, -0.02, 14)}


def build_market(path: Path) -> dict:
    from scanctl.providers.demo import install_demo_market
    from scanctl.store.db import open_db

    os.environ["SCANCTL_NOW"] = PINNED_NOW
    db = open_db(path)
    info = install_demo_market(db, n_tickers=N_TICKERS, n_sessions=N_SESSIONS, seed=0)
    db.conn.close()
    return info


def insert_picks(path: Path, seed: int = 7) -> int:
    """5 v2 and 10 v3 picks (7 midterm, 3 v2_lite) on each of the first 250 sessions, anchored
    at the stored close, plus a v1 NORESULT placeholder per session; returns the pick count."""
    from scanctl.store.db import open_db, write_transaction
    from scanctl.store.panel import read_panel

    db = open_db(path)
    last = dt.date.fromisoformat(db.execute("SELECT max(date) FROM bars").fetchone()[0])
    panel = read_panel(db, last, N_SESSIONS)
    rng = np.random.default_rng(seed)
    rows = []
    for row, day in enumerate(panel.dates[:PICK_SESSIONS]):
        traded = np.flatnonzero(panel.has_bar[row])
        chosen = rng.choice(traded, size=15, replace=False)
        strategies = [*rng.choice(list(V2_GUIDANCE), size=5), *["midterm"] * 7, *["v2_lite"] * 3]
        for k, (col, strategy) in enumerate(zip(chosen, strategies, strict=True)):
            version = "v2" if k < 5 else "v3"
            target, stop, hold = (V2_GUIDANCE | V3_GUIDANCE)[strategy]
            flags = {"target_profit": target, "stop_loss": stop, "holding_period": hold}
            close = int(panel.close[row, col])
            rank = k + 1 if k < 5 else (k - 4 if k < 12 else k - 11)
            rows.append(
                (str(day), str(panel.codes[col]), version, strategy, json.dumps(flags), rank, close)
            )
        rows.append((str(day), "NORESULT", "v1", None, '{"no_result": true}', None, None))
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO scan_rank (date, code, scanner_version, strategy, flags, rank, "
            "close_price, anchor_close, anchor_date, anchor_price_type) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'CLOSE')",
            [(*r, r[-1], r[0]) for r in rows],
        )
    db.conn.close()
    return sum(1 for r in rows if r[1] != "NORESULT")


def bench_evaluate(path: Path, picks: int) -> None:
    from scanctl.reports.evaluate import evaluate_picks
    from scanctl.reports.evaluate_plot import write_plot
    from scanctl.store.db import open_db

    timings = []
    for _ in range(3):  # a fresh connection each time: nothing cached between runs
        db = open_db(path)
        start = time.perf_counter()
        evaluation = evaluate_picks(db, ("v2", "v3"), None, None, 10)
        timings.append(time.perf_counter() - start)
        db.conn.close()
    report(
        f"evaluate_picks, {picks} picks on {N_TICKERS}x{N_SESSIONS} (first run)",
        timings[0],
        "s",
        5.0,
    )
    report("evaluate_picks, best of the next two", min(timings[1:]), "s", 5.0)
    plot = path.with_suffix(".png")
    start = time.perf_counter()
    write_plot(evaluation, plot)
    report("write_plot (matplotlib import included)", time.perf_counter() - start, "s")
    for summary in evaluation.by_version:
        print(
            f"  {summary.version}: {summary.picks} picks, {summary.closed} closed, "
            f"hit rate {summary.hit_rate:.1%}, mean {summary.mean_return:+.2%}, "
            f"universe {summary.benchmark_return:+.2%}"
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "evaluate.db"
        start = time.perf_counter()
        build_market(path)
        picks = insert_picks(path)
        print(f"  demo market and picks built in {time.perf_counter() - start:.1f} s")
        bench_evaluate(path, picks)


if __name__ == "__main__":
    main()
