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
    """The v2 indicator set: vectorised library vs a per-ticker pandas loop."""
    import numpy as np
    import pandas as pd

    from scanctl.engines.compute import window_indicators
    from scanctl.market.window import evaluation_window
    from scanctl.store.db import open_db
    from scanctl.store.panel import read_panel

    db = open_db(db_path)
    day = dt.date.fromisoformat(db.execute("SELECT max(date) FROM bars").fetchone()[0])
    window = evaluation_window(read_panel(db, day, 280), day, 220)
    start = time.perf_counter()
    window_indicators(window)
    vectorised = time.perf_counter() - start

    def per_ticker(col: int) -> dict[str, float]:
        frame = pd.DataFrame(
            {
                "c": window.close[:, col],
                "h": window.high[:, col],
                "l": window.low[:, col],
                "v": window.volume[:, col],
            }
        ).dropna()
        c, v = frame["c"], frame["v"]

        def ema(x, n):
            return x.ewm(span=n, adjust=False).mean()

        e1 = ema(c, 20)
        e2 = ema(e1, 20)
        tema = 3 * (e1 - e2) + ema(e2, 20)
        dema = 2 * ema(c, 10) - ema(ema(c, 10), 10)
        macd = ema(c, 12) - ema(c, 26)
        signal = ema(macd, 9)
        delta = c.diff()
        g, loss = delta.clip(lower=0), (-delta).clip(lower=0)
        tg = 3 * (ema(g, 14) - ema(ema(g, 14), 14)) + ema(ema(ema(g, 14), 14), 14)
        tl = 3 * (ema(loss, 14) - ema(ema(loss, 14), 14)) + ema(ema(ema(loss, 14), 14), 14)
        rsi_tema = (100 - 100 / (1 + tg / tl)).fillna(50)
        dg = 2 * ema(g.fillna(0), 14) - ema(ema(g.fillna(0), 14), 14)
        dl = 2 * ema(loss.fillna(0), 14) - ema(ema(loss.fillna(0), 14), 14)
        rsi_dema = (100 - 100 / (1 + dg / dl)).fillna(50)
        obv = (np.sign(delta.fillna(0)) * v).cumsum()
        weights = np.arange(20) - 9.5

        def slope(y):
            return y.rolling(20).apply(
                lambda w: float(np.dot(weights, w - w.mean()) / 665), raw=True
            )

        tr = pd.concat(
            [
                frame["h"] - frame["l"],
                (frame["h"] - c.shift()).abs(),
                (frame["l"] - c.shift()).abs(),
            ],
            axis=1,
        ).max(axis=1)
        return {
            "tema": tema.iloc[-1],
            "dema": dema.iloc[-1],
            "osc": (macd - signal).iloc[-1],
            "rsi_tema": rsi_tema.iloc[-1],
            "rsi_dema": rsi_dema.iloc[-1],
            "vma5": v.rolling(5).mean().iloc[-1],
            "vma20": v.rolling(20).mean().iloc[-1],
            "tema_slope": slope(tema).iloc[-1],
            "obv_slope": slope(obv).iloc[-1],
            "dema_slope": slope(dema).iloc[-1],
            "atr": tr.rolling(14).mean().iloc[-1],
            "turnover20": (c * v).rolling(20).mean().iloc[-1],
        }

    start = time.perf_counter()
    for col in range(window.close.shape[1]):
        per_ticker(col)
    loop = time.perf_counter() - start
    n = window.close.shape[1]
    report(f"v2 indicators, vectorised, {n} tickers x 220", vectorised, "s")
    report(f"v2 indicators, per-ticker pandas loop, {n} tickers", loop, "s")
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
