"""`scanctl evaluate`: how the stored picks did, honestly enough to choose an engine by.

`evaluate_picks` reads the stored results and picks of a date range, and one panel of bars
from the first pick date through the W-th stored session after the last one (W = the longest
of the horizon and the holding periods). Then, per pick (`evaluate_outcomes`): the N-session
return, carried over missing bars, net of the round-trip costs of ``[costs]``, the target/stop
race and the adverse excursion; per pick date and version (`evaluate_universe`): the scan
universe rebuilt with the scan's own code and its equal-weight return over the same window
(the benchmark), and the KOSPI and KOSDAQ returns; per group (`evaluate_summary`): means with
95 % intervals from a circular block bootstrap over sessions (`evaluate_stats`); per version
(`evaluate_curves`): the equity curve of a stated sleeve portfolio, with its universe's and
their bands.

Results are told apart by origin: ``live`` when the run that wrote them was a daily run
(trigger cron, manual or ci) started on the pick date itself (Asia/Seoul), so that its picks
were known that evening; ``backfill`` for a backfill, a catch-up or a rerun of a past date
(picks computed with hindsight of the code, if not of the data); ``unknown`` when no run row
matches the rows' run id.

`track_record` is the part another report (the daily page) needs: per version, its summary and
its equity curve with bands.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlite_utils

from scanctl.clock import check_range, stored_date
from scanctl.engines import registry
from scanctl.errors import BadInput
from scanctl.market.costs import TradingCosts
from scanctl.market.params import MarketParams, UniverseParams
from scanctl.reports.evaluate_curves import RULE, EquityCurve, equity_curve, pick_cohorts
from scanctl.reports.evaluate_outcomes import (
    Outcomes,
    floats,
    has_guidance,
    pick_outcomes,
)
from scanctl.reports.evaluate_stats import Bootstrap
from scanctl.reports.evaluate_summary import (
    PickTable,
    ResultTable,
    Summary,
    by_date,
    pick_records,
    summarise,
)
from scanctl.reports.evaluate_universe import (
    IndexCloses,
    Universes,
    index_closes,
    rebuild_universes,
)
from scanctl.store.bar_queries import dates_spanning
from scanctl.store.panel import Panel, read_panel
from scanctl.store.picks import pick_rows, result_sessions

LIVE_TRIGGERS = ("cron", "manual", "ci")
_MAX_SESSIONS = 100_000  # a holding period above this (a corrupt flag) is read as this
_PICK_COLUMNS = (
    "date",
    "version",
    "code",
    "strategy",
    "rank",
    "entry",
    "target_profit",
    "stop_loss",
    "holding_period",
)


@dataclass(frozen=True, eq=False)
class TrackRecord:
    """Per version: its summary and its equity curve with bands, and how they were made."""

    horizon: int
    data_end: str | None
    costs: TradingCosts
    bootstrap: Bootstrap
    summaries: list[Summary]
    curves: list[EquityCurve]

    def to_record(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon,
            "data_end": self.data_end,
            "rule": RULE,
            "costs": _costs_record(self.costs),
            "bootstrap": self.bootstrap.to_record(),
            "by_version": [s.to_record() for s in self.summaries],
            "curves": [c.to_record() for c in self.curves],
        }


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Everything `evaluate_picks` found (see the module doc).

    ``picks`` holds one plain dict per pick, in (date, version, strategy, rank) order: date,
    version, origin, strategy, code, rank, entry, its guidance (null without), closed,
    exit_date and exit_close (the N-th session; null while open), carried, gross_return,
    return (net), benchmark_return, excess_return, kospi_return, kosdaq_return (null while
    open), outcome (one of `OUTCOMES`), outcome_date and outcome_sessions, mae. ``by_date``
    holds one dict per (version, pick date) with closed picks. ``data_end`` is the last stored
    date read.
    """

    start: dt.date | None
    end: dt.date | None
    horizon: int
    versions: tuple[str, ...]
    data_end: str | None
    costs: TradingCosts
    bootstrap: Bootstrap
    indexes: list[IndexCloses]
    universe: dict[str, int]
    picks: list[dict[str, Any]]
    by_version: list[Summary]
    by_origin: list[Summary]
    by_strategy: list[Summary]
    by_date: list[dict[str, Any]]
    curves: list[EquityCurve]

    def track_record(self) -> TrackRecord:
        return TrackRecord(
            self.horizon, self.data_end, self.costs, self.bootstrap, self.by_version, self.curves
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "from": None if self.start is None else self.start.isoformat(),
            "to": None if self.end is None else self.end.isoformat(),
            "horizon": self.horizon,
            "versions": list(self.versions),
            "data_end": self.data_end,
            "costs": _costs_record(self.costs),
            "bootstrap": self.bootstrap.to_record(),
            "rule": RULE,
            "indexes": {index.name: index.to_record() for index in self.indexes},
            "universe": self.universe,
            "by_version": [s.to_record() for s in self.by_version],
            "by_origin": [s.to_record() for s in self.by_origin],
            "by_strategy": [s.to_record() for s in self.by_strategy],
            "curves": [c.to_record() for c in self.curves],
            "by_date": self.by_date,
            "picks": self.picks,
        }


def _costs_record(costs: TradingCosts) -> dict[str, float]:
    return {**costs.to_record(), "round_trip": costs.round_trip}


def evaluate_picks(
    db: sqlite_utils.Database,
    versions: tuple[str, ...] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    horizon: int = 10,
    *,
    costs: TradingCosts | None = None,
    universe: UniverseParams | None = None,
    market: MarketParams | None = None,
) -> Evaluation:
    """The forward outcome of the stored picks dated ``start`` … ``end`` (see the module doc).

    Parameters
    ----------
    db
        An open store.
    versions
        Engine versions to evaluate; None means every version with a stored result in range.
    start, end
        Inclusive pick-date bounds; None leaves that side open.
    horizon
        N: the stored sessions after the pick date at which the return is taken, the holding
        period of the equity curves and the bootstrap's block length.
    costs, universe, market
        ``[costs]``; the ``[scan]`` universe parameters for results without a recorded run;
        ``[market]`` (the index and ETF codes). None: the declared defaults.

    Raises
    ------
    BadInput
        ``horizon`` < 1, or ``start`` after ``end``.
    """
    if horizon < 1:
        raise BadInput(f"--horizon: must be at least 1 session, got {horizon}")
    check_range(start, end)
    costs = costs or TradingCosts()
    bootstrap = Bootstrap(block_length=horizon)
    results = result_sessions(db, versions, start, end)
    rows = pick_rows(db, versions, start, end)
    present = tuple(sorted({row[1] for row in results}, key=registry.sort_key))
    columns = {name: [row[k] for row in rows] for k, name in enumerate(_PICK_COLUMNS)}
    guided = has_guidance(columns)
    holding_days = np.clip(np.nan_to_num(floats(columns["holding_period"])), 0, _MAX_SESSIONS)
    holding = np.where(guided, holding_days, 0).astype(int)
    width = max(horizon, int(holding.max()) if len(holding) else 0)
    panel = _read_panel(db, columns["date"], width)
    outcomes = pick_outcomes(panel, columns, guided, holding, horizon, width)
    universes = rebuild_universes(db, panel, results, universe or UniverseParams(), horizon)
    indexes = index_closes(db, panel, market or MarketParams())
    origins = {(r[0], r[1]): _origin(r[0], r[3], r[4]) for r in results}
    table = _pick_table(columns, outcomes, origins, universes, indexes, costs, horizon)
    by_version, by_origin, by_strategy = summarise(
        table, _result_table(results, origins), bootstrap
    )
    for_curves = [v for v in present if (table.version == v).any()]
    return Evaluation(
        start=start,
        end=end,
        horizon=horizon,
        versions=present,
        data_end=str(panel.dates[-1]) if len(panel.dates) else None,
        costs=costs,
        bootstrap=bootstrap,
        indexes=indexes,
        universe=universes.to_record(),
        picks=pick_records(panel, columns, guided, holding, outcomes, table, horizon),
        by_version=by_version,
        by_origin=by_origin,
        by_strategy=by_strategy,
        by_date=by_date(table),
        curves=_curves(for_curves, panel, table, outcomes, universes, costs, horizon),
    )


def track_record(
    db: sqlite_utils.Database,
    versions: tuple[str, ...] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    horizon: int = 10,
    *,
    costs: TradingCosts | None = None,
    universe: UniverseParams | None = None,
    market: MarketParams | None = None,
) -> TrackRecord:
    """Per version: its summary and its equity curve with bands (`evaluate_picks`'s)."""
    evaluation = evaluate_picks(
        db, versions, start, end, horizon, costs=costs, universe=universe, market=market
    )
    return evaluation.track_record()


def _read_panel(db: sqlite_utils.Database, days: list[str], width: int) -> Panel:
    """The bars from the first pick date through the ``width``-th stored date after the last
    one (or the store's last date); an empty panel without picks or bars."""
    dates = dates_spanning(db, days[0], days[-1], width) if days else []
    if not dates:
        return Panel(np.empty(0, "datetime64[D]"), np.empty(0, "U6"), *[np.empty((0, 0))] * 6)
    return read_panel(db, stored_date(dates[-1]), len(dates))


def _origin(day: str, trigger: str | None, started_at: str | None) -> str:
    if trigger is None:
        return "unknown"
    if trigger in LIVE_TRIGGERS and (started_at or "")[:10] == day:
        return "live"
    return "backfill"


def _result_table(results: list[tuple], origins: dict[tuple[str, str], str]) -> ResultTable:
    return ResultTable(
        version=np.array([r[1] for r in results], dtype=object),
        date=np.array([r[0] for r in results], dtype=object),
        origin=np.array([origins[(r[0], r[1])] for r in results], dtype=object),
        picks=np.array([r[2] or 0 for r in results], dtype=np.int64),
    )


def _pick_table(
    columns: dict[str, list[Any]],
    outcomes: Outcomes,
    origins: dict[tuple[str, str], str],
    universes: Universes,
    indexes: list[IndexCloses],
    costs: TradingCosts,
    horizon: int,
) -> PickTable:
    count = len(columns["date"])
    dates_versions = (columns["date"], columns["version"])
    benchmark = np.full(count, np.nan)
    for i, key in enumerate(zip(*dates_versions, strict=True)):
        window = universes.windows.get(universes.keys.get(key))  # type: ignore[arg-type]
        if window is not None and outcomes.closed[i] and outcomes.on_date[i]:
            benchmark[i] = window.mean_return
    index_rows = np.where(outcomes.closed & outcomes.on_date, outcomes.row0, -1)
    kospi, kosdaq = (index.window_returns(index_rows, horizon) for index in indexes)
    return PickTable(
        version=np.array(columns["version"], dtype=object),
        strategy=np.array(columns["strategy"], dtype=object),
        origin=np.array(
            [origins.get(key, "unknown") for key in zip(*dates_versions, strict=True)],
            dtype=object,
        ),
        date=np.array(columns["date"], dtype=object),
        row0=outcomes.row0,
        closed=outcomes.closed,
        carried=outcomes.carried,
        gross=outcomes.ret,
        net=costs.net(outcomes.ret),
        benchmark=benchmark,
        kospi=kospi,
        kosdaq=kosdaq,
        outcome=outcomes.outcome,
        mae=outcomes.mae,
    )


def _curves(
    versions: list[str],
    panel: Panel,
    table: PickTable,
    outcomes: Outcomes,
    universes: Universes,
    costs: TradingCosts,
    horizon: int,
) -> list[EquityCurve]:
    """The equity curves from the first session with a pick to the last stored date read."""
    on_panel = table.row0 >= 0
    if not on_panel.any():
        return []
    first = int(table.row0[on_panel].min())
    dates = [str(day) for day in panel.dates[first:]]
    bootstrap = Bootstrap(block_length=horizon)
    curves = []
    for version in versions:
        mine = (table.version == version) & outcomes.on_date
        cohorts = pick_cohorts(table.row0[mine] - first, outcomes.path[mine], costs, horizon)
        universe_cohorts = {}
        for day in sorted(set(table.date[mine])):
            key = universes.keys.get((day, version))
            if key is not None:
                universe_cohorts[key[0] - first] = universes.windows[key].path
        curves.append(equity_curve(version, dates, cohorts, universe_cohorts, horizon, bootstrap))
    return curves
