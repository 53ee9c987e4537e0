import dataclasses
import datetime as dt

import numpy as np

from scanctl.engines.compute import window_indicators
from scanctl.engines.indicators import Indicators, compute_indicators
from scanctl.engines.scalars import Scalars, last_bar_scalars
from scanctl.market.window import evaluation_window
from scanctl.store.panel import Panel


def random_panel(n_dates=90, n_codes=37, seed=5) -> Panel:
    rng = np.random.default_rng(seed)
    close = 1000 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_dates, n_codes)), axis=0))
    close[rng.random(close.shape) < 0.05] = np.nan  # halts
    close[:30, :5] = np.nan  # recent listings
    dates = np.datetime64("2025-01-01") + np.arange(n_dates)
    return Panel(
        dates=dates,
        codes=np.array([f"{i:06d}" for i in range(n_codes)], dtype="U6"),
        open=close * 1.01,
        high=close * 1.03,
        low=close * 0.98,
        close=close,
        volume=np.where(np.isnan(close), np.nan, rng.integers(1, 10**6, close.shape)),
        value=close * 10,
    )


def test_chunked_tail_equals_full_computation():
    panel = random_panel()
    window = evaluation_window(panel, dt.date(2025, 3, 31), 60)
    arrays = (window.open, window.high, window.low, window.close, window.volume)
    full = compute_indicators(*arrays)
    full_scalars = last_bar_scalars(full, *arrays)
    indicators, scalars = window_indicators(window, tail=7, chunk=8)  # several uneven chunks
    for field in dataclasses.fields(Indicators):
        got, want = getattr(indicators, field.name), getattr(full, field.name)[-7:]
        assert got.shape == (7, 37)
        np.testing.assert_array_equal(got, want, err_msg=field.name)
    for field in dataclasses.fields(Scalars):
        got, want = getattr(scalars, field.name), getattr(full_scalars, field.name)
        assert got.dtype == want.dtype, field.name
        np.testing.assert_array_equal(got, want, err_msg=field.name)
