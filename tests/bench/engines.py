"""Issue 3 figures: the three engines on the demo market (time, peak RSS), the vectorised
indicators against a per-ticker pandas loop, and daily pick counts on the real data."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import SHARED_KRX, peak_rss_mb, report

VERSIONS = ("v1", "v2", "v3")


def build_demo_db(path: Path, n_tickers: int = 2700, n_sessions: int = 400) -> None:
    from scanctl.providers.demo import install_demo_market
    from scanctl.store.db import open_db

    db = open_db(path)
    install_demo_market(db, n_tickers=n_tickers, n_sessions=n_sessions, seed=0)
    db.conn.close()


def child_engines(db_path: str) -> None:
    """Runs in its own process: time from panel in memory to ranked picks, then report RSS."""
    from scanctl.config import Config
    from scanctl.engines.params import RunParams
    from scanctl.jobs.prepare import load_market_data, prepare_inputs, run_engine
    from scanctl.store.db import open_db

    db = open_db(db_path)
    day = dt.date.fromisoformat(db.execute("SELECT max(date) FROM bars").fetchone()[0])
    params = RunParams.from_config(Config())
    data = load_market_data(db, day, 220, params.market)
    best = float("inf")
    counts = {}
    for _ in range(5):
        start = time.perf_counter()
        prepared = prepare_inputs(data, day, params, VERSIONS)
        results = {v: run_engine(v, prepared, params) for v in VERSIONS}
        best = min(best, time.perf_counter() - start)
        counts = {v: len(r.picks) for v, r in results.items()}
        del prepared, results  # each repetition stands alone, as in one scan process
    rss = peak_rss_mb()
    shape = list(data.panel.close.shape)
    print(json.dumps({"seconds": best, "rss_mb": rss, "picks": counts, "panel": shape}))


def bench_engines(db_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.engines", "child", str(db_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    panel = "x".join(str(n) for n in result["panel"])
    report(f"v1+v2+v3 from panel in memory ({panel}), best of 5", result["seconds"], "s", 0.5)
    report("peak RSS of that process", result["rss_mb"], "MB", 200)
    print(f"  picks on the last session: {result['picks']}")


def bench_pandas_ratio(db_path: Path) -> None:
    """Every §1.1 series: the vectorised library vs the legacy per-ticker pandas computation
    (`tests.bench.legacy.legacy_indicators`) over the same windows, bars already in memory."""
    import pandas as pd

    from scanctl.engines.compute import window_indicators
    from scanctl.market.window import evaluation_window
    from scanctl.store.db import open_db
    from scanctl.store.panel import read_panel
    from tests.bench.legacy import legacy_indicators

    db = open_db(db_path)
    day = dt.date.fromisoformat(db.execute("SELECT max(date) FROM bars").fetchone()[0])
    window = evaluation_window(read_panel(db, day, 280), day, 220)
    start = time.perf_counter()
    window_indicators(window)
    vectorised = time.perf_counter() - start

    start = time.perf_counter()
    for col in range(window.close.shape[1]):
        frame = pd.DataFrame(
            {name: getattr(window, name)[:, col] for name in ("close", "high", "low", "volume")}
        ).dropna()
        if len(frame):
            legacy_indicators(frame.reset_index(drop=True))
    loop = time.perf_counter() - start
    n = window.close.shape[1]
    report(f"indicators, vectorised, {n} tickers x 220", vectorised, "s")
    report(f"indicators, per-ticker pandas loop, {n} tickers", loop, "s")
    report("speed-up (goal >= 50x)", loop / vectorised, "x")


def bench_real_data_counts(folder: Path) -> None:
    if not (SHARED_KRX / "ohlcv.csv.gz").exists():
        print("real-data pick counts: skipped (../shared/data/krx absent)")
        return
    from scanctl.config import Config
    from scanctl.engines.params import RunParams
    from scanctl.jobs.prepare import load_market_data, prepare_inputs, run_engine
    from scanctl.market.calendar import KrxCalendar
    from scanctl.store.db import open_db
    from scanctl.store.importer import import_files

    db = open_db(folder / "real.db")
    import_files(
        db, SHARED_KRX / "ohlcv.csv.gz", SHARED_KRX / "tickers.csv", SHARED_KRX / "indexes.csv.gz"
    )
    params = RunParams.from_config(Config())
    sessions = KrxCalendar().sessions_in_range(dt.date(2025, 9, 1), dt.date(2025, 11, 28))
    start = time.perf_counter()
    print("  date        regime   v1 v2 v3")
    for day in sessions:
        data = load_market_data(db, day, 220, params.market)
        prepared = prepare_inputs(data, day, params, VERSIONS)
        counts = [len(run_engine(v, prepared, params).picks) for v in VERSIONS]
        regime = prepared.condition.final_regime
        print(f"  {day}  {regime:<8} {counts[0]:>2} {counts[1]:>2} {counts[2]:>2}")
    report(
        f"real data: {len(sessions)} sessions x 3 engines, no error",
        time.perf_counter() - start,
        "s",
    )


def main() -> None:
    print("== engines (issue 3)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db_path = folder / "demo.db"
        build_demo_db(db_path)
        bench_engines(db_path)
        bench_pandas_ratio(db_path)
        bench_real_data_counts(folder)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "child":
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        child_engines(sys.argv[2])
    else:
        main()
