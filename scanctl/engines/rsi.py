"""The RSI family of ENGINES.md §1.1: RSI_TEMA, RSI_DEMA (NaN → 50, not clamped) and Wilder's
bounded RSI14, over window arrays (see `scanctl.engines.indicators`)."""

from __future__ import annotations

import numpy as np

from scanctl.engines.smoothing import NAN, as_window, first_rows, nested_ema, seeds_at


def _gains_losses(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """G = max(Δ, 0), L = max(-Δ, 0), Δ_k = c_k - c_{k-1}; NaN at the first bar and before."""
    gains = np.empty_like(c)
    gains[:1] = NAN
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
        num[undefined] = NAN
        np.add(num, 1.0, out=num)
        np.divide(100.0, num, out=num)
        np.subtract(100.0, num, out=num)
    num[~np.isfinite(num)] = 50.0  # NaN, or ±inf when 1 + RS = 0
    num[~valid] = NAN
    return num


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
    tema_gain = nested_ema(gains, 14, "tema")  # G is first defined at the second bar
    return _rsi_into(tema_gain, nested_ema(losses, 14, "tema"), ~np.isnan(c))


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
    dema_gain = nested_ema(gains, 14, "dema")
    return _rsi_into(dema_gain, nested_ema(losses, 14, "dema"), valid)


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
    seed_rows = first_rows(c) + 14
    seeds = seeds_at(seed_rows, n_rows)
    if not seeds:
        return np.full_like(c, NAN)
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
        avg[:start] = NAN
        prev, carried = np.full(n_cols, NAN), np.empty(n_cols)
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
