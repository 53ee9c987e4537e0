"""From the store to engine inputs: ENGINES.md §0.2 steps 1–5, done once for every version.

`load_market_data` reads the panel, the ticker master and the index series once;
`prepare_inputs` builds the base universe, the market condition, the final universe and the
indicators (once per distinct lookback); `run_engine` runs one version on its input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlite_utils

from scanctl.engines import registry
from scanctl.engines.base import EngineInput, EngineResult
from scanctl.engines.compute import window_indicators
from scanctl.engines.params import RunParams
from scanctl.market.condition import MarketCondition, market_condition
from scanctl.market.params import MarketParams
from scanctl.market.universe import build_universe, resize_limits
from scanctl.market.window import evaluation_window
from scanctl.store.panel import Panel, read_older_bars, read_panel
from scanctl.store.tickers import IndexSeries, TickerMaster, read_index_series, read_ticker_master

# Extra stored dates read beyond the lookback, so that a ticker with up to this many missing
# sessions (halts) in its window gets its full `lookback` bars from the one panel read. A ticker
# with more gaps gets its older bars from `complete_history` (ENGINES.md §0.4 is exact).
PANEL_MARGIN = 60
# Index bars read per series: §3 needs ≥ 65 bars on P and Q and a 60-session hysteresis; US
# trend terms look at up to 200 bars.
INDEX_SESSIONS = 320


@dataclass(frozen=True, eq=False)
class MarketData:
    """Everything read from the store for one scan date."""

    panel: Panel
    master: TickerMaster
    indexes: dict[str, IndexSeries]

    def until(self, day: dt.date) -> MarketData:
        """The view of a scan of ``day`` within data loaded once for a range (backfill).

        Windows, universe and market condition read only the last bars before ``day`` (at most
        `lookback` a ticker, fixed depths for the condition), so the longer panel gives the
        same results as `load_market_data` for ``day`` alone.
        """
        return MarketData(
            panel=self.panel.until(day),
            master=self.master,
            indexes={
                code: series.until(day, INDEX_SESSIONS) for code, series in self.indexes.items()
            },
        )


def load_market_data(
    db: sqlite_utils.Database,
    day: dt.date,
    lookback: int,
    market: MarketParams,
    extra_sessions: int = 0,
) -> MarketData:
    """Read the panel (lookback + margin dates ≤ day), the master and the index series once.

    ``extra_sessions`` reads that many more dates, for `MarketData.until` views of the earlier
    days of a range (backfill); the first of them is then the first day scanned.
    """
    panel = read_panel(db, day, lookback + PANEL_MARGIN + extra_sessions)
    first_day = panel.dates[-1 - extra_sessions] if len(panel.dates) > extra_sessions else None
    panel = complete_history(db, panel, first_day, lookback)
    codes = (market.kospi_index, market.kosdaq_index, market.us_spy, market.us_qqq, market.us_vix)
    indexes = {}
    for code in dict.fromkeys(codes):
        series = read_index_series(db, code, day, INDEX_SESSIONS + extra_sessions)
        if len(series.dates):
            indexes[code] = series
    return MarketData(panel=panel, master=read_ticker_master(db, panel.codes), indexes=indexes)


def complete_history(
    db: sqlite_utils.Database, panel: Panel, first_day: np.datetime64 | None, lookback: int
) -> Panel:
    """Add the older bars of every ticker that trades on or after ``first_day`` but has fewer
    than ``lookback`` bars before it in ``panel`` (long halts), so its windows are exact."""
    if first_day is None or not len(panel.codes):
        return panel
    start = int(np.searchsorted(panel.dates, first_day))
    before = panel.has_bar[:start].sum(axis=0)
    trades = panel.has_bar[start:].any(axis=0)
    short = trades & (before < lookback)
    if not short.any():
        return panel
    older = read_older_bars(
        db, panel.codes[short], panel.dates[0].astype(dt.date), lookback - before[short]
    )
    return panel.prepend(older) if older.has_bar.any() else panel


@dataclass(frozen=True, eq=False)
class PreparedRun:
    """The shared inputs of one scan date: one EngineInput per distinct lookback."""

    date: dt.date
    inputs: dict[int, EngineInput]
    condition: MarketCondition
    universe_record: dict[str, Any]

    def input_for(self, params: RunParams, version: str) -> EngineInput:
        return self.inputs[params.lookback(version)]


def prepare_inputs(
    data: MarketData, day: dt.date, params: RunParams, versions: Iterable[str]
) -> PreparedRun:
    """ENGINES.md §0.2 steps 2–5 for ``day``: universes, market condition, indicators.

    The universe and the condition depend only on the last few bars, so they are computed once
    on the longest window; indicators are computed once per distinct lookback.
    """
    lookbacks = sorted({params.lookback(version) for version in versions}, reverse=True)
    widest = evaluation_window(data.panel, day, max(lookbacks[0], 6))
    base = build_universe(widest, data.master, params.universe)
    condition = market_condition(
        data.panel, widest, data.master, base, data.indexes, day, params.market
    )
    kospi_limit, kosdaq_limit = resize_limits(params.universe, condition)
    final = base
    if (kospi_limit, kosdaq_limit) != (base.kospi_limit, base.kosdaq_limit):
        final = build_universe(widest, data.master, params.universe, kospi_limit, kosdaq_limit)
    inputs = {}
    for lookback in lookbacks:
        window = (
            widest if lookback == widest.lookback else evaluation_window(data.panel, day, lookback)
        )
        indicators, scalars = window_indicators(window)
        inputs[lookback] = EngineInput(
            date=day,
            window=window,
            indicators=indicators,
            scalars=scalars,
            master=data.master,
            universe=final,
            condition=condition,
        )
    return PreparedRun(
        date=day, inputs=inputs, condition=condition, universe_record=final.to_record(base)
    )


def run_engine(version: str, prepared: PreparedRun, params: RunParams) -> EngineResult:
    """Run one registered engine on the prepared inputs."""
    return registry.get(version).compute(prepared.input_for(params, version), params.of(version))
