"""`scanctl evaluate`: the forward outcome of every stored pick, summarised per version/strategy.

Over 400 lines (STYLE R20): reading, the vectorised outcomes and the summaries are one data flow
whose intermediate arrays stay private to it; the plot lives in `scanctl.reports.evaluate_plot`.

Algorithm (`evaluate_picks`):

1. `pick_rows` — the `scan_rank` rows in the date range (``NORESULT`` placeholders and rows
   without an entry price excluded), guidance read from ``flags`` in the same query.
2. `dates_spanning` + `read_panel` — one wide panel from the first pick date through the W-th
   stored date after the last pick date, W = max(horizon, longest holding period): every bar
   needed, read once.
3. `_outcomes` — `_locate` finds each pick's panel row and column, `_gather` takes the high,
   low and close of its ticker on the W stored dates after the pick date as ``(picks, W)``
   arrays; then the N-session return, the target/stop race and the maximum adverse excursion,
   vectorised over picks.
4. `_universe_returns` — the equal-weighted universe return of every N-session window.
5. `_pick_records`, `_summarise`, `_by_date` — plain records, then per version, per (version,
   strategy) and per (version, pick date).

Choices (the command's help repeats the first and the open / same-bar rules):

* **Sessions are the stored trading dates** (dates with at least one stored bar), not the
  ticker's own bars: every pick of a date shares its window with the universe benchmark. A day
  on which the picked ticker has no bar (a halt) is skipped by the target/stop race and the
  adverse excursion, and the N-session exit price is the ticker's last close on or before the
  N-th session (its entry when it did not trade at all).
* **Entry** is the pick's ``anchor_close`` (its close on the pick date; ``close_price`` when
  the anchor is missing). The forward window starts on the first stored date after it.
* **Target/stop race** over sessions 1 … holding_period: ``target`` when high ≥ entry·(1 +
  target_profit) first, ``stop`` when low ≤ entry·(1 + stop_loss) first, ``both_same_day`` when
  both happen on the same bar — the bars do not tell which came first, so it counts as a stop
  (a miss for the hit rate); ``neither`` when the holding period elapsed; ``open`` when the
  data ends first (never a loss); ``no_guidance`` when the pick's flags lack a valid target
  (> 0), stop (< 0) and holding period (≥ 1), e.g. 관찰. Levels compare with a 1e-9 relative
  tolerance so that a high exactly at the target price counts.
* **Maximum adverse excursion** = min(low over sessions 1 … N)/entry − 1, unclamped (positive
  when the price never traded below the entry); partial for a pick still open.
* **Closed / open**: a pick is closed when its N-th session is stored. Returns, benchmark and
  MAE summaries use closed picks only; the hit rate uses picks whose race is decided.
* **Universe benchmark**: the mean N-session return of every ticker with a bar at both ends
  of the window (the scan universe of a date is not stored, so all stored tickers, ETFs
  included); a group's benchmark is the mean over its closed picks, so days weigh as the picks
  do, and the excess return is the mean of (pick return − its window's benchmark).
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
from scanctl.store.bar_queries import dates_spanning
from scanctl.store.panel import Panel, read_panel
from scanctl.store.picks import pick_rows

OUTCOMES = ("target", "stop", "both_same_day", "neither", "open", "no_guidance")
DECIDED = ("target", "stop", "both_same_day", "neither")
STRATEGY_ORDER = ("스윙", "포지션", "장기", "관찰", "midterm", "v2_lite")
_TOLERANCE = 1e-9  # relative, on price levels
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


@dataclass(frozen=True)
class Summary:
    """The outcome of a group of picks (a version, a version's strategy)."""

    version: str
    strategy: str | None  # None: every strategy of the version
    picks: int
    closed: int
    open: int
    outcomes: dict[str, int]
    hit_rate: float | None
    mean_return: float | None
    median_return: float | None
    benchmark_return: float | None
    excess_return: float | None
    mean_mae: float | None

    def to_record(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Evaluation:
    """Every pick's forward outcome and the summaries of `evaluate_picks`.

    ``picks`` holds one plain dict per pick, in (date, version, strategy, rank) order: date,
    version, strategy, code, rank, entry, target_profit, stop_loss, holding_period (null without
    guidance), closed, exit_date and exit_close (the N-th session; null while open), return,
    benchmark_return, excess_return (null while open), outcome (one of `OUTCOMES`),
    outcome_date and outcome_sessions (when the race was decided, or the holding period's end
    for ``neither``), mae. ``by_date`` holds one dict per (version, pick date) with closed
    picks: their count, mean return and mean benchmark. ``data_end`` is the last stored date
    read: W sessions after the last pick date, or the store's last date.
    """

    start: dt.date | None
    end: dt.date | None
    horizon: int
    versions: tuple[str, ...]
    data_end: str | None
    picks: list[dict[str, Any]]
    by_version: list[Summary]
    by_strategy: list[Summary]
    by_date: list[dict[str, Any]]

    def to_record(self) -> dict[str, Any]:
        return {
            "from": None if self.start is None else self.start.isoformat(),
            "to": None if self.end is None else self.end.isoformat(),
            "horizon": self.horizon,
            "versions": list(self.versions),
            "data_end": self.data_end,
            "by_version": [s.to_record() for s in self.by_version],
            "by_strategy": [s.to_record() for s in self.by_strategy],
            "by_date": self.by_date,
            "picks": self.picks,
        }


def evaluate_picks(
    db: sqlite_utils.Database,
    versions: tuple[str, ...] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    horizon: int = 10,
) -> Evaluation:
    """The forward outcome of the stored picks dated ``start`` … ``end`` (see the module doc).

    Parameters
    ----------
    db
        An open store.
    versions
        Engine versions to evaluate; None means every version with picks in the range.
    start, end
        Inclusive pick-date bounds; None leaves that side open.
    horizon
        N, the number of stored sessions after the pick date at which the return is taken.

    Returns
    -------
    Evaluation
        Empty lists when no pick lies in the range.

    Raises
    ------
    BadInput
        ``horizon`` < 1, or ``start`` after ``end``.
    """
    if horizon < 1:
        raise BadInput(f"--horizon: must be at least 1 session, got {horizon}")
    check_range(start, end)
    rows = pick_rows(db, versions, start, end)
    present = tuple(sorted({row[1] for row in rows}, key=registry.sort_key))
    if not rows:
        return Evaluation(start, end, horizon, present, None, [], [], [], [])
    columns = {name: [row[k] for row in rows] for k, name in enumerate(_PICK_COLUMNS)}
    guided = _has_guidance(columns)
    holding_days = np.clip(np.nan_to_num(_floats(columns["holding_period"])), 0, _MAX_SESSIONS)
    holding = np.where(guided, holding_days, 0).astype(int)
    width = max(horizon, int(holding.max()))
    dates = dates_spanning(db, columns["date"][0], columns["date"][-1], width)
    panel = read_panel(db, stored_date(dates[-1]), len(dates)) if dates else None
    result = _outcomes(panel, columns, guided, holding, horizon, width)
    picks = _pick_records(panel, columns, guided, holding, result)
    return Evaluation(
        start=start,
        end=end,
        horizon=horizon,
        versions=present,
        data_end=dates[-1] if dates else None,
        picks=picks,
        by_version=_summarise(picks, by_strategy=False),
        by_strategy=_summarise(picks, by_strategy=True),
        by_date=_by_date(picks),
    )


def _floats(values: list[Any]) -> np.ndarray:
    """Numbers as float64; None and non-numbers (a string in hand-edited flags) become NaN."""
    return np.array(
        [v if isinstance(v, int | float) and not isinstance(v, bool) else np.nan for v in values],
        dtype=np.float64,
    )


def _has_guidance(columns: dict[str, list[Any]]) -> np.ndarray:
    """``(P,)`` bool: target_profit > 0, stop_loss < 0 and holding_period ≥ 1 (ENGINES.md §4.4)."""
    with np.errstate(invalid="ignore"):
        return (
            (_floats(columns["target_profit"]) > 0)
            & (_floats(columns["stop_loss"]) < 0)
            & (_floats(columns["holding_period"]) >= 1)
        )


def _gather(values: np.ndarray | None, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``values[rows, cols]`` with NaN wherever the row or the column lies outside the panel."""
    out = np.full(rows.shape, np.nan)
    if values is None:
        return out
    cols = np.broadcast_to(cols, rows.shape)
    inside = (rows >= 0) & (rows < values.shape[0]) & (cols >= 0)
    out[inside] = values[rows[inside], cols[inside]]
    return out


def _first_true(mask: np.ndarray) -> np.ndarray:
    """``(P,)`` index of the first True of each row of ``mask``; -1 when there is none."""
    if not mask.shape[1]:
        return np.full(mask.shape[0], -1)
    return np.where(mask.any(axis=1), np.argmax(mask, axis=1), -1)


def _locate(panel: Panel | None, days: list[str], codes: list[str]) -> tuple[np.ndarray, ...]:
    """Per pick: the panel row of the last stored date ≤ the pick date (-1 before the panel),
    whether that row is the pick date itself, and the ticker's column (-1 when absent)."""
    if panel is None:
        missing = np.full(len(days), -1)
        return missing, np.zeros(len(days), dtype=bool), missing
    pick_days = np.array(days, dtype="datetime64[D]")
    row0 = np.searchsorted(panel.dates, pick_days, side="right") - 1
    on_date = (row0 >= 0) & (panel.dates[np.maximum(row0, 0)] == pick_days)
    wanted = np.array(codes, dtype="U6")
    cols = np.minimum(np.searchsorted(panel.codes, wanted), len(panel.codes) - 1)
    found = panel.codes[cols] == wanted
    return row0, on_date, np.where(found, cols, -1)


def _outcomes(
    panel: Panel | None,
    columns: dict[str, list[Any]],
    guided: np.ndarray,
    holding: np.ndarray,
    horizon: int,
    width: int,
) -> dict[str, np.ndarray]:
    """Per-pick arrays (see the module doc): return, benchmark, MAE, outcome and its session."""
    count = len(columns["date"])
    entry = np.array(columns["entry"], dtype=np.float64)
    row0, on_date, cols = _locate(panel, columns["date"], columns["code"])
    n_dates = 0 if panel is None else len(panel.dates)
    # The panel ends W sessions after the last pick date, or where the store ends: this is
    # min(W, the stored sessions after the pick date). Windows never reach past the panel, so
    # a huge holding period or horizon costs no memory.
    available = n_dates - 1 - row0
    width = min(width, n_dates)
    steps = np.arange(1, width + 1)
    rows = row0[:, None] + steps[None, :]
    highs = _gather(None if panel is None else panel.high, rows, cols[:, None])
    lows = _gather(None if panel is None else panel.low, rows, cols[:, None])
    reach = min(horizon, width)  # = horizon for every closed pick
    closes = _gather(None if panel is None else panel.close, rows[:, :reach], cols[:, None])

    # N-session return: the last close on or before session N (a halt carries the price).
    closed = available >= horizon
    traded = ~np.isnan(closes)
    last = reach - 1 - np.maximum(_first_true(traded[:, ::-1]), 0)
    exit_close = np.full(count, np.nan)
    if reach:
        exit_close = np.where(traded.any(axis=1), closes[np.arange(count), last], entry)
    ret = np.where(closed, exit_close / entry - 1, np.nan)
    low_min = np.min(np.where(traded, lows[:, :reach], np.inf), axis=1, initial=np.inf)
    mae = np.where(np.isfinite(low_min), low_min / entry - 1, np.nan)

    # The target/stop race over sessions 1 … holding_period.
    in_hold = steps[None, :] <= holding[:, None]
    target_price = entry * (1 + np.nan_to_num(_floats(columns["target_profit"])))
    stop_price = entry * (1 + np.nan_to_num(_floats(columns["stop_loss"])))
    with np.errstate(invalid="ignore"):
        hit_target = (highs >= (target_price * (1 - _TOLERANCE))[:, None]) & in_hold
        hit_stop = (lows <= (stop_price * (1 + _TOLERANCE))[:, None]) & in_hold
    never = width + 1
    t_at = np.where(hit_target.any(axis=1), _first_true(hit_target) + 1, never)
    s_at = np.where(hit_stop.any(axis=1), _first_true(hit_stop) + 1, never)
    conditions = {
        "no_guidance": ~guided,
        "target": t_at < s_at,
        "stop": s_at < t_at,
        "both_same_day": (s_at == t_at) & (s_at != never),
        "neither": available >= holding,
    }
    outcome = np.select(
        list(conditions.values()),
        [OUTCOMES.index(name) for name in conditions],
        default=OUTCOMES.index("open"),
    )
    session = np.select(
        [outcome == OUTCOMES.index(name) for name in DECIDED],
        [t_at, s_at, s_at, holding],
        default=0,
    )
    bench = _universe_returns(panel, horizon)
    compared = closed & on_date
    pick_bench = np.full(count, np.nan)
    pick_bench[compared] = bench[row0[compared]]
    return {
        "row0": row0,
        "exit_row": row0 + horizon,
        "closed": closed,
        "exit_close": exit_close,
        "ret": ret,
        "bench": pick_bench,
        "mae": mae,
        "outcome": outcome,
        "session": session,
    }


def _universe_returns(panel: Panel | None, horizon: int) -> np.ndarray:
    """``(S - N,)``: the mean return from row r to row r + N of tickers with bars at both ends."""
    if panel is None or panel.close.shape[0] <= horizon:
        return np.empty(0)
    closes = panel.close
    with np.errstate(invalid="ignore", divide="ignore"):
        change = closes[horizon:] / closes[:-horizon] - 1
        valid = ~np.isnan(change)
        counts = valid.sum(axis=1)
        totals = np.where(valid, change, 0).sum(axis=1)
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _pick_records(
    panel: Panel | None,
    columns: dict[str, list[Any]],
    guided: np.ndarray,
    holding: np.ndarray,
    result: dict[str, np.ndarray],
) -> list[dict[str, Any]]:
    """One plain-JSON dict per pick."""
    dates = [] if panel is None else [str(day) for day in panel.dates]
    records = []
    for i in range(len(columns["date"])):
        row0, closed = int(result["row0"][i]), bool(result["closed"][i])
        outcome = OUTCOMES[int(result["outcome"][i])]
        session = int(result["session"][i])
        ret, bench = _number(result["ret"][i]), _number(result["bench"][i])
        records.append(
            {
                "date": columns["date"][i],
                "version": columns["version"][i],
                "strategy": columns["strategy"][i],
                "code": columns["code"][i],
                "rank": columns["rank"][i],
                "entry": float(columns["entry"][i]),
                "target_profit": columns["target_profit"][i] if guided[i] else None,
                "stop_loss": columns["stop_loss"][i] if guided[i] else None,
                "holding_period": int(holding[i]) if guided[i] else None,
                "closed": closed,
                "exit_date": dates[int(result["exit_row"][i])] if closed else None,
                "exit_close": float(result["exit_close"][i]) if closed else None,
                "return": ret,
                "benchmark_return": bench,
                "excess_return": None if ret is None or bench is None else ret - bench,
                "outcome": outcome,
                "outcome_date": dates[row0 + session] if session else None,
                "outcome_sessions": session or None,
                "mae": _number(result["mae"][i]),
            }
        )
    return records


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _strategy_key(strategy: str | None) -> tuple[int, str]:
    if strategy in STRATEGY_ORDER:
        return STRATEGY_ORDER.index(strategy), ""
    return len(STRATEGY_ORDER), strategy or ""


def _summarise(picks: list[dict[str, Any]], *, by_strategy: bool) -> list[Summary]:
    """One `Summary` per version (or per version and strategy), in canonical order."""
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for pick in picks:
        key = (pick["version"], pick["strategy"] if by_strategy else None)
        groups.setdefault(key, []).append(pick)
    order = sorted(
        groups,
        key=lambda k: (registry.sort_key(k[0]), _strategy_key(k[1]) if by_strategy else (0, "")),
    )
    return [_summary(version, strategy, groups[(version, strategy)]) for version, strategy in order]


def _summary(version: str, strategy: str | None, picks: list[dict[str, Any]]) -> Summary:
    closed = [p for p in picks if p["closed"]]
    returns = [p["return"] for p in closed]
    compared = [p for p in closed if p["benchmark_return"] is not None]
    outcomes = {name: 0 for name in OUTCOMES}
    for pick in picks:
        outcomes[pick["outcome"]] += 1
    decided = sum(outcomes[name] for name in DECIDED)
    return Summary(
        version=version,
        strategy=strategy,
        picks=len(picks),
        closed=len(closed),
        open=len(picks) - len(closed),
        outcomes=outcomes,
        hit_rate=outcomes["target"] / decided if decided else None,
        mean_return=_mean(returns),
        median_return=float(np.median(returns)) if returns else None,
        benchmark_return=_mean([p["benchmark_return"] for p in compared]),
        excess_return=_mean([p["excess_return"] for p in compared]),
        mean_mae=_mean([p["mae"] for p in closed if p["mae"] is not None]),
    )


def _by_date(picks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (version, pick date) with closed picks: their count, mean return and benchmark."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for pick in picks:
        if pick["closed"]:
            groups.setdefault((pick["version"], pick["date"]), []).append(pick)
    return [
        {
            "version": version,
            "date": day,
            "closed": len(group),
            "mean_return": _mean([p["return"] for p in group]),
            "benchmark_return": _mean(
                [p["benchmark_return"] for p in group if p["benchmark_return"] is not None]
            ),
        }
        for (version, day), group in sorted(
            groups.items(), key=lambda item: (registry.sort_key(item[0][0]), item[0][1])
        )
    ]
