"""The statistics of `evaluate`: a circular block bootstrap over sessions, and the equity of
the sleeve portfolio. Pure numpy over arrays; no store.

**Why a block bootstrap.** Picks of one session share its market, and N-session windows of
nearby sessions overlap, so picks are far from independent: resampling picks one by one would
give intervals that are much too narrow. The sessions are resampled instead, in blocks of
consecutive sessions (the block length is the horizon N: windows further apart than N sessions
no longer overlap), wrapping around the end (circular), 2,000 times with a fixed seed, so the
same store always gives the same intervals. A group's mean is the ratio of its summed returns
to its pick count over the resampled sessions; the interval is the 2.5th and 97.5th percentile
of the 2,000 means. An equity curve's band resamples its daily returns the same way and takes
the percentiles of the compounded curves session by session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95


@dataclass(frozen=True)
class Bootstrap:
    """A circular block bootstrap over sessions (see the module doc)."""

    block_length: int
    resamples: int = RESAMPLES
    seed: int = SEED
    level: float = LEVEL

    def to_record(self) -> dict[str, Any]:
        return {
            "method": "circular block bootstrap over sessions",
            "block_length": self.block_length,
            "resamples": self.resamples,
            "seed": self.seed,
            "level": self.level,
        }

    @property
    def percentiles(self) -> tuple[float, float]:
        tail = 50 * (1 - self.level)
        return tail, 100 - tail

    def indices(self, sessions: int) -> np.ndarray:
        """``(resamples, sessions)`` session indices: blocks of `block_length` consecutive
        sessions from uniform random starts, wrapping around, cut to ``sessions``."""
        block = max(1, min(self.block_length, sessions))
        blocks = -(-sessions // block)
        rng = np.random.default_rng(self.seed)
        starts = rng.integers(0, sessions, size=(self.resamples, blocks))
        picked = (starts[:, :, None] + np.arange(block)) % sessions
        return picked.reshape(self.resamples, blocks * block)[:, :sessions]

    def weights(self, sessions: int) -> np.ndarray:
        """``(resamples, sessions)``: how often each session is drawn in each resample."""
        picked = self.indices(sessions)
        offsets = (np.arange(self.resamples) * sessions)[:, None]
        counts = np.bincount((picked + offsets).ravel(), minlength=self.resamples * sessions)
        return counts.reshape(self.resamples, sessions).astype(np.float64)

    def ratio_intervals(self, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """``(G, 2)`` intervals of the ratio Σ sums / Σ counts of G groups.

        Parameters
        ----------
        sums, counts
            ``(T, G)``: per session and group, the summed returns and their number.

        Returns
        -------
        np.ndarray
            The lower and upper percentile per group; NaN for a group with picks on fewer
            than two sessions (no spread to resample).
        """
        out = np.full((sums.shape[1], 2), np.nan)
        if not sums.size:
            return out
        weights = self.weights(sums.shape[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (weights @ sums) / (weights @ counts)
        spread = (counts > 0).sum(axis=0) >= 2
        if spread.any():
            low, high = np.nanpercentile(means[:, spread], self.percentiles, axis=0)
            out[spread, 0], out[spread, 1] = low, high
        return out

    def band(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The band of an equity curve ``values`` (``(T,)``, positive): per session, the
        percentiles of the curves compounded from its resampled daily returns."""
        if len(values) < 2:
            return values.copy(), values.copy()
        daily = values[1:] / values[:-1]
        paths = values[0] * np.cumprod(daily[self.indices(len(daily))], axis=1)
        low, high = np.percentile(paths, self.percentiles, axis=0)
        return np.concatenate([values[:1], low]), np.concatenate([values[:1], high])


def sleeve_equity(cohorts: Mapping[int, np.ndarray], sessions: int, hold: int) -> np.ndarray:
    """The value at each session's close of a portfolio worth 1 at the start, split into
    ``hold`` sleeves: at the close of session t, sleeve t mod hold sells what it bought at
    session t − hold and puts all its cash into the cohort of session t (cash when none).

    Parameters
    ----------
    cohorts
        Session index → ``(K,)`` the value at sessions t … t + K − 1 of 1 KRW of sleeve cash
        put into that session's cohort (costs included), K ≤ hold + 1; entry ``hold`` is the
        cash the sale returns. A shorter cohort is one the data ends in.
    sessions
        T, the number of sessions.
    hold
        The holding period and number of sleeves (≥ 1).

    Returns
    -------
    np.ndarray
        ``(T,)`` float64.
    """
    cash = np.full(hold, 1 / hold)
    held: list[tuple[int, float] | None] = [None] * hold
    values = np.empty(sessions)
    for t in range(sessions):  # a recursion over sessions: each sale funds the next buy
        sleeve = t % hold
        bought = held[sleeve]
        if bought is not None:
            cash[sleeve] = bought[1] * cohorts[bought[0]][hold]
            held[sleeve] = None
        if t in cohorts:
            held[sleeve] = (t, float(cash[sleeve]))
            cash[sleeve] = 0.0
        invested = sum(w * cohorts[start][t - start] for start, w in filter(None, held))
        values[t] = cash.sum() + invested
    return values
