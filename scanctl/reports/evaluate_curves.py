"""The equity curve of each version under one stated rule, with its universe under the same rule.

`RULE` is the portfolio: capital split into N sleeves (N = the horizon); at the close of each
session one sleeve sells what it bought N sessions earlier and buys that session's picks of
the version, equal weight, at their close; a session without picks leaves its sleeve in cash
for N sessions. Commission is paid on every buy and sell and the tax on every sale
(`[costs]`). Holdings are marked at the close every session; a ticker without a bar keeps
its last close (a ticker whose bars stop is sold at it). The universe curve applies the same
rule to the whole scan universe of the version on the same sessions, without costs: the gap
between the two is what the selection added after costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scanctl.market.costs import TradingCosts
from scanctl.reports.evaluate_stats import Bootstrap, sleeve_equity

RULE = (
    "N sleeves (N = the horizon); each session one sleeve sells what it bought N sessions "
    "earlier and buys that session's picks, equal weight, at the close; no picks: cash for "
    "N sessions; costs on every buy and sell. The universe curve: the same rule on the whole "
    "scan universe, on the same sessions, without costs."
)


@dataclass(frozen=True, eq=False)
class EquityCurve:
    """One version's equity (1 at the first session) and its universe's, per session, with
    their bootstrap bands (``(T,)`` arrays aligned with ``dates``)."""

    version: str
    dates: list[str]
    equity: np.ndarray
    equity_low: np.ndarray
    equity_high: np.ndarray
    universe: np.ndarray
    universe_low: np.ndarray
    universe_high: np.ndarray

    @property
    def final(self) -> float | None:
        return float(self.equity[-1]) if len(self.equity) else None

    def to_record(self) -> dict[str, Any]:
        arrays = ("equity", "equity_low", "equity_high", "universe", "universe_low")
        record: dict[str, Any] = {"version": self.version, "dates": self.dates}
        for name in (*arrays, "universe_high"):
            record[name] = [round(float(v), 6) for v in getattr(self, name)]
        last = len(self.dates) - 1
        record["final"] = (
            None if last < 0 else {name: record[name][last] for name in (*arrays, "universe_high")}
        )
        return record


def pick_cohorts(
    rows: np.ndarray, paths: np.ndarray, costs: TradingCosts, hold: int
) -> dict[int, np.ndarray]:
    """Session index → the cohort of that session's picks for `sleeve_equity`.

    ``rows`` ``(P,)`` are the picks' session indices, ``paths`` ``(P, N)`` their closes of
    sessions 1 … N over the entry (NaN past the data). The value of 1 KRW of cash is
    buy_factor at the buy, buy_factor × the mean path while held, and buy_factor ×
    sell_factor × the mean path at the sale.
    """
    cohorts = {}
    for row in np.unique(rows):
        mean = paths[rows == row].mean(axis=0)
        values = np.concatenate([[1.0], mean[~np.isnan(mean)]]) * costs.buy_factor
        if len(values) == hold + 1:
            values[hold] *= costs.sell_factor
        cohorts[int(row)] = values
    return cohorts


def equity_curve(
    version: str,
    dates: list[str],
    cohorts: dict[int, np.ndarray],
    universe_cohorts: dict[int, np.ndarray],
    hold: int,
    bootstrap: Bootstrap,
) -> EquityCurve:
    """The `EquityCurve` of one version over ``dates`` (the cohorts' session indices)."""
    equity = sleeve_equity(cohorts, len(dates), hold)
    universe = sleeve_equity(universe_cohorts, len(dates), hold)
    equity_low, equity_high = bootstrap.band(equity)
    universe_low, universe_high = bootstrap.band(universe)
    return EquityCurve(
        version=version,
        dates=dates,
        equity=equity,
        equity_low=equity_low,
        equity_high=equity_high,
        universe=universe,
        universe_low=universe_low,
        universe_high=universe_high,
    )
