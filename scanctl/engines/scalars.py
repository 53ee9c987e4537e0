"""The scalars of ENGINES.md §1.2: values on bar t (the last window row), for every ticker.

They read the `Indicators` series of the same window arrays (see `scanctl.engines.indicators`
for the window layout and the naming convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scanctl.engines.indicators import Indicators, as_window, freeze_arrays


@dataclass(frozen=True, eq=False)
class Scalars:
    """The scalars of ENGINES.md §1.2 on bar t (the last row), each ``(N,)`` and read-only.

    Floats are NaN when a bar they need is absent: R20 needs 21 bars; turnover20, H20,
    HIGH_AGE and PB_DEPTH 20; change_rate 2. A condition on an undefined value is false
    (§0.5), so the booleans (cross, crossed_recently, macd_golden_cross, macd_line_up) and
    the int64 counts (ABOVE_CNT5, up_days5, macd_duration) are always defined. HIGH_AGE is a
    float (whole numbers) so that it can be NaN. n_bars (int64): bars in each window.
    """

    ABOVE_CNT5: np.ndarray
    cross: np.ndarray
    crossed_recently: np.ndarray
    macd_golden_cross: np.ndarray
    macd_line_up: np.ndarray
    gap_now: np.ndarray
    ext_pct: np.ndarray
    turnover20: np.ndarray
    ATR_PCT: np.ndarray
    vol_ratio: np.ndarray
    macd_duration: np.ndarray
    up_days5: np.ndarray
    change_rate: np.ndarray
    R20: np.ndarray
    EMA60_SLOPE20_PCT: np.ndarray
    H20: np.ndarray
    HIGH_AGE: np.ndarray
    PB_DEPTH: np.ndarray
    DIST_EMA20: np.ndarray
    n_bars: np.ndarray

    def __post_init__(self) -> None:
        freeze_arrays(self)


def round2(x: np.ndarray) -> np.ndarray:
    """Python's ``round(value, 2)`` (half to even on the double) of every element.

    ``np.round`` scales by 100 before rounding and differs on some doubles: 1.005 is stored
    just below 1.005, so ``round`` gives 1.0 where ``np.round`` gives 1.01. NaN stays NaN.
    """
    values = np.asarray(x, dtype=np.float64)
    rounded = [round(value, 2) for value in values.ravel().tolist()]
    return np.array(rounded, dtype=np.float64).reshape(values.shape)


def last_bar_scalars(
    ind: Indicators,
    o: np.ndarray,
    h: np.ndarray,
    l: np.ndarray,  # noqa: E741
    c: np.ndarray,
    v: np.ndarray,
) -> Scalars:
    """The scalars of ENGINES.md §1.2 on bar t = the last row, for every ticker.

    Parameters
    ----------
    ind : Indicators
        `compute_indicators` of the same window arrays.
    o, h, l, c, v : ndarray, shape (L, N)
        The window arrays given to `compute_indicators`. No §1.2 scalar reads ``o``; it is
        taken so that both calls receive the same five panels.

    Returns
    -------
    Scalars
        Every field shape (N,).

    Raises
    ------
    ValueError
        An array is not 2-D or its shape differs from the indicators' (L, N).
    """
    shape = ind.TEMA20.shape
    for name, x in (("o", o), ("h", h), ("l", l), ("c", c), ("v", v)):
        if as_window(x, name).shape != shape:
            raise ValueError(f"{name} has shape {np.shape(x)}, the indicators {shape}")
    h, c, v = as_window(h, "h"), as_window(c, "c"), as_window(v, "v")
    n_rows, n_cols = shape
    nan_row = np.full(n_cols, np.nan)

    def back(x: np.ndarray, i: int) -> np.ndarray:
        """x_{t-i}; NaN when the window has no such row."""
        return x[n_rows - 1 - i] if i < n_rows else nan_row

    def crosses_above(upper: np.ndarray, lower: np.ndarray, i: int) -> np.ndarray:
        return (back(upper, i) > back(lower, i)) & (back(upper, i + 1) <= back(lower, i + 1))

    def count(conditions: list[np.ndarray]) -> np.ndarray:
        return np.sum(conditions, axis=0, dtype=np.int64)

    rising = np.ones(n_cols, dtype=bool)
    macd_duration = np.zeros(n_cols, dtype=np.int64)
    for i in range(10):
        rising &= back(ind.MACD_OSC, i) > back(ind.MACD_OSC, i + 1)
        macd_duration += rising

    turnover20, h20, high_age = nan_row.copy(), nan_row.copy(), nan_row.copy()
    if n_rows >= 20:
        turnover20 = c[n_rows - 20] * v[n_rows - 20]
        for k in range(n_rows - 19, n_rows):
            turnover20 += c[k] * v[k]  # added oldest first
        turnover20 /= 20
        highs20 = h[n_rows - 20 :]
        h20 = highs20.max(axis=0)
        high_age = (highs20[::-1] == h20).argmax(axis=0).astype(np.float64)  # the latest max
        high_age[np.isnan(h20)] = np.nan

    tema_t, c_t, c_prev = back(ind.TEMA20, 0), back(c, 0), back(c, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ext_pct = (c_t - tema_t) / tema_t
        ext_pct[tema_t == 0] = 0.0
        return Scalars(
            ABOVE_CNT5=count([back(ind.TEMA20, i) > back(ind.DEMA10, i) for i in range(5)]),
            cross=crosses_above(ind.TEMA20, ind.DEMA10, 0),
            crossed_recently=np.any(
                [crosses_above(ind.TEMA20, ind.DEMA10, i) for i in range(5)], axis=0
            ),
            macd_golden_cross=crosses_above(ind.MACD_LINE, ind.MACD_SIGNAL, 0),
            macd_line_up=back(ind.MACD_LINE, 0) > back(ind.MACD_SIGNAL, 0),
            gap_now=(tema_t - back(ind.DEMA10, 0)) / c_t,
            ext_pct=ext_pct,
            turnover20=turnover20,
            ATR_PCT=back(ind.ATR14, 0) / c_t,
            vol_ratio=back(v, 0) / back(ind.VOL_MA5, 0),
            macd_duration=macd_duration,
            up_days5=count([back(c, i) > back(c, i + 1) for i in range(5)]),
            change_rate=round2(((c_t - c_prev) / c_prev) * 100),
            R20=c_t / back(c, 20) - 1,
            EMA60_SLOPE20_PCT=back(ind.EMA60_SLOPE20, 0) / back(ind.EMA60, 0),
            H20=h20,
            HIGH_AGE=high_age,
            PB_DEPTH=1 - c_t / h20,
            DIST_EMA20=np.abs(c_t / back(ind.EMA20, 0) - 1),
            n_bars=np.count_nonzero(~np.isnan(c), axis=0).astype(np.int64),
        )
