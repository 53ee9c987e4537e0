"""Corporate actions: find tickers whose stored prices are on an old basis, refetch their history.

A source's bar for D comes with its previous close (the bar before it in a chart, or close −
change in a snapshot). After a split, rights issue or bonus issue the source restates the
history, so that previous close no longer matches the store's close of the same session. When
they differ by more than ``corporate_action_tolerance`` (relative), the ticker's adjusted
history is refetched from its first stored date and replaces the stored bars (by the sync, in
the date's transaction). A refetch that fails or returns invalid bars is reported instead; the
sync then writes no bar for that ticker that day and keeps its stored history as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from scanctl.clock import parse_date
from scanctl.logs import get_logger
from scanctl.market.calendar import KrxCalendar
from scanctl.providers.base import BarRow, DayBars, Provider, SourceBlocked, SourceError
from scanctl.providers.gates import row_problems
from scanctl.store.bar_queries import closes_on, code_first_bar_date

log = get_logger("providers.corporate")


@dataclass(frozen=True)
class Disagreement:
    """A ticker whose source previous close differs from the stored close of that session."""

    code: str
    previous_date: str
    stored_close: int
    source_close: int


@dataclass(frozen=True)
class CorporateAction:
    """A ticker whose stored bars ``first`` … ``last`` are replaced by ``bars`` adjusted bars."""

    code: str
    previous_date: str
    stored_close: int
    source_close: int
    first: str
    last: str
    bars: int

    @property
    def ratio(self) -> float:
        """Source previous close / stored close (0.5 for a 2:1 split)."""
        return self.source_close / self.stored_close


def find_disagreements(
    db: sqlite_utils.Database,
    batch: DayBars,
    rows: list[BarRow],
    calendar: KrxCalendar,
    tolerance: float,
) -> tuple[list[Disagreement], int]:
    """The tickers among ``rows`` whose source previous close disagrees with the store, and how
    many tickers could be compared at all (a stored close on that session).

    A `PreviousClose` without a date is compared with the calendar's previous session.
    """
    calendar_previous = calendar.previous_session(batch.day).isoformat()
    wanted: dict[str, list[tuple[str, int]]] = {}
    for row in rows:
        previous = batch.previous.get(row[1])
        if previous is not None and previous.close > 0:
            wanted.setdefault(previous.date or calendar_previous, []).append(
                (row[1], previous.close)
            )
    found: list[Disagreement] = []
    checked = 0
    for date, pairs in sorted(wanted.items()):
        stored = closes_on(db, date)
        for code, source_close in pairs:
            stored_close = stored.get(code)
            if not stored_close or stored_close <= 0:
                continue
            checked += 1
            if abs(source_close - stored_close) > tolerance * stored_close + 1e-9:
                found.append(Disagreement(code, date, stored_close, source_close))
    return found, checked


def refetch_histories(
    db: sqlite_utils.Database,
    provider: Provider,
    day: dt.date,
    disagreements: list[Disagreement],
) -> tuple[dict[str, list[BarRow]], list[CorporateAction], dict[str, str]]:
    """Each disagreeing ticker's adjusted history from its first stored date to ``day``.

    Sequential on purpose: they are few (the sync gate bounds them) and politeness matters more
    than seconds here. Returns the histories, the actions and, per failed code, why.

    Raises
    ------
    SourceBlocked
        The source blocked us meanwhile (the whole date is abandoned).
    """
    histories: dict[str, list[BarRow]] = {}
    actions: list[CorporateAction] = []
    failures: dict[str, str] = {}
    last = day.isoformat()
    for item in disagreements:
        code = item.code
        first = code_first_bar_date(db, code)
        try:
            history = provider.fetch_history(code, parse_date(first), day)
        except SourceBlocked:
            raise
        except SourceError as exc:
            failures[code] = str(exc)
            continue
        problem = history_problem(code, last, history)
        if problem:
            failures[code] = problem
            continue
        histories[code] = history
        action = CorporateAction(
            code,
            item.previous_date,
            item.stored_close,
            item.source_close,
            first,
            last,
            len(history),
        )
        actions.append(action)
        fields = {"code": code, "date": last, "previous": item.previous_date}
        fields |= {"stored_close": item.stored_close, "source_close": item.source_close}
        log.warning(
            "corporate action: stored history replaced by the source's adjusted history",
            extra={"fields": {**fields, "ratio": round(action.ratio, 4), "bars": len(history)}},
        )
    for code, reason in failures.items():
        log.error(
            "corporate action: history refetch failed; no bar written for the ticker",
            extra={"fields": {"code": code, "date": last, "reason": reason}},
        )
    return histories, actions, failures


def history_problem(code: str, day: str, history: list[BarRow]) -> str | None:
    """Why a refetched history cannot replace the stored one (None when it can)."""
    dates = [row[0] for row in history]
    if not history or dates[-1] != day:
        return f"the history of {code} from the source does not end on {day}"
    if any(row[1] != code for row in history) or dates != sorted(set(dates)):
        return f"the history of {code} from the source has foreign codes or repeated dates"
    broken = [row[0] for row in history if row_problems(row)]
    if broken:
        return f"the history of {code} has {len(broken)} invalid bars (e.g. {broken[0]})"
    return None
