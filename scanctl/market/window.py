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


class BarIndex:
    """Where every ticker's bars sit in a panel, so that windows are cut by gathering.

    Built once per panel (one cumulative count over the ``(S, N)`` validity flags); each
    window is then a gather of ``(L, K)`` cells for the K columns asked for, whatever the
    panel's depth: a backfill cuts hundreds of windows from one long panel, and the engines'
    windows are cut for the universe members only.
    """

    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        has_bar = panel.has_bar
        # counts[r, j]: bars of ticker j on rows ≤ r; rows_of[k, j]: the row of its k-th bar
        self.counts = np.cumsum(has_bar, axis=0, dtype=np.int32)
        depth = int(self.counts[-1].max()) if self.counts.size else 0
        self.rows_of = np.zeros((max(depth, 1), len(panel.codes)), dtype=np.int32)
        rows, cols = np.nonzero(has_bar)
        self.rows_of[self.counts[rows, cols] - 1, cols] = rows

    def window(self, day: dt.date, lookback: int, columns: np.ndarray | None = None) -> Window:
        """The right-aligned window of scan date ``day`` for ``columns`` (every ticker when
        None); the same cells as `evaluation_window` gives for those columns."""
        if lookback < 1:
            raise ValueError(f"lookback must be ≥ 1, got {lookback}")
        panel = self.panel
        cols = np.arange(len(panel.codes)) if columns is None else np.asarray(columns, np.intp)
        end = int(np.searchsorted(panel.dates, np.datetime64(day, "D"), side="right"))
        if end and len(cols):
            count = self.counts[end - 1, cols].astype(np.intp)
        else:
            count = np.zeros(len(cols), dtype=np.intp)
        n_bars = np.minimum(count, lookback)
        # the k-th bar of column j sits on row rows_of[k, j]; rows above the window are absent
        nth = count - lookback + np.arange(lookback)[:, None]
        absent = nth < 0
        rows = self.rows_of[np.maximum(nth, 0), cols]

        def cut(values: np.ndarray) -> np.ndarray:
            taken = values[rows, cols]
            taken[absent] = np.nan
            return taken

        has = n_bars > 0
        first = self.rows_of[np.where(has, count - n_bars, 0), cols]
        last = self.rows_of[np.where(has, count - 1, 0), cols]
        nat = np.datetime64("NaT")
        dates = panel.dates if len(panel.dates) else np.array([nat], dtype="datetime64[D]")
        first_date = np.where(has, dates[first], nat)
        last_date = np.where(has, dates[last], nat)
        return Window(
            date=day,
            codes=panel.codes[cols],
            open=cut(panel.open),
            high=cut(panel.high),
            low=cut(panel.low),
            close=cut(panel.close),
            volume=cut(panel.volume),
            value=cut(panel.value),
            n_bars=n_bars.astype(np.int64),
            bar_on_date=last_date == np.datetime64(day, "D"),
            first_date=first_date.astype("datetime64[D]"),
            last_date=last_date.astype("datetime64[D]"),
        )


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

    Raises
    ------
    ValueError
        ``lookback`` < 1.
    """
    return BarIndex(panel).window(day, lookback)
