"""The evaluation window of ENGINES.md §0.4, for every ticker at once.

For scan date D and lookback L, ticker i's window is its last min(L, n) bars dated ≤ D. Halts
leave no row, so windows of different tickers cover different dates; `evaluation_window`
right-aligns them: row L-1 of every column is the ticker's last bar ≤ D and a ticker with fewer
than L bars has leading NaN rows. The indicator library works on exactly this layout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from scanctl.store.panel import Panel


@dataclass(frozen=True, eq=False)
class Window:
    """Right-aligned windows of every panel ticker for one scan date.

    Attributes
    ----------
    date
        The scan date D.
    codes
        ``(N,)`` ticker codes (the panel's).
    open, high, low, close, volume, value
        ``(L, N)`` float64, leading NaN where a ticker has fewer than L bars.
    n_bars
        ``(N,)`` int: bars in each window (0 … L).
    bar_on_date
        ``(N,)`` bool: the window's last bar is dated D.
    first_date, last_date
        ``(N,)`` ``datetime64[D]`` of the window's first and last bar (NaT when empty).
    """

    date: dt.date
    codes: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    value: np.ndarray
    n_bars: np.ndarray
    bar_on_date: np.ndarray
    first_date: np.ndarray
    last_date: np.ndarray

    @property
    def lookback(self) -> int:
        return self.close.shape[0]


def evaluation_window(panel: Panel, day: dt.date, lookback: int) -> Window:
    """Cut the right-aligned window of every ticker for scan date ``day``.

    Parameters
    ----------
    panel
        Bars read up to at least ``day``; rows after ``day`` are ignored.
    day
        The scan date D.
    lookback
        L, the maximum number of bars in a window (≥ 1).

    Returns
    -------
    Window
        With ``(lookback, N)`` arrays. A panel that starts after a ticker's L-th last bar gives
        that ticker a shorter window: read enough dates (see `scan` for the margin it uses).
    """
    if lookback < 1:
        raise ValueError(f"lookback must be ≥ 1, got {lookback}")
    end = int(np.searchsorted(panel.dates, np.datetime64(day, "D"), side="right"))
    n_codes = len(panel.codes)
    n_rows = min(lookback, end)
    # Stable sort of the validity flags puts each column's absent rows first and keeps the bars
    # in date order after them: the last `n_rows` rows are the right-aligned window.
    valid = ~np.isnan(panel.close[:end])
    order = np.ascontiguousarray(np.argsort(valid, axis=0, kind="stable")[end - n_rows :])
    del valid

    def cut(values: np.ndarray) -> np.ndarray:
        taken = np.take_along_axis(values[:end], order, axis=0)
        if n_rows == lookback:
            return taken
        out = np.full((lookback, n_codes), np.nan)
        out[lookback - n_rows :] = taken
        return out

    closes = cut(panel.close)
    n_bars = np.isfinite(closes).sum(axis=0)
    columns = np.arange(n_codes)
    nat = np.datetime64("NaT")
    if n_rows:
        first_row = np.clip(n_rows - n_bars, 0, n_rows - 1)
        first_date = np.where(n_bars > 0, panel.dates[order[first_row, columns]], nat)
        last_date = np.where(n_bars > 0, panel.dates[order[-1]], nat)
    else:
        first_date = last_date = np.full(n_codes, nat, dtype="datetime64[D]")
    return Window(
        date=day,
        codes=panel.codes,
        open=cut(panel.open),
        high=cut(panel.high),
        low=cut(panel.low),
        close=closes,
        volume=cut(panel.volume),
        value=cut(panel.value),
        n_bars=n_bars.astype(np.int64),
        bar_on_date=last_date == np.datetime64(day, "D"),
        first_date=first_date,
        last_date=last_date,
    )
