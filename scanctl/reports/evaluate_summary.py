"""The summaries of `evaluate`: one `Summary` per version, per (version, origin) and per
(version, strategy), with bootstrap intervals for the mean and the excess return; the plain
records of every pick and of every (version, pick date).

Closed picks only enter the returns: ``closed + open = picks``, and the race outcomes add up to
the picks too. A group's mean is over its closed picks, so sessions weigh as their picks do;
its benchmark is the mean of its picks' universe returns over the same windows, and its excess
return the mean of (net pick return − that benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scanctl.engines import registry
from scanctl.reports.evaluate_outcomes import DECIDED, OUTCOMES, Outcomes
from scanctl.reports.evaluate_stats import Bootstrap
from scanctl.store.panel import Panel

ORIGINS = ("live", "backfill", "unknown")
STRATEGY_ORDER = ("스윙", "포지션", "장기", "관찰", "midterm", "v2_lite")


@dataclass(frozen=True, eq=False)
class PickTable:
    """Per-pick ``(P,)`` arrays (object arrays for the labels; NaN for a missing number)."""

    version: np.ndarray
    strategy: np.ndarray
    origin: np.ndarray
    date: np.ndarray
    row0: np.ndarray
    closed: np.ndarray
    carried: np.ndarray
    gross: np.ndarray
    net: np.ndarray
    benchmark: np.ndarray
    kospi: np.ndarray
    kosdaq: np.ndarray
    outcome: np.ndarray
    mae: np.ndarray

    @property
    def excess(self) -> np.ndarray:
        return self.net - self.benchmark


@dataclass(frozen=True, eq=False)
class ResultTable:
    """Per stored result (date, version): ``(R,)`` arrays of its version, date, origin and
    number of real picks."""

    version: np.ndarray
    date: np.ndarray
    origin: np.ndarray
    picks: np.ndarray


@dataclass(frozen=True)
class Summary:
    """The outcome of a group of picks: a version (``strategy`` and ``origin`` None), one of
    its origins, or one of its strategies. Returns are fractions, net of costs unless said."""

    version: str
    strategy: str | None
    origin: str | None
    sessions: int  # sessions with a stored result of the version (of that origin)
    sessions_with_picks: int
    picks: int
    closed: int
    open: int
    carried: int  # closed picks without a bar on the exit session (last close used)
    outcomes: dict[str, int]
    hit_rate: float | None
    mean_return: float | None
    mean_return_ci: tuple[float, float] | None
    gross_return: float | None
    median_return: float | None
    benchmark_return: float | None
    excess_return: float | None
    excess_return_ci: tuple[float, float] | None
    kospi_return: float | None
    kosdaq_return: float | None
    mean_mae: float | None

    @property
    def pick_rate(self) -> float | None:
        """Share of the sessions on which the group picked anything."""
        return self.sessions_with_picks / self.sessions if self.sessions else None

    def to_record(self) -> dict[str, Any]:
        record = dict(self.__dict__)
        record["pick_rate"] = self.pick_rate
        for key in ("mean_return_ci", "excess_return_ci"):
            record[key] = None if record[key] is None else list(record[key])
        return record


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else None


def _strategy_key(strategy: str) -> tuple[int, str]:
    if strategy in STRATEGY_ORDER:
        return STRATEGY_ORDER.index(strategy), ""
    return len(STRATEGY_ORDER), strategy


def summarise(
    picks: PickTable, results: ResultTable, bootstrap: Bootstrap
) -> tuple[list[Summary], list[Summary], list[Summary]]:
    """The summaries per version, per (version, origin) and per (version, strategy).

    Every origin of `ORIGINS` but ``unknown`` gets a row per version, with zero picks when it
    has none (so that "no live picks" shows); ``unknown`` only when present.
    """
    versions = sorted(set(picks.version) | set(results.version), key=registry.sort_key)
    groups: list[tuple[str, str | None, str | None]] = []
    for version in versions:
        groups.append((version, None, None))
        present = set(results.origin[results.version == version])
        groups += [(version, None, o) for o in ORIGINS if o != "unknown" or o in present]
        strategies = {s for s in picks.strategy[picks.version == version] if s is not None}
        groups += [(version, s, None) for s in sorted(strategies, key=_strategy_key)]
    masks = [_mask(picks, *group) for group in groups]
    intervals = _intervals(picks, masks, bootstrap)
    summaries = [
        _summary(picks, results, group, mask, intervals[k])
        for k, (group, mask) in enumerate(zip(groups, masks, strict=True))
    ]
    return (
        [s for s in summaries if s.strategy is None and s.origin is None],
        [s for s in summaries if s.origin is not None],
        [s for s in summaries if s.strategy is not None],
    )


def _mask(picks: PickTable, version: str, strategy: str | None, origin: str | None) -> np.ndarray:
    mask = picks.version == version
    if strategy is not None:
        mask &= picks.strategy == strategy
    if origin is not None:
        mask &= picks.origin == origin
    return mask


def _intervals(
    picks: PickTable, masks: list[np.ndarray], bootstrap: Bootstrap
) -> list[tuple[tuple[float, float] | None, tuple[float, float] | None]]:
    """Per group: the intervals of the mean net return and of the excess return."""
    usable = picks.closed & (picks.row0 >= 0)
    if not usable.any():
        return [(None, None)] * len(masks)
    first = int(picks.row0[usable].min())
    sessions = int(picks.row0[usable].max()) - first + 1
    columns = []
    for mask in masks:
        for values in (picks.net, picks.excess):
            keep = mask & usable & ~np.isnan(values)
            rows = picks.row0[keep] - first
            columns.append(
                (
                    np.bincount(rows, weights=values[keep], minlength=sessions),
                    np.bincount(rows, minlength=sessions).astype(np.float64),
                )
            )
    sums = np.column_stack([c[0] for c in columns])
    counts = np.column_stack([c[1] for c in columns])
    bounds = bootstrap.ratio_intervals(sums, counts)
    pairs = [None if np.isnan(b).any() else (float(b[0]), float(b[1])) for b in bounds]
    return [(pairs[2 * k], pairs[2 * k + 1]) for k in range(len(masks))]


def _summary(
    picks: PickTable,
    results: ResultTable,
    group: tuple[str, str | None, str | None],
    mask: np.ndarray,
    intervals: tuple[tuple[float, float] | None, tuple[float, float] | None],
) -> Summary:
    version, strategy, origin = group
    in_results = results.version == version
    if origin is not None:
        in_results &= results.origin == origin
    if strategy is None:
        with_picks = int((in_results & (results.picks > 0)).sum())
    else:
        with_picks = len(set(picks.date[mask]))
    closed = mask & picks.closed
    counts = {name: int((picks.outcome[mask] == k).sum()) for k, name in enumerate(OUTCOMES)}
    decided = sum(counts[name] for name in DECIDED)
    net = picks.net[closed]
    return Summary(
        version=version,
        strategy=strategy,
        origin=origin,
        sessions=int(in_results.sum()),
        sessions_with_picks=with_picks,
        picks=int(mask.sum()),
        closed=int(closed.sum()),
        open=int((mask & ~picks.closed).sum()),
        carried=int((closed & picks.carried).sum()),
        outcomes=counts,
        hit_rate=counts["target"] / decided if decided else None,
        mean_return=_mean(net),
        mean_return_ci=intervals[0],
        gross_return=_mean(picks.gross[closed]),
        median_return=float(np.median(net)) if len(net) else None,
        benchmark_return=_mean(picks.benchmark[closed]),
        excess_return=_mean(picks.excess[closed]),
        excess_return_ci=intervals[1],
        kospi_return=_mean(picks.kospi[closed]),
        kosdaq_return=_mean(picks.kosdaq[closed]),
        mean_mae=_mean(picks.mae[closed]),
    )


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def pick_records(
    panel: Panel,
    columns: dict[str, list[Any]],
    guided: np.ndarray,
    holding: np.ndarray,
    outcomes: Outcomes,
    table: PickTable,
    horizon: int,
) -> list[dict[str, Any]]:
    """One plain-JSON dict per pick."""
    dates = [str(day) for day in panel.dates]
    excess = table.excess
    records = []
    for i in range(len(columns["date"])):
        row0, closed = int(outcomes.row0[i]), bool(outcomes.closed[i])
        session = int(outcomes.session[i])
        records.append(
            {
                "date": columns["date"][i],
                "version": columns["version"][i],
                "origin": table.origin[i],
                "strategy": columns["strategy"][i],
                "code": columns["code"][i],
                "rank": columns["rank"][i],
                "entry": float(columns["entry"][i]),
                "target_profit": columns["target_profit"][i] if guided[i] else None,
                "stop_loss": columns["stop_loss"][i] if guided[i] else None,
                "holding_period": int(holding[i]) if guided[i] else None,
                "closed": closed,
                "exit_date": dates[row0 + horizon] if closed else None,
                "exit_close": _number(outcomes.exit_close[i]),
                "carried": bool(outcomes.carried[i]),
                "gross_return": _number(table.gross[i]),
                "return": _number(table.net[i]),
                "benchmark_return": _number(table.benchmark[i]),
                "excess_return": _number(excess[i]),
                "kospi_return": _number(table.kospi[i]),
                "kosdaq_return": _number(table.kosdaq[i]),
                "outcome": OUTCOMES[int(outcomes.outcome[i])],
                "outcome_date": dates[row0 + session] if session else None,
                "outcome_sessions": session or None,
                "mae": _number(outcomes.mae[i]),
            }
        )
    return records


def by_date(table: PickTable) -> list[dict[str, Any]]:
    """Per (version, pick date) with closed picks: their count, mean net return, benchmark."""
    closed = np.flatnonzero(table.closed)
    keys = [(registry.sort_key(v), d) for v, d in zip(table.version, table.date, strict=True)]
    groups: dict[tuple, list[int]] = {}
    for i in closed:
        groups.setdefault(keys[i], []).append(i)
    out = []
    for (_, day), members in sorted(groups.items()):
        bench = table.benchmark[members]
        bench = bench[~np.isnan(bench)]
        out.append(
            {
                "version": table.version[members[0]],
                "date": day,
                "closed": len(members),
                "mean_return": float(table.net[members].mean()),
                "benchmark_return": float(bench.mean()) if len(bench) else None,
            }
        )
    return out
