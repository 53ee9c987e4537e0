"""From the store to engine inputs: ENGINES.md §0.2 steps 1–5, done once for every version.

`load_market_data` reads the panel, the ticker master and the index series once;
`prepare_runs` builds, for each scan date, the base universe, the market condition, the final
universe and the indicators (once per distinct lookback); `run_engine` runs one version on its
input.

Only what the engines read is computed. The universe and the condition read the last few bars
of every ticker (`WINDOW_ROWS`); the engines' windows and indicators are cut and computed for
the final universe's members only (plus any ticker asked for by name, e.g. by `inspect`):
a picked ticker is always a member, and every engine value of a member is the same whatever
other columns are computed beside it, because columns never interact. A backfill computes the
indicators of many dates in one batch, their windows side by side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sqlite_utils

from scanctl.engines import registry
from scanctl.engines.base import EngineInput, EngineResult
from scanctl.engines.compute import batch_indicators
from scanctl.engines.params import RunParams
from scanctl.market.condition import WINDOW_ROWS, MarketCondition, market_condition
from scanctl.market.params import MarketParams
from scanctl.market.universe import Universe, build_universe, resize_limits
from scanctl.market.window import BarIndex, Window
from scanctl.store.panel import Panel, read_older_bars, read_panel
from scanctl.store.tickers import IndexSeries, TickerMaster, read_index_series, read_ticker_master

# Extra stored dates read beyond the lookback, so that a ticker with up to this many missing
# sessions (halts) in its window gets its full `lookback` bars from the one panel read. A ticker
# with more gaps gets its older bars from `complete_history` (ENGINES.md §0.4 is exact).
PANEL_MARGIN = 60
# Index bars read per series: §3 needs ≥ 65 bars on P and Q and a 60-session hysteresis; US
# trend terms look at up to 200 bars.
INDEX_SESSIONS = 320
# Columns of the engines' windows computed in one batch (a backfill's consecutive dates): enough
# to step through the rows once for ~20 dates of a 200-member universe, small enough to keep
# the batch's windows within tens of MB.
BATCH_COLUMNS = 4096


@dataclass(frozen=True, eq=False)
class MarketData:
    """Everything read from the store for one scan date."""

    panel: Panel
    master: TickerMaster
    indexes: dict[str, IndexSeries]

    @cached_property
    def bar_index(self) -> BarIndex:
        """Where each ticker's bars sit in the panel, built once for every window cut."""
        return BarIndex(self.panel)

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


@dataclass(frozen=True, eq=False)
class _Universes:
    """One date's condition and universe record, the columns its engines evaluate, and the
    master and final universe of those columns."""

    day: dt.date
    condition: MarketCondition
    record: dict[str, Any]
    columns: np.ndarray
    master: TickerMaster
    universe: Universe


def prepare_inputs(
    data: MarketData,
    day: dt.date,
    params: RunParams,
    versions: Iterable[str],
    also: Collection[str] | None = (),
) -> PreparedRun:
    """ENGINES.md §0.2 steps 2–5 for ``day``: universes, market condition, indicators.

    ``also`` names tickers the engines evaluate besides the final universe's members (their
    reasons and explain records; `inspect`); None evaluates every ticker of the panel.
    """
    (prepared,) = prepare_runs(data, [day], params, versions, also)
    return prepared


def prepare_runs(
    data: MarketData,
    days: Iterable[dt.date],
    params: RunParams,
    versions: Iterable[str],
    also: Collection[str] | None = (),
    batch_columns: int = BATCH_COLUMNS,
) -> Iterator[PreparedRun]:
    """`prepare_inputs` of each of ``days`` (ascending) from one `MarketData`, in order.

    Universes and conditions are built date by date; the indicators of consecutive dates are
    computed together once their windows reach ``batch_columns`` columns.
    """
    versions = tuple(versions)
    lookbacks = sorted({params.lookback(version) for version in versions}, reverse=True)
    wanted = None if also is None else np.isin(data.panel.codes, list(also))
    pending: list[_Universes] = []
    for day in days:
        pending.append(_universes(data, day, params, wanted))
        if sum(len(item.columns) for item in pending) >= batch_columns:
            yield from _with_indicators(data, pending, lookbacks)
            pending = []
    yield from _with_indicators(data, pending, lookbacks)


def _universes(
    data: MarketData, day: dt.date, params: RunParams, wanted: np.ndarray | None
) -> _Universes:
    """§0.2 steps 2–4 of ``day``: base universe, market condition, final universe; they read
    only the last `WINDOW_ROWS` bars of every ticker."""
    recent = data.bar_index.window(day, WINDOW_ROWS)
    view = data.until(day)
    base = build_universe(recent, data.master, params.universe)
    condition = market_condition(
        view.panel, recent, data.master, base, view.indexes, day, params.market
    )
    kospi_limit, kosdaq_limit = resize_limits(params.universe, condition)
    final = base
    if (kospi_limit, kosdaq_limit) != (base.kospi_limit, base.kosdaq_limit):
        final = build_universe(recent, data.master, params.universe, kospi_limit, kosdaq_limit)
    evaluated = np.ones(len(final.codes), bool) if wanted is None else final.member | wanted
    columns = np.flatnonzero(evaluated)
    return _Universes(
        day,
        condition,
        final.to_record(base),
        columns,
        data.master.take(columns),
        final.take(columns),
    )


def _with_indicators(
    data: MarketData, pending: list[_Universes], lookbacks: list[int]
) -> Iterator[PreparedRun]:
    """§0.2 step 5 for the pending dates: their windows and indicators, batch by lookback."""
    if not pending:
        return
    inputs: list[dict[int, EngineInput]] = [{} for _ in pending]
    for lookback in lookbacks:
        windows: list[Window] = [
            data.bar_index.window(item.day, lookback, item.columns) for item in pending
        ]
        computed = batch_indicators(windows)
        for n, (item, window, (indicators, scalars)) in enumerate(
            zip(pending, windows, computed, strict=True)
        ):
            inputs[n][lookback] = EngineInput(
                date=item.day,
                window=window,
                indicators=indicators,
                scalars=scalars,
                master=item.master,
                universe=item.universe,
                condition=item.condition,
            )
        del windows, computed
    for item, engine_inputs in zip(pending, inputs, strict=True):
        yield PreparedRun(
            date=item.day,
            inputs=engine_inputs,
            condition=item.condition,
            universe_record=item.record,
        )


def run_engine(version: str, prepared: PreparedRun, params: RunParams) -> EngineResult:
    """Run one registered engine on the prepared inputs."""
    return registry.get(version).compute(prepared.input_for(params, version), params.of(version))
