"""Each pick's forward outcome, vectorised over picks: `pick_outcomes` (part of `evaluate`).

Sessions are the stored trading dates (dates with at least one stored bar): every pick of a
date shares its window with its benchmark. From the pick's entry (its anchor close on the pick
date):

* **N-session exit**: the ticker's close on the N-th session after the pick date; when it has
  no bar there (a halt, or its bars stop: a delisting) the last close before it — *carried* —
  and the entry itself when it did not trade at all. The benchmark's members are treated the
  same way (`scanctl.reports.evaluate_universe`).
* **Target/stop race** over sessions 1 … holding_period: ``target`` when high ≥ entry·(1 +
  target_profit) first, ``stop`` when low ≤ entry·(1 + stop_loss) first, ``both_same_day`` when
  both happen on one bar (the bars do not tell which came first: a stop for the hit rate);
  ``neither`` when the holding period elapsed; ``open`` when the data ends first (never a
  loss); ``no_guidance`` when the flags lack a valid target (> 0), stop (< 0) and holding
  period (≥ 1), e.g. 관찰. Levels compare with a 1e-9 relative tolerance, so that a high
  exactly at the target price counts. Days without a bar are skipped by the race.
* **Maximum adverse excursion** = min(low over sessions 1 … N)/entry − 1, unclamped; partial
  for a pick still open.
* **Path**: the close of sessions 1 … N relative to the entry, carried like the exit; the
  equity curves mark holdings to market with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scanctl.store.panel import Panel

OUTCOMES = ("target", "stop", "both_same_day", "neither", "open", "no_guidance")
DECIDED = ("target", "stop", "both_same_day", "neither")
TOLERANCE = 1e-9  # relative, on price levels


@dataclass(frozen=True, eq=False)
class Outcomes:
    """Per-pick arrays, all ``(P,)`` unless said otherwise.

    row0 is the panel row of the last stored date ≤ the pick date (-1 before the panel) and
    on_date whether it is the pick date itself; closed: the N-th session is stored; ret: the
    gross N-session return (NaN while open); carried: closed with no bar on the exit session;
    outcome: index into `OUTCOMES`; session: the session the race was decided on (0: not);
    path: ``(P, N)`` closes of sessions 1 … N over the entry, carried (NaN past the data).
    """

    row0: np.ndarray
    on_date: np.ndarray
    closed: np.ndarray
    exit_close: np.ndarray
    ret: np.ndarray
    carried: np.ndarray
    mae: np.ndarray
    outcome: np.ndarray
    session: np.ndarray
    path: np.ndarray


def floats(values: list[Any]) -> np.ndarray:
    """Numbers as float64; None and non-numbers (a string in hand-edited flags) become NaN."""
    return np.array(
        [v if isinstance(v, int | float) and not isinstance(v, bool) else np.nan for v in values],
        dtype=np.float64,
    )


def has_guidance(columns: dict[str, list[Any]]) -> np.ndarray:
    """``(P,)`` bool: target_profit > 0, stop_loss < 0 and holding_period ≥ 1 (ENGINES.md §4.4)."""
    with np.errstate(invalid="ignore"):
        return (
            (floats(columns["target_profit"]) > 0)
            & (floats(columns["stop_loss"]) < 0)
            & (floats(columns["holding_period"]) >= 1)
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


def forward_fill(values: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``(P, K)`` ``values`` with each NaN replaced by the last number to its left in its row,
    or by ``start`` (``(P,)``) before the first one."""
    filled = np.concatenate([start[:, None], values], axis=1)
    seen = ~np.isnan(filled)
    last = np.maximum.accumulate(np.where(seen, np.arange(filled.shape[1]), 0), axis=1)
    return np.take_along_axis(filled, last, axis=1)[:, 1:]


def locate(panel: Panel | None, days: list[str], codes: list[str]) -> tuple[np.ndarray, ...]:
    """Per pick: the panel row of the last stored date ≤ the pick date (-1 before the panel),
    whether that row is the pick date itself, and the ticker's column (-1 when absent)."""
    if panel is None or not len(panel.codes):
        missing = np.full(len(days), -1)
        return missing, np.zeros(len(days), dtype=bool), missing
    pick_days = np.array(days, dtype="datetime64[D]")
    row0 = np.searchsorted(panel.dates, pick_days, side="right") - 1
    on_date = (row0 >= 0) & (panel.dates[np.maximum(row0, 0)] == pick_days)
    wanted = np.array(codes, dtype="U6")
    cols = np.minimum(np.searchsorted(panel.codes, wanted), len(panel.codes) - 1)
    found = panel.codes[cols] == wanted
    return row0, on_date, np.where(found, cols, -1)


def pick_outcomes(
    panel: Panel | None,
    columns: dict[str, list[Any]],
    guided: np.ndarray,
    holding: np.ndarray,
    horizon: int,
    width: int,
) -> Outcomes:
    """The `Outcomes` of the picks in ``columns`` (see the module doc).

    ``holding`` is each pick's holding period (0 without guidance); ``width`` ≥ horizon and
    every holding period: the sessions the panel holds after the last pick date at most.
    """
    count = len(columns["date"])
    entry = np.array(columns["entry"], dtype=np.float64)
    row0, on_date, cols = locate(panel, columns["date"], columns["code"])
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

    # N-session exit: the last close on or before session N (carried), else the entry.
    closed = available >= horizon
    traded = ~np.isnan(closes)
    path = forward_fill(closes, entry)
    path[steps[None, :reach] > available[:, None]] = np.nan  # past the stored data
    exit_close = path[:, -1] if reach else np.full(count, np.nan)
    ret = np.where(closed, exit_close / entry - 1, np.nan)
    carried = closed & ~traded[:, -1] if reach else np.zeros(count, dtype=bool)
    low_min = np.min(np.where(traded, lows[:, :reach], np.inf), axis=1, initial=np.inf)
    mae = np.where(np.isfinite(low_min), low_min / entry - 1, np.nan)

    # The target/stop race over sessions 1 … holding_period.
    in_hold = steps[None, :] <= holding[:, None]
    target_price = entry * (1 + np.nan_to_num(floats(columns["target_profit"])))
    stop_price = entry * (1 + np.nan_to_num(floats(columns["stop_loss"])))
    with np.errstate(invalid="ignore"):
        hit_target = (highs >= (target_price * (1 - TOLERANCE))[:, None]) & in_hold
        hit_stop = (lows <= (stop_price * (1 + TOLERANCE))[:, None]) & in_hold
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
    return Outcomes(
        row0=row0,
        on_date=on_date,
        closed=closed,
        exit_close=np.where(closed, exit_close, np.nan),
        ret=ret,
        carried=carried,
        mae=mae,
        outcome=outcome,
        session=session,
        path=path / entry[:, None],
    )
