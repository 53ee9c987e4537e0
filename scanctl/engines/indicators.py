"""The indicator library of ENGINES.md §1, vectorised over tickers.

Every function takes **window arrays**: float64 ``(L, N)`` arrays, L = lookback rows, N tickers.
Column i is ticker i's window of its last min(lookback, n) bars (ENGINES.md §0.4),
right-aligned: row L-1 is the bar on the scan date D (bar t of §0.6) and a ticker with fewer
than L bars has leading NaN rows, never a NaN after its first bar. "The window's first bar" of a
column is its first non-NaN row f, and every recursion starts there, per column: EMAs are
seeded with x_f, OBV_f = 0, TR_f = h_f - l_f, RSI14 is seeded 14 bars after f. A padded column
therefore gives the same values as the same bars without padding, bit for bit. Rows before f
are NaN in every output, including the RSI series whose undefined values §1.1 replaces by 50.

Recursions loop over rows and update every ticker at once; window reductions are direct sums of
shifted rows (no running sums, no O(L²) work). Results are written in place where the formula
allows, because first-touching fresh memory costs as much as the arithmetic at this size.

Names: fields are spelled exactly as the ENGINES.md names they hold, case included: the series
of §1.1 in `Indicators` (``TEMA20``, ``MACD_OSC``, ``VOL_MA5`` ...), the scalars of §1.2 in
`Scalars` (``ABOVE_CNT5``, ``cross``, ``macd_duration``, ``R20``, ``HIGH_AGE`` ...; module
`scanctl.engines.scalars`), plus ``n_bars``. Panels use the one-letter names of §0.6: o, h, l, c, v.

The EMA family lives in `scanctl.engines.smoothing`, the RSI family in `scanctl.engines.rsi`;
both are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from scanctl.engines.rsi import rsi14_wilder, rsi_dema, rsi_tema
from scanctl.engines.smoothing import (
    NAN,
    as_window,
    dema,
    ema,
    first_rows,
    seeded_ema,
    seeds_at,
    sma,
    tema,
)

__all__ = [
    "Indicators",
    "as_window",
    "atr14",
    "compute_indicators",
    "dema",
    "ema",
    "freeze_arrays",
    "macd",
    "obv",
    "rsi14_wilder",
    "rsi_dema",
    "rsi_tema",
    "slope20",
    "sma",
    "tema",
    "true_range",
]


def slope20(y: np.ndarray) -> np.ndarray:
    """SLOPE20(y) (§1.1): least-squares slope of the last 20 values against x = 0 … 19.

    Evaluated as Σ_{i=0..9} (9.5 - i)·(y_{k-i} - y_{k-19+i}) / 665: the spec's
    Σ (i - 9.5)·(y_{k-19+i} - ȳ) / 665 with the terms of weight ±(9.5 - i) paired, which
    cancels ȳ exactly (the weights sum to 0). Differencing first keeps the precision of the
    change rather than of the level, and 20 equal values give exactly 0.

    Parameters
    ----------
    y : ndarray, shape (L, N)
        Window array.

    Returns
    -------
    ndarray, shape (L, N)
        In y units per bar.

    Lookback
    --------
    19 rows after the column's first defined value.

    NaN
    ---
    If any of the 20 values is NaN (so every row when L < 20).
    """
    y = as_window(y, "y")
    out = np.full_like(y, NAN)
    n_out = y.shape[0] - 19
    if n_out > 0:
        total, term = out[19:], np.empty((n_out, y.shape[1]))
        np.subtract(y[19:], y[:n_out], out=total)
        np.multiply(total, 9.5, out=total)
        for i in range(1, 10):
            np.subtract(y[19 - i : 19 - i + n_out], y[i : i + n_out], out=term)
            np.multiply(term, 9.5 - i, out=term)
            np.add(total, term, out=total)
        np.divide(total, 665.0, out=total)
    return out


def true_range(h: np.ndarray, l: np.ndarray, c: np.ndarray) -> np.ndarray:  # noqa: E741
    """TR (§1.1): TR_f = h_f - l_f at the first bar f, then
    TR_k = max(h_k - l_k, |h_k - c_{k-1}|, |l_k - c_{k-1}|).

    Parameters
    ----------
    h, l, c : ndarray, shape (L, N)
        Window arrays of highs, lows and closes, NaN on the same rows.

    Returns
    -------
    ndarray, shape (L, N)

    Lookback
    --------
    0.

    NaN
    ---
    Before the first bar.
    """
    h, l, c = as_window(h, "h"), as_window(l, "l"), as_window(c, "c")  # noqa: E741
    out = np.subtract(h, l)
    if h.shape[0] > 1:
        gap = np.empty((h.shape[0] - 1, h.shape[1]))
        for edge in (h, l):
            np.subtract(edge[1:], c[:-1], out=gap)
            np.abs(gap, out=gap)
            np.fmax(out[1:], gap, out=out[1:])  # skips the NaN c_{f-1}: TR_f = h_f - l_f
    return out


def atr14(h: np.ndarray, l: np.ndarray, c: np.ndarray) -> np.ndarray:  # noqa: E741
    """ATR14 (§1.1): mean(TR_{k-13} … TR_k), a plain 14-bar mean (not Wilder smoothing).

    Parameters
    ----------
    h, l, c : ndarray, shape (L, N)
        Window arrays of highs, lows and closes, NaN on the same rows.

    Returns
    -------
    ndarray, shape (L, N)

    Lookback
    --------
    13.

    NaN
    ---
    Before the column's 14th bar.
    """
    return sma(true_range(h, l, c), 14)


def obv(c: np.ndarray, v: np.ndarray) -> np.ndarray:
    """OBV (§1.1): OBV_f = 0, OBV_k = OBV_{k-1} + sign(c_k - c_{k-1})·v_k, sign(0) = 0.

    Parameters
    ----------
    c, v : ndarray, shape (L, N)
        Window arrays of closes and volumes, NaN on the same rows.

    Returns
    -------
    ndarray, shape (L, N)

    Lookback
    --------
    0.

    NaN
    ---
    Before the first bar.
    """
    c, v = as_window(c, "c"), as_window(v, "v")
    out = np.empty_like(c)
    out[:1] = 0.0
    np.subtract(c[1:], c[:-1], out=out[1:])
    np.sign(out, out=out)
    np.multiply(out, v, out=out)
    np.copyto(out, 0.0, where=np.isnan(out))  # the first bar (and the rows before it) add 0
    np.cumsum(out, axis=0, out=out)  # sequential, as the recursion OBV_{k-1} + step_k
    out[np.isnan(c)] = NAN
    return out


def macd(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD (§1.1): line = EMA_12(c) - EMA_26(c), signal = EMA_9(line), osc = line - signal.

    Parameters
    ----------
    c : ndarray, shape (L, N)
        Window array of closes.

    Returns
    -------
    (MACD_LINE, MACD_SIGNAL, MACD_OSC) : tuple of ndarray, each shape (L, N)

    Lookback
    --------
    0: the three EMAs are seeded at the first bar.

    NaN
    ---
    Before the first bar.
    """
    c = as_window(c, "c")
    seeds = seeds_at(first_rows(c), c.shape[0])
    line = seeded_ema(c, 12, seeds)
    np.subtract(line, seeded_ema(c, 26, seeds), out=line)
    signal = seeded_ema(line, 9, seeds)
    return line, signal, np.subtract(line, signal)


def freeze_arrays(record: object) -> None:
    """Make every array field of a frozen record read-only."""
    for field in fields(record):
        value = getattr(record, field.name)
        if isinstance(value, np.ndarray):
            value.flags.writeable = False


@dataclass(frozen=True, eq=False)
class Indicators:
    """The series of ENGINES.md §1.1, each ``(L, N)`` float64 and read-only.

    NaN before each column's first bar f. First defined row: f + 4 for VOL_MA5, f + 13 for
    ATR14, f + 14 for RSI14, f + 19 for VMA20 and the four slopes, f for the others.
    """

    TEMA20: np.ndarray
    DEMA10: np.ndarray
    EMA20: np.ndarray
    EMA60: np.ndarray
    MACD_LINE: np.ndarray
    MACD_SIGNAL: np.ndarray
    MACD_OSC: np.ndarray
    RSI_TEMA: np.ndarray
    RSI_DEMA: np.ndarray
    RSI14: np.ndarray
    OBV: np.ndarray
    VOL_MA5: np.ndarray
    VMA20: np.ndarray
    TEMA20_SLOPE20: np.ndarray
    OBV_SLOPE20: np.ndarray
    DEMA10_SLOPE20: np.ndarray
    EMA60_SLOPE20: np.ndarray
    TR: np.ndarray
    ATR14: np.ndarray

    def __post_init__(self) -> None:
        freeze_arrays(self)

    @property
    def VMA5(self) -> np.ndarray:
        """The spec's other name of VOL_MA5 (§1.1 "VOL_MA5 (= VMA5)")."""
        return self.VOL_MA5


def _check_panels(**panels: np.ndarray) -> list[np.ndarray]:
    """The window arrays as float64; ValueError on shapes, NaN layout or NaN disagreement."""
    arrays = {name: as_window(x, name) for name, x in panels.items()}
    shape = arrays["c"].shape
    for name, arr in arrays.items():
        if arr.shape != shape:
            raise ValueError(f"{name} has shape {arr.shape} but c has shape {shape}")
    valid = ~np.isnan(arrays["c"])
    gaps = np.flatnonzero((valid[:-1] & ~valid[1:]).any(axis=0))
    if gaps.size:
        raise ValueError(
            f"c has a NaN after the first bar in {gaps.size} column(s), first {gaps[:5].tolist()}; "
            "window arrays are right-aligned with NaN only in leading rows"
        )
    for name, arr in arrays.items():
        odd = np.flatnonzero((np.isnan(arr) == valid).any(axis=0))
        if odd.size:
            raise ValueError(
                f"{name} and c disagree on which rows are NaN in {odd.size} column(s), first "
                f"{odd[:5].tolist()}; a bar has all five fields or is absent"
            )
    return list(arrays.values())


def compute_indicators(
    o: np.ndarray,
    h: np.ndarray,
    l: np.ndarray,  # noqa: E741
    c: np.ndarray,
    v: np.ndarray,
) -> Indicators:
    """Compute every series of ENGINES.md §1.1 once, for all tickers.

    Parameters
    ----------
    o, h, l, c, v : ndarray, shape (L, N)
        Window arrays of opens, highs, lows, closes and volumes: right-aligned (row L-1 is the
        bar on D), NaN only in a column's leading rows, on the same cells in all five.

    Returns
    -------
    Indicators
        Every field shape (L, N).

    Raises
    ------
    ValueError
        An array is not 2-D, the shapes differ, a column of c has a NaN after its first bar,
        or the arrays disagree on which cells are NaN.
    """
    o, h, l, c, v = _check_panels(o=o, h=h, l=l, c=c, v=v)  # noqa: E741
    tema20, dema10, ema60, obv_series = tema(c, 20), dema(c, 10), ema(c, 60), obv(c, v)
    line, signal, osc = macd(c)
    tr = true_range(h, l, c)
    return Indicators(
        TEMA20=tema20,
        DEMA10=dema10,
        EMA20=ema(c, 20),
        EMA60=ema60,
        MACD_LINE=line,
        MACD_SIGNAL=signal,
        MACD_OSC=osc,
        RSI_TEMA=rsi_tema(c),
        RSI_DEMA=rsi_dema(c),
        RSI14=rsi14_wilder(c),
        OBV=obv_series,
        VOL_MA5=sma(v, 5),
        VMA20=sma(v, 20),
        TEMA20_SLOPE20=slope20(tema20),
        OBV_SLOPE20=slope20(obv_series),
        DEMA10_SLOPE20=slope20(dema10),
        EMA60_SLOPE20=slope20(ema60),
        TR=tr,
        ATR14=sma(tr, 14),
    )
