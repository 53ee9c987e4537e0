"""Indicators and scalars of a whole evaluation window, computed in ticker chunks.

The series of ENGINES.md §1.1 are recursions over the whole window, but the engines read only
the last few rows of them (bar t and a few bars before: slopes, crosses, touches). Computing
the window in chunks of tickers and keeping only the last `tail` rows of every series bounds the
memory of a 2,700-ticker scan (19 full series would be 90 MB) without changing a single value:
each chunk is the same column-wise computation, and columns never interact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

import numpy as np

from scanctl.engines.indicators import Indicators, compute_indicators
from scanctl.engines.scalars import Scalars, last_bar_scalars
from scanctl.market.window import Window

TAIL_ROWS = 32  # rows of each series kept: the deepest read is v3's touch rule (3 bars)
CHUNK_TICKERS = 512


def window_indicators(
    window: Window, tail: int = TAIL_ROWS, chunk: int = CHUNK_TICKERS
) -> tuple[Indicators, Scalars]:
    """`compute_indicators` and `last_bar_scalars` of ``window``, chunk by chunk.

    Parameters
    ----------
    window
        The right-aligned evaluation window, ``(L, N)`` arrays.
    tail
        Rows of each series kept (the last ones; at most L).
    chunk
        Tickers computed at once.

    Returns
    -------
    (Indicators, Scalars)
        Series of shape ``(min(tail, L), N)`` whose last row is bar t; scalars ``(N,)``.
    """
    return batch_indicators([window], tail, chunk)[0]


def batch_indicators(
    windows: Sequence[Window], tail: int = TAIL_ROWS, chunk: int = CHUNK_TICKERS
) -> list[tuple[Indicators, Scalars]]:
    """`window_indicators` of several windows of one lookback (a backfill's dates) at once.

    The windows' columns are laid side by side and computed together: the recursions step
    through the L rows once for all of them instead of once per window, and every column gets
    exactly the values it would get alone.
    """
    lookbacks = {window.lookback for window in windows}
    if len(lookbacks) > 1:
        raise ValueError(f"windows of one lookback expected, got {sorted(lookbacks)}")
    bounds = np.cumsum([0] + [len(window.codes) for window in windows])
    panels = [
        np.concatenate([getattr(window, name) for window in windows], axis=1)
        if len(windows) > 1
        else getattr(windows[0], name)
        for name in ("open", "high", "low", "close", "volume")
    ]
    series, scalars = _chunked(panels, tail, chunk)
    return [
        (
            Indicators(**{name: out[:, lo:hi] for name, out in series.items()}),
            Scalars(**{name: out[lo:hi] for name, out in scalars.items()}),
        )
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def _chunked(
    panels: list[np.ndarray], tail: int, chunk: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every series (last ``tail`` rows) and scalar of the five ``(L, N)`` panels."""
    n_rows, n_tickers = panels[0].shape
    keep = min(tail, n_rows)
    series = {f.name: np.empty((keep, n_tickers)) for f in fields(Indicators)}
    scalars: dict[str, np.ndarray] = {}
    for start in range(0, max(n_tickers, 1), chunk):  # one pass even with no ticker
        cols = slice(start, start + chunk)
        arrays = [panel[:, cols] for panel in panels]
        part = compute_indicators(*arrays)
        part_scalars = last_bar_scalars(part, *arrays)
        for name, out in series.items():
            out[:, cols] = getattr(part, name)[-keep:]
        for field in fields(Scalars):
            value = getattr(part_scalars, field.name)
            if field.name not in scalars:
                scalars[field.name] = np.empty(n_tickers, dtype=value.dtype)
            scalars[field.name][cols] = value
        del part, part_scalars
    return series, scalars
