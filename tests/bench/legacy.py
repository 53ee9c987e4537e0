"""Issue 12: the legacy design, a per-ticker pandas loop, end to end against today's scan.

The loop does what the legacy scanner did for every ticker with a bar on the scan date: read
its last `LOOKBACK` bars from SQLite with pandas, compute every ENGINES.md §1.1 series with
pandas, keep the last values. Its values are checked equal (1e-9 relative) to the vectorised
library's on the same tickers before the two are timed; the ratio compares the loop with the
whole `scan --version v1,v2,v3` process, which also runs the engines and stores the picks.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.bench.common import report, run_command
from tests.bench.engines import build_demo_db

LOOKBACK = 220
GOAL_RATIO = 60


def legacy_indicators(frame) -> dict[str, float]:
    """The last value of every §1.1 series of one ticker's bars (oldest first), in pandas."""
    import pandas as pd

    c, h, low, v = frame["close"], frame["high"], frame["low"], frame["volume"]

    def ema(x, n):
        return x.ewm(span=n, adjust=False).mean()

    def tema(x, n):
        e1 = ema(x, n)
        e2 = ema(e1, n)
        return 3 * (e1 - e2) + ema(e2, n)

    def dema(x, n):
        e1 = ema(x, n)
        return 2 * e1 - ema(e1, n)

    def rsi(num, den):
        out = 100 - 100 / (1 + num / den.where(den != 0))
        return out.where(np.isfinite(out), 50.0)

    weights = np.arange(20) - 9.5

    def slope(y):
        return y.rolling(20).apply(lambda w: float(np.dot(weights, w) / 665), raw=True)

    delta = c.diff()
    gains, losses = delta.clip(lower=0), (-delta).clip(lower=0)
    line = ema(c, 12) - ema(c, 26)
    signal = ema(line, 9)
    obv = (np.sign(delta).fillna(0) * v).cumsum()
    tr = pd.concat([h - low, (h - c.shift()).abs(), (low - c.shift()).abs()], axis=1).max(axis=1)
    wilder = pd.Series(np.nan, index=c.index)  # only its last value is compared
    if len(c) >= 15:
        ag, al = gains.iloc[1:15].mean(), losses.iloc[1:15].mean()
        for gain, loss in zip(gains.iloc[15:], losses.iloc[15:], strict=True):
            ag, al = (13 * ag + gain) / 14, (13 * al + loss) / 14
        wilder.iloc[-1] = 100 - 100 / (1 + ag / al) if al > 0 else (100.0 if ag > 0 else 50.0)
    series = {
        "TEMA20": tema(c, 20),
        "DEMA10": dema(c, 10),
        "EMA20": ema(c, 20),
        "EMA60": ema(c, 60),
        "MACD_LINE": line,
        "MACD_SIGNAL": signal,
        "MACD_OSC": line - signal,
        "RSI_TEMA": rsi(tema(gains, 14), tema(losses, 14)),
        "RSI_DEMA": rsi(dema(gains.fillna(0), 14), dema(losses.fillna(0), 14)),
        "RSI14": wilder,
        "OBV": obv,
        "VOL_MA5": v.rolling(5).mean(),
        "VMA20": v.rolling(20).mean(),
        "TEMA20_SLOPE20": slope(tema(c, 20)),
        "OBV_SLOPE20": slope(obv),
        "DEMA10_SLOPE20": slope(dema(c, 10)),
        "EMA60_SLOPE20": slope(ema(c, 60)),
        "TR": tr,
        "ATR14": tr.rolling(14).mean(),
    }
    return {name: float(values.iloc[-1]) for name, values in series.items()}


def legacy_scan(db_path: Path, day: str) -> dict[str, dict[str, float]]:
    """The per-ticker loop over every ticker with a bar on ``day``."""
    import pandas as pd

    conn = sqlite3.connect(db_path)
    try:
        codes = [r[0] for r in conn.execute("SELECT code FROM bars WHERE date = ?", (day,))]
        out = {}
        for code in codes:
            frame = pd.read_sql_query(
                "SELECT date, open, high, low, close, volume FROM bars "
                "WHERE code = ? AND date <= ? ORDER BY date DESC LIMIT ?",
                conn,
                params=(code, day, LOOKBACK),
            ).iloc[::-1]
            out[code] = legacy_indicators(frame.reset_index(drop=True))
        return out
    finally:
        conn.close()


def check_equal(db_path: Path, day: str, legacy: dict[str, dict[str, float]]) -> int:
    """Compare the loop's values with the library's; returns the number of values checked."""
    from scanctl.engines.compute import window_indicators
    from scanctl.market.window import evaluation_window
    from scanctl.store.db import open_db
    from scanctl.store.panel import read_panel

    db = open_db(db_path)
    date = dt.date.fromisoformat(day)
    window = evaluation_window(read_panel(db, date, LOOKBACK + 60), date, LOOKBACK)
    indicators, _ = window_indicators(window)
    db.conn.close()
    checked = 0
    for col, code in enumerate(window.codes):
        if str(code) not in legacy:
            continue
        for name, value in legacy[str(code)].items():
            mine = float(getattr(indicators, name)[-1, col])
            if np.isnan(mine) and np.isnan(value):
                continue
            scale = max(abs(mine), abs(value), 1.0)
            assert abs(mine - value) <= 1e-9 * scale, (code, name, mine, value)
            checked += 1
    return checked


def main() -> None:
    print("== the legacy per-ticker pandas loop, end to end (issue 12)")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        build_demo_db(db)
        with sqlite3.connect(db) as conn:
            day = conn.execute("SELECT max(date) FROM bars").fetchone()[0]
        start = time.perf_counter()
        legacy = legacy_scan(db, day)
        loop = time.perf_counter() - start
        checked = check_equal(db, day, legacy)
        print(f"  values checked equal (1e-9 relative): {checked} over {len(legacy)} tickers")
        args = ["--db", str(db), "scan", "--version", "v1,v2,v3", "--no-notify", "--date", day]
        run_command(args)  # the first run writes; the reruns below are what a rerun costs
        scan = min(run_command(args)[0] for _ in range(3))
        report(f"per-ticker pandas loop, {len(legacy)} tickers (read + indicators)", loop, "s")
        report("scan --version v1,v2,v3, whole process (best of 3)", scan, "s", 0.8)
        report(f"ratio, loop / scan (goal >= {GOAL_RATIO}x)", loop / scan, "x")


if __name__ == "__main__":
    main()
