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

Over 400 lines: all of §1 with a docstring per indicator; the series share seeding kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

import numpy as np

_NAN = np.nan
_Seeds = dict[int, np.ndarray]  # row → the columns whose recursion starts on that row


def as_window(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` as a 2-D float64 array, or ValueError naming the parameter."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (lookback, tickers) array, got shape {arr.shape}")
    return arr


def _check_period(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be an integer ≥ 1, got {n!r}")


def _first_rows(x: np.ndarray) -> np.ndarray:
    """``(N,)`` int: first non-NaN row of each column; ``L`` for an all-NaN column."""
    defined = ~np.isnan(x)
    return np.where(defined.any(axis=0), defined.argmax(axis=0), x.shape[0])


def _seeds_at(rows: np.ndarray, n_rows: int) -> _Seeds:
    """Group the column indices by ``rows[column]``, dropping rows ≥ ``n_rows``."""
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    kept = int(np.count_nonzero(ordered < n_rows))
    if not kept:
        return {}
    starts, first = np.unique(ordered[:kept], return_index=True)
    ends = [*first[1:].tolist(), kept]
    return {
        row: order[lo:hi] for row, lo, hi in zip(starts.tolist(), first.tolist(), ends, strict=True)
    }


def _ema(x: np.ndarray, n: int, seeds: _Seeds) -> np.ndarray:
    """EMA_n(x): x itself on the ``seeds`` rows, α·x_k + (1-α)·EMA_{k-1} after them."""
    alpha = 2.0 / (n + 1)
    beta = 1.0 - alpha
    n_rows, n_cols = x.shape
    out = np.empty_like(x)
    start = min(seeds, default=n_rows)
    out[:start] = _NAN
    prev = np.full(n_cols, _NAN)
    carried = np.empty(n_cols)
    for k in range(start, n_rows):
        row = out[k]
        np.multiply(prev, beta, out=carried)
        np.multiply(x[k], alpha, out=row)
        np.add(row, carried, out=row)
        cols = seeds.get(k)
        if cols is not None:
            row[cols] = x[k, cols]
        prev = row
    return out


def _nested_ema(x: np.ndarray, n: int, kind: Literal["dema", "tema"]) -> np.ndarray:
    """DEMA_n(x) (``kind="dema"``) or TEMA_n(x) (``"tema"``), seeded at x's first value f.

    One pass over the rows carries E1, E2 (and E3) as (N,) rows, so the nested EMAs are never
    stored whole: E1_k = α·x_k + (1-α)·E1_{k-1}, E2_k = α·E1_k + (1-α)·E2_{k-1}, …, every level
    equal to x on the seed row.
    """
    alpha = 2.0 / (n + 1)
    beta = 1.0 - alpha
    seeds = _seeds_at(_first_rows(x), x.shape[0])
    n_rows, n_cols = x.shape
    out = np.empty_like(x)
    start = min(seeds, default=n_rows)
    out[:start] = _NAN
    levels = [np.full(n_cols, _NAN) for _ in range(2 if kind == "dema" else 3)]
    carried = np.empty(n_cols)
    for k in range(start, n_rows):
        value = x[k]
        for level in levels:
            np.multiply(level, beta, out=carried)
            np.multiply(value, alpha, out=level)
            np.add(level, carried, out=level)
            value = level
        cols = seeds.get(k)
        if cols is not None:
            for level in levels:
                level[cols] = x[k, cols]
        row = out[k]
        if kind == "dema":  # 2·E1 - E2
            np.multiply(levels[0], 2.0, out=row)
            np.subtract(row, levels[1], out=row)
        else:  # 3·(E1 - E2) + E3
            np.subtract(levels[0], levels[1], out=row)
            np.multiply(row, 3.0, out=row)
            np.add(row, levels[2], out=row)
    return out


def _gains_losses(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """G = max(Δ, 0), L = max(-Δ, 0), Δ_k = c_k - c_{k-1}; NaN at the first bar and before."""
    gains = np.empty_like(c)
    gains[:1] = _NAN
    np.subtract(c[1:], c[:-1], out=gains[1:])
    losses = np.negative(gains)
    np.maximum(gains, 0.0, out=gains)
    np.maximum(losses, 0.0, out=losses)
    return gains, losses


def _rsi_into(num: np.ndarray, den: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """100 - 100/(1 + num/den), over ``num``; undefined → 50; NaN off the window."""
    undefined = den == 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        np.divide(num, den, out=num)
        num[undefined] = _NAN
        np.add(num, 1.0, out=num)
        np.divide(100.0, num, out=num)
        np.subtract(100.0, num, out=num)
    num[~np.isfinite(num)] = 50.0  # NaN, or ±inf when 1 + RS = 0
    num[~valid] = _NAN
    return num


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """EMA_n(x) (§1.1): EMA_f = x_f at the first defined row f, then
    EMA_k = α·x_k + (1-α)·EMA_{k-1}, α = 2/(n+1).

    Parameters
    ----------
    x : ndarray, shape (L, N)
        Window array, NaN only before each column's first defined value f.
    n : int
        Period (≥ 1).

    Returns
    -------
    ndarray, shape (L, N)

    Lookback
    --------
    0 rows after f.

    NaN
    ---
    Before f; all-NaN columns stay NaN. A NaN after f (no §1 input has one) propagates.
    """
    x = as_window(x, "x")
    _check_period(n)
    return _ema(x, n, _seeds_at(_first_rows(x), x.shape[0]))


def dema(x: np.ndarray, n: int) -> np.ndarray:
    """DEMA_n(x) (§1.1): 2·EMA_n(x) - EMA_n(EMA_n(x)), both EMAs seeded at f.

    Parameters
    ----------
    x : ndarray, shape (L, N)
        Window array, NaN only before each column's first defined value f.
    n : int
        Period (≥ 1).

    Returns
    -------
    ndarray, shape (L, N)

    Lookback
    --------
    0 rows after f.

    NaN
    ---
    As `ema`.
    """
    x = as_window(x, "x")
    _check_period(n)
    return _nested_ema(x, n, "dema")


def tema(x: np.ndarray, n: int) -> np.ndarray:
    """TEMA_n(x) (§1.1): 3·(E1 - E2) + E3, E1 = EMA_n(x), E2 = EMA_n(E1), E3 = EMA_n(E2).

    Parameters
    ----------
    x : ndarray, shape (L, N)
        Window array, NaN only before each column's first defined value f.
    n : int
        Period (≥ 1).

    Returns
    -------
    ndarray, shape (L, N)

    Lookback
    --------
    0 rows after f: the three EMAs are seeded at f.

    NaN
    ---
    As `ema`.
    """
    x = as_window(x, "x")
    _check_period(n)
    return _nested_ema(x, n, "tema")


def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Rolling mean(x_{k-n+1} … x_k) (§1.1), the n values added oldest first, divided by n.

    VOL_MA5 = sma(v, 5), VMA20 = sma(v, 20), ATR14 = sma(TR, 14).

    Parameters
    ----------
    x : ndarray, shape (L, N)
        Window array.
    n : int
        Number of values (≥ 1).

    Returns
    -------
    ndarray, shape (L, N)

    Lookback
    --------
    n - 1 rows after the column's first bar.

    NaN
    ---
    Unless all n values are defined (so every row when L < n).
    """
    x = as_window(x, "x")
    _check_period(n)
    out = np.full_like(x, _NAN)
    n_out = x.shape[0] - n + 1
    if n_out > 0:
        total = out[n - 1 :]
        np.copyto(total, x[:n_out])
        for j in range(1, n):
            np.add(total, x[j : j + n_out], out=total)
        np.divide(total, n, out=total)
    return out


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
    out = np.full_like(y, _NAN)
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
    out[np.isnan(c)] = _NAN
    return out


def rsi_tema(c: np.ndarray) -> np.ndarray:
    """RSI_TEMA (§1.1): 100 - 100/(1 + TEMA_14(G)/TEMA_14(L)), not clamped.

    G and L are undefined at the first bar, so both TEMAs are seeded at the second bar.
    Values below 0 or above 100 occur and are kept.

    Parameters
    ----------
    c : ndarray, shape (L, N)
        Window array of closes.

    Returns
    -------
    ndarray, shape (L, N)

    Lookback
    --------
    0: an undefined value (first bar, TEMA_14(L) = 0, or 1 + RS = 0) is 50.

    NaN
    ---
    Before the first bar only.
    """
    c = as_window(c, "c")
    gains, losses = _gains_losses(c)
    tema_gain = _nested_ema(gains, 14, "tema")  # G is first defined at the second bar
    return _rsi_into(tema_gain, _nested_ema(losses, 14, "tema"), ~np.isnan(c))


def rsi_dema(c: np.ndarray) -> np.ndarray:
    """RSI_DEMA (§1.1): 100 - 100/(1 + DEMA_14(G′)/DEMA_14(L′)), not clamped.

    G′_k = Δ_k if Δ_k > 0 else 0, L′_k = -Δ_k if Δ_k < 0 else 0, and G′ = L′ = 0 at the first
    bar, so both DEMAs are seeded at the first bar (with 0).

    Parameters
    ----------
    c : ndarray, shape (L, N)
        Window array of closes.

    Returns
    -------
    ndarray, shape (L, N)

    Lookback
    --------
    0: an undefined value (DEMA_14(L′) = 0, or 1 + RS = 0) is 50.

    NaN
    ---
    Before the first bar only.
    """
    c = as_window(c, "c")
    valid = ~np.isnan(c)
    gains, losses = _gains_losses(c)
    for moves in (gains, losses):
        np.copyto(moves, 0.0, where=valid & np.isnan(moves))  # G′_0 = L′_0 = 0
    dema_gain = _nested_ema(gains, 14, "dema")
    return _rsi_into(dema_gain, _nested_ema(losses, 14, "dema"), valid)


def rsi14_wilder(c: np.ndarray) -> np.ndarray:
    """RSI14, Wilder, bounded to [0, 100] (§1.1). With f the first bar, AG = mean(G_{f+1} …
    G_{f+14}) at k = f+14, then AG_k = (13·AG_{k-1} + G_k)/14, AL alike; RSI14 =
    100 - 100/(1 + AG/AL) if AL > 0, 100 if AL = 0 < AG, 50 if both are 0.

    Parameters
    ----------
    c : ndarray, shape (L, N)
        Window array of closes.

    Returns
    -------
    ndarray, shape (L, N)

    Lookback
    --------
    14 (15 bars).

    NaN
    ---
    Before the column's 15th bar.
    """
    c = as_window(c, "c")
    n_rows, n_cols = c.shape
    seed_rows = _first_rows(c) + 14
    seeds = _seeds_at(seed_rows, n_rows)
    if not seeds:
        return np.full_like(c, _NAN)
    start = min(seeds)
    # rows f+1 … f+14 of each column (clipped for columns without a seed: never read)
    picks = np.clip(seed_rows, 14, n_rows - 1) + np.arange(-13, 1)[:, None]
    averages = []
    for moves in _gains_losses(c):
        picked = np.take_along_axis(moves, picks, axis=0)
        seed = picked[0].copy()
        for row in picked[1:]:
            seed += row  # G_{f+1} … G_{f+14} added oldest first
        np.divide(seed, 14, out=seed)
        avg = moves  # G is overwritten row by row with AG (row k is read before written)
        avg[:start] = _NAN
        prev, carried = np.full(n_cols, _NAN), np.empty(n_cols)
        for k in range(start, n_rows):
            row = avg[k]
            np.multiply(prev, 13.0, out=carried)
            np.add(carried, row, out=row)
            np.divide(row, 14.0, out=row)
            cols = seeds.get(k)
            if cols is not None:
                row[cols] = seed[cols]
            prev = row
        averages.append(avg)
    avg_gain, avg_loss = averages
    flat = (avg_loss == 0) & (avg_gain == 0)
    gain_only = (avg_loss == 0) & (avg_gain > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = np.divide(avg_gain, avg_loss, out=avg_gain)
        np.add(rsi, 1.0, out=rsi)
        np.divide(100.0, rsi, out=rsi)
        np.subtract(100.0, rsi, out=rsi)
    rsi[gain_only] = 100.0
    rsi[flat] = 50.0
    return rsi


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
    seeds = _seeds_at(_first_rows(c), c.shape[0])
    line = _ema(c, 12, seeds)
    np.subtract(line, _ema(c, 26, seeds), out=line)
    signal = _ema(line, 9, seeds)
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
