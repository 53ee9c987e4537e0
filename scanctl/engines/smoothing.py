"""EMA-family smoothing over window arrays (ENGINES.md §1.1): EMA, DEMA, TEMA and SMA.

Window arrays are described in `scanctl.engines.indicators`: ``(L, N)`` float64, right-aligned,
NaN only before each column's first bar, where every recursion is seeded.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

NAN = np.nan
Seeds = dict[int, np.ndarray]  # row → the columns whose recursion starts on that row


def as_window(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` as a 2-D float64 array, or ValueError naming the parameter."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (lookback, tickers) array, got shape {arr.shape}")
    return arr


def check_period(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be an integer ≥ 1, got {n!r}")


def first_rows(x: np.ndarray) -> np.ndarray:
    """``(N,)`` int: first non-NaN row of each column; ``L`` for an all-NaN column."""
    defined = ~np.isnan(x)
    return np.where(defined.any(axis=0), defined.argmax(axis=0), x.shape[0])


def seeds_at(rows: np.ndarray, n_rows: int) -> Seeds:
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


def seeded_ema(x: np.ndarray, n: int, seeds: Seeds) -> np.ndarray:
    """EMA_n(x): x itself on the ``seeds`` rows, α·x_k + (1-α)·EMA_{k-1} after them."""
    alpha = 2.0 / (n + 1)
    beta = 1.0 - alpha
    n_rows, n_cols = x.shape
    out = np.empty_like(x)
    start = min(seeds, default=n_rows)
    out[:start] = NAN
    prev = np.full(n_cols, NAN)
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


def nested_ema(x: np.ndarray, n: int, kind: Literal["dema", "tema"]) -> np.ndarray:
    """DEMA_n(x) (``kind="dema"``) or TEMA_n(x) (``"tema"``), seeded at x's first value f.

    One pass over the rows carries E1, E2 (and E3) as (N,) rows, so the nested EMAs are never
    stored whole: E1_k = α·x_k + (1-α)·E1_{k-1}, E2_k = α·E1_k + (1-α)·E2_{k-1}, …, every level
    equal to x on the seed row.
    """
    alpha = 2.0 / (n + 1)
    beta = 1.0 - alpha
    seeds = seeds_at(first_rows(x), x.shape[0])
    n_rows, n_cols = x.shape
    out = np.empty_like(x)
    start = min(seeds, default=n_rows)
    out[:start] = NAN
    levels = [np.full(n_cols, NAN) for _ in range(2 if kind == "dema" else 3)]
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
    check_period(n)
    return seeded_ema(x, n, seeds_at(first_rows(x), x.shape[0]))


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
    check_period(n)
    return nested_ema(x, n, "dema")


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
    check_period(n)
    return nested_ema(x, n, "tema")


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
    check_period(n)
    out = np.full_like(x, NAN)
    n_out = x.shape[0] - n + 1
    if n_out > 0:
        total = out[n - 1 :]
        np.copyto(total, x[:n_out])
        for j in range(1, n):
            np.add(total, x[j : j + n_out], out=total)
        np.divide(total, n, out=total)
    return out
