"""The benchmarks of `evaluate`: the scan universe of each (date, version) and the indexes.

The universe a scan drew from is not stored, so it is rebuilt with the scan's own code
(`scanctl.market.universe.build_universe` and the §2.4 resize) from the bars of the date, the
ticker master and what the run that wrote the result recorded: its ``[scan]`` universe
parameters and its market condition (status and divergence). A result without such a run (rows
written by another program) uses the current ``[scan]`` parameters without a resize; they are
counted. The master is today's, as for `backfill`.

A member's N-session return is taken as a pick's (`scanctl.reports.evaluate_outcomes`): from
its close on the date to its close on the N-th session, or its last close before that when it
has no bar there (carried; counted), so a ticker whose bars stop weighs the same in the picks
and in their benchmark. The benchmark of a window is the equal-weight mean over its members.

Index returns are taken between the closes of the same two dates, from the index series of
``[market] kospi_index`` / ``kosdaq_index``; a series without a bar in the evaluated dates is
replaced by its ETF (``kospi_etf`` / ``kosdaq_etf``) from the bars, and the record says which.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlite_utils

from scanctl.clock import stored_date
from scanctl.errors import ConfigError
from scanctl.market.params import MarketParams, UniverseParams
from scanctl.market.universe import build_universe, limits_after_resize
from scanctl.market.window import Window
from scanctl.store.panel import Panel
from scanctl.store.tickers import read_index_series, read_ticker_master

UniverseKey = tuple[int, str, int, int]
"""(panel row, universe parameters as JSON, KOSPI limit, KOSDAQ limit)."""


@dataclass(frozen=True, eq=False)
class UniverseWindow:
    """One universe window: its members' N-session returns and mark-to-market path."""

    members: int
    carried: int  # members without a bar on the exit session (last close used)
    mean_return: float  # NaN while the window is open
    path: np.ndarray  # (K,): the members' mean close over their close on the date, K ≤ N + 1


@dataclass
class Universes:
    """The rebuilt universes: a key per (date, version), a `UniverseWindow` per key."""

    keys: dict[tuple[str, str], UniverseKey] = field(default_factory=dict)
    windows: dict[UniverseKey, UniverseWindow] = field(default_factory=dict)
    without_run: int = 0  # results whose run recorded no usable universe parameters

    def to_record(self) -> dict[str, Any]:
        closed = [w for w in self.windows.values() if not np.isnan(w.mean_return)]
        return {
            "windows": len(closed),
            "member_windows": sum(w.members for w in closed),
            "carried": sum(w.carried for w in closed),
            "results_without_run": self.without_run,
        }


def forward_filled(values: np.ndarray) -> np.ndarray:
    """``(S, N)`` with each NaN replaced by the last number above it in its column."""
    seen = ~np.isnan(values)
    last = np.maximum.accumulate(np.where(seen, np.arange(len(values))[:, None], 0), axis=0)
    return np.take_along_axis(values, last, axis=0)


def _day_window(panel: Panel, has_bars: np.ndarray, row: int) -> Window:
    """The one-session window of the panel's row: what `build_universe` reads (the bars of D)."""
    has_bar = has_bars[row]
    dates = np.where(has_bar, panel.dates[row], np.datetime64("NaT", "D"))
    return Window(
        date=panel.dates[row].astype(dt.date),
        codes=panel.codes,
        open=panel.open[row : row + 1],
        high=panel.high[row : row + 1],
        low=panel.low[row : row + 1],
        close=panel.close[row : row + 1],
        volume=panel.volume[row : row + 1],
        value=panel.value[row : row + 1],
        n_bars=has_bar.astype(np.int64),
        bar_on_date=has_bar,
        first_date=dates,
        last_date=dates,
    )


def _params(text: str | None) -> UniverseParams | None:
    """The recorded universe parameters; None when there are none or they no longer parse."""
    if not text:
        return None
    try:
        return UniverseParams.from_mapping(json.loads(text))
    except (ConfigError, ValueError, TypeError):
        return None


def rebuild_universes(
    db: sqlite_utils.Database,
    panel: Panel,
    results: list[tuple],
    default: UniverseParams,
    horizon: int,
) -> Universes:
    """The universe of every result on a panel date (``results`` as `result_sessions` rows)."""
    out = Universes()
    if not len(panel.codes):
        return out
    master = read_ticker_master(db, panel.codes)
    closes = forward_filled(panel.close)
    has_bars = panel.has_bar
    parsed: dict[str | None, UniverseParams | None] = {}
    for day, version, _, _, _, universe, status, divergence, divergence_type in results:
        row = panel.date_index(stored_date(day))
        if row is None:
            continue
        if universe not in parsed:
            parsed[universe] = _params(universe)
        params = parsed[universe]
        if params is None:
            out.without_run += 1
            params, limits = default, (default.kospi_limit, default.kosdaq_limit)
        else:
            divergent = None if divergence is None else bool(divergence)
            limits = limits_after_resize(params, status, divergent, divergence_type)
        key = (row, json.dumps(params.to_record(), sort_keys=True), *limits)
        out.keys[(day, version)] = key
        if key not in out.windows:
            universe_now = build_universe(
                _day_window(panel, has_bars, row), master, params, *limits
            )
            out.windows[key] = _window(has_bars, closes, row, universe_now.member, horizon)
    return out


def _window(
    has_bars: np.ndarray, closes: np.ndarray, row: int, member: np.ndarray, horizon: int
) -> UniverseWindow:
    """The members' window from ``row`` (``closes`` forward-filled; members have a bar there)."""
    cols = np.flatnonzero(member)
    entry = closes[row, cols]
    end = min(row + horizon, len(closes) - 1)
    relative = closes[row : end + 1, cols] / entry
    path = relative.mean(axis=1) if len(cols) else np.full(end - row + 1, np.nan)
    closed = row + horizon < len(closes)
    return UniverseWindow(
        members=len(cols),
        carried=int((~has_bars[end, cols]).sum()) if closed else 0,
        mean_return=float(path[-1] - 1) if closed else float("nan"),
        path=path,
    )


@dataclass(frozen=True, eq=False)
class IndexCloses:
    """One index's closes on the panel dates (NaN without a bar), and what series they are."""

    name: str  # KOSPI / KOSDAQ
    series: str | None  # the index code or the ETF code used; None when neither has bars
    kind: str | None  # "index" or "etf"
    closes: np.ndarray  # (S,)

    def to_record(self) -> dict[str, Any]:
        return {"series": self.series, "kind": self.kind}

    def window_returns(self, rows: np.ndarray, horizon: int) -> np.ndarray:
        """The return from each row to the row ``horizon`` sessions later (NaN if either end
        lacks a bar or lies outside the panel)."""
        out = np.full(len(rows), np.nan)
        inside = (rows >= 0) & (rows + horizon < len(self.closes))
        start, end = rows[inside], rows[inside] + horizon
        out[inside] = self.closes[end] / self.closes[start] - 1
        return out


def index_closes(
    db: sqlite_utils.Database, panel: Panel, market: MarketParams
) -> list[IndexCloses]:
    """The KOSPI and KOSDAQ closes on the panel dates, each from its index or else its ETF."""
    out = []
    for name, index_code, etf_code in (
        ("KOSPI", market.kospi_index, market.kospi_etf),
        ("KOSDAQ", market.kosdaq_index, market.kosdaq_etf),
    ):
        closes = np.full(len(panel.dates), np.nan)
        series, kind = None, None
        if len(panel.dates):
            stored = read_index_series(
                db, index_code, panel.dates[-1].astype(dt.date), len(panel.dates) + 400
            )
            rows = np.searchsorted(panel.dates, stored.dates)
            keep = (rows < len(panel.dates)) & (
                panel.dates[np.minimum(rows, len(panel.dates) - 1)] == stored.dates
            )
            closes[rows[keep]] = stored.close[keep]
            column = panel.code_index(etf_code)
            if keep.any():
                series, kind = index_code, "index"
            elif column is not None:
                closes = panel.close[:, column].copy()
                series, kind = etf_code, "etf"
        out.append(IndexCloses(name, series, kind, closes))
    return out
