"""The KRX trading calendar: which dates are sessions, and when each session opens and closes.

Three layers answer, the first that knows a date wins:

1. operator overrides, rows of the ``calendar_overrides`` table (``calendar overrides add``);
2. shipped overrides, ``krx_overrides.csv`` beside this module: dated facts with a source each
   (CSAT late sessions, ad-hoc closures that exchange_calendars misses or may miss);
3. exchange_calendars ``XKRX``, up to its last session (about a year after today); beyond it a
   weekday rule (Mon–Fri, 09:00–15:30 KST).

exchange_calendars pulls in pandas and takes about a second to build, so it is imported only
when a date first needs it and the result is cached for the process. Dates are
``datetime.date``; opens and closes are timezone-aware datetimes in Asia/Seoul.

Over 400 lines (R20): the override type, its CSV and table forms and the calendar that layers
them are one contract; the rest is the NumPy docstrings that R16 asks for.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from scanctl.clock import KST, check_range, parse_date
from scanctl.errors import BadInput, ScanctlError
from scanctl.market.xkrx import xkrx_schedule

if TYPE_CHECKING:
    import sqlite_utils

EARLIEST_DATE = date(2000, 1, 1)
"""Dates before this are refused: scanctl has no use for them and XKRX is loaded from here."""

NORMAL_OPEN = time(9, 0)
NORMAL_CLOSE = time(15, 30)
"""The regular KRX session (since 2016-08-01), used by the weekday rule."""

SOURCE_EXCHANGE_CALENDARS = "exchange_calendars"
SOURCE_SHIPPED = "shipped override"
SOURCE_OPERATOR = "operator override"
SOURCE_WEEKDAY_RULE = "weekday rule (beyond exchange_calendars range)"

OVERRIDE_KINDS = ("closed", "session")
SHIPPED_FILE = "krx_overrides.csv"
SHIPPED_COLUMNS = ("date", "kind", "open_time", "close_time", "reason", "source")

_MAX_SEARCH_DAYS = 366
_HH_MM = re.compile(r"^(\d{1,2}):(\d{2})$")
_NO_OVERRIDES: Mapping[date, Override] = MappingProxyType({})


class NotASession(BadInput):
    """The date asked for is not a KRX session (holiday, weekend or override)."""


def parse_time(value: str | time, param_name: str = "time") -> time:
    """Parse ``HH:MM`` (24-hour, read as KST) into a time.

    Parameters
    ----------
    value
        Text such as ``"16:30"``; a ``datetime.time`` is returned unchanged.
    param_name
        The option or field the value came from, named in the error.

    Returns
    -------
    datetime.time
        A naive time, minutes precision.

    Raises
    ------
    BadInput
        Naming the parameter and the value received.
    """
    if isinstance(value, time):
        return value
    match = _HH_MM.match(value.strip())
    if match:
        hour, minute = (int(part) for part in match.groups())
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise BadInput(
        f"--{param_name.replace('_', '-')}: {value!r} is not a time; use HH:MM (24-hour, KST)"
    )


@dataclass(frozen=True)
class Override:
    """One dated fact that replaces exchange_calendars' answer for that date.

    A ``closed`` override takes no times; a ``session`` override needs ``open_time`` before
    ``close_time`` (naive times, KST). Every override carries a reason. Building an invalid
    override raises ``BadInput`` naming the field.
    """

    date: date
    kind: Literal["closed", "session"]
    open_time: time | None
    close_time: time | None
    reason: str

    def __post_init__(self) -> None:
        where = f"calendar override for {self.date}"
        if self.date < EARLIEST_DATE:
            raise BadInput(f"{where}: date must be on or after {EARLIEST_DATE}")
        if self.kind not in OVERRIDE_KINDS:
            raise BadInput(f"{where}: kind {self.kind!r} is not one of closed, session")
        if not self.reason or not self.reason.strip():
            raise BadInput(f"{where}: reason is required (for example 'CSAT day')")
        if self.kind == "closed":
            if self.open_time is not None or self.close_time is not None:
                raise BadInput(f"{where}: a closed override takes no open_time or close_time")
            return
        for field in ("open_time", "close_time"):
            if getattr(self, field) is None:
                raise BadInput(f"{where}: a session override needs {field} (HH:MM, KST)")
        assert self.open_time is not None and self.close_time is not None
        if self.open_time >= self.close_time:
            raise BadInput(
                f"{where}: open_time {self.open_time:%H:%M} must be before "
                f"close_time {self.close_time:%H:%M}"
            )


@dataclass(frozen=True)
class SessionInfo:
    """The calendar's answer for one date.

    ``open`` and ``close`` are Asia/Seoul datetimes for a session and None otherwise;
    ``source`` says which layer answered: ``exchange_calendars``, ``shipped override``,
    ``operator override`` or ``weekday rule (beyond exchange_calendars range)``.
    """

    date: date
    is_session: bool
    open: datetime | None
    close: datetime | None
    reason: str | None
    source: str


@functools.lru_cache(maxsize=1)
def _shipped() -> Mapping[date, Override]:
    """Parse the shipped overrides file once; a malformed row is a packaging bug (exit 1)."""
    text = resources.files("scanctl.market").joinpath(SHIPPED_FILE).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != SHIPPED_COLUMNS:
        raise ScanctlError(f"{SHIPPED_FILE}: header must be {','.join(SHIPPED_COLUMNS)}")
    overrides: dict[date, Override] = {}
    for row in reader:
        try:
            if not row["source"].strip():
                raise BadInput("source is required")
            override = _override_from_text(row)
        except BadInput as exc:
            raise ScanctlError(f"{SHIPPED_FILE} line {reader.line_num}: {exc}") from None
        if override.date in overrides:
            raise ScanctlError(f"{SHIPPED_FILE} line {reader.line_num}: duplicate {override.date}")
        overrides[override.date] = override
    return MappingProxyType(overrides)


def shipped_overrides() -> dict[date, Override]:
    """The overrides shipped in ``krx_overrides.csv``, keyed by date.

    Returns
    -------
    dict[datetime.date, Override]
        A fresh dict; changing it changes nothing else.

    Raises
    ------
    ScanctlError
        The shipped file is malformed (a packaging bug, exit 1).
    """
    return dict(_shipped())


def _override_from_text(row: Mapping[str, str | None]) -> Override:
    """Build an override from the text columns of a CSV row or a database row."""
    open_text = (row["open_time"] or "").strip()
    close_text = (row["close_time"] or "").strip()
    return Override(
        date=parse_date(row["date"] or "", "date"),
        kind=(row["kind"] or "").strip(),  # type: ignore[arg-type]  # checked in __post_init__
        open_time=parse_time(open_text, "open_time") if open_text else None,
        close_time=parse_time(close_text, "close_time") if close_text else None,
        reason=(row["reason"] or "").strip(),
    )


class KrxCalendar:
    """KRX sessions from operator overrides, shipped overrides and exchange_calendars XKRX.

    Parameters
    ----------
    operator_overrides
        Operator overrides keyed by date; they win over the shipped ones. ``from_db`` reads
        them from the ``calendar_overrides`` table.

    Every method takes ``datetime.date`` values and raises ``BadInput`` for dates before
    2000-01-01.
    """

    def __init__(self, operator_overrides: Mapping[date, Override] = _NO_OVERRIDES) -> None:
        self._operator = MappingProxyType(dict(operator_overrides))
        self._shipped = _shipped()

    @classmethod
    def from_db(cls, db: sqlite_utils.Database) -> KrxCalendar:
        """The calendar with the operator overrides stored in ``db``."""
        return cls({override.date: override for override in list_overrides(db)})

    def check(self, day: date) -> SessionInfo:
        """Whether ``day`` is a session, its open and close, why, and which layer says so.

        Raises
        ------
        BadInput
            ``day`` is before 2000-01-01.
        """
        _require_supported(day, "date")
        for overrides, source in (
            (self._operator, SOURCE_OPERATOR),
            (self._shipped, SOURCE_SHIPPED),
        ):
            override = overrides.get(day)
            if override is not None:
                return _info_from_override(override, source)
        schedule = xkrx_schedule()
        if day > schedule.last_session:
            if day.weekday() >= 5:
                return SessionInfo(day, False, None, None, "weekend", SOURCE_WEEKDAY_RULE)
            return _session(day, NORMAL_OPEN, NORMAL_CLOSE, None, SOURCE_WEEKDAY_RULE)
        hours = schedule.hours.get(day)
        if hours is None:
            reason = "weekend" if day.weekday() >= 5 else "KRX holiday (exchange_calendars XKRX)"
            return SessionInfo(day, False, None, None, reason, SOURCE_EXCHANGE_CALENDARS)
        return _session(day, hours[0], hours[1], None, SOURCE_EXCHANGE_CALENDARS)

    def is_session(self, day: date) -> bool:
        """Whether ``day`` is a KRX session."""
        return self.check(day).is_session

    def session_close(self, session: date) -> datetime:
        """The close of ``session`` (Asia/Seoul), 16:30 on CSAT days.

        Raises
        ------
        NotASession
            ``session`` is not a session; the message names the date, the reason and the
            previous session.
        """
        info = self.check(session)
        if info.close is None:
            previous = self.previous_session(session)
            raise NotASession(
                f"{session} is not a KRX session ({info.reason}; {info.source}); "
                f"the previous session is {previous}"
            )
        return info.close

    def ready_at(self, session: date, margin_minutes: int = 0) -> datetime:
        """When a session's results may be computed: its close plus ``margin_minutes``.

        This is the one close-time rule: the scan's close guard, `data sync` and the freshness
        checks all ask it.

        Raises
        ------
        NotASession
            ``session`` is not a session.
        """
        return self.session_close(session) + timedelta(minutes=margin_minutes)

    def last_ready_session(self, now: datetime, margin_minutes: int = 0) -> date:
        """The latest session whose close plus ``margin_minutes`` is not after ``now``."""
        last = self.last_session_on_or_before(now.date())
        if now < self.ready_at(last, margin_minutes):
            last = self.previous_session(last)
        return last

    def next_session(self, day: date) -> date:
        """The first session strictly after ``day``.

        Raises
        ------
        BadInput
            No session within a year after ``day`` (operator overrides closed them all).
        """
        return self._search(day, step=1)

    def previous_session(self, day: date) -> date:
        """The last session strictly before ``day``.

        Raises
        ------
        BadInput
            The search would reach before 2000-01-01, or no session within a year.
        """
        return self._search(day, step=-1)

    def last_session_on_or_before(self, day: date) -> date:
        """``day`` when it is a session, else the previous session."""
        return day if self.is_session(day) else self.previous_session(day)

    def sessions_in_range(self, start: date, end: date) -> list[date]:
        """The sessions from ``start`` to ``end``, both included, in order.

        Raises
        ------
        BadInput
            ``start`` is after ``end``, or either is before 2000-01-01.
        """
        _require_supported(start, "from")
        _require_supported(end, "to")
        check_range(start, end)
        days = (start + timedelta(days=offset) for offset in range((end - start).days + 1))
        return [day for day in days if self.is_session(day)]

    def horizon(self) -> date:
        """The last session exchange_calendars knows; later dates use the weekday rule."""
        return xkrx_schedule().last_session

    def _search(self, day: date, step: int) -> date:
        _require_supported(day, "date")
        candidate = day
        for _ in range(_MAX_SEARCH_DAYS):
            candidate += timedelta(days=step)
            if candidate < EARLIEST_DATE:
                raise BadInput(f"no KRX session before {day} on or after {EARLIEST_DATE}")
            if self.is_session(candidate):
                return candidate
        direction = "after" if step > 0 else "before"
        raise BadInput(
            f"no KRX session within {_MAX_SEARCH_DAYS} days {direction} {day}; "
            "check `scanctl calendar overrides list`"
        )


def _require_supported(day: date, param_name: str) -> None:
    if day < EARLIEST_DATE:
        raise BadInput(
            f"--{param_name}: {day} is before {EARLIEST_DATE}; the calendar starts there"
        )


def _session(
    day: date, open_time: time, close_time: time, reason: str | None, source: str
) -> SessionInfo:
    return SessionInfo(
        day,
        True,
        datetime.combine(day, open_time, tzinfo=KST),
        datetime.combine(day, close_time, tzinfo=KST),
        reason,
        source,
    )


def _info_from_override(override: Override, source: str) -> SessionInfo:
    if override.kind == "closed":
        return SessionInfo(override.date, False, None, None, override.reason, source)
    assert override.open_time is not None and override.close_time is not None
    return _session(override.date, override.open_time, override.close_time, override.reason, source)


def list_overrides(db: sqlite_utils.Database) -> list[Override]:
    """The operator overrides stored in ``db``, by date.

    Raises
    ------
    BadInput
        A stored row is invalid (edited by hand); the message names the date and field.
    """
    # Imported here, as below: sqlite_utils imports pandas when present.
    from scanctl.store.calendar_overrides import read_override_rows

    return [_override_from_text(asdict(row)) for row in read_override_rows(db)]


def add_override(db: sqlite_utils.Database, override: Override) -> None:
    """Store an operator override, replacing any stored for the same date.

    Parameters
    ----------
    db
        The store (``scanctl.store.db.open_db``).
    override
        Already validated: ``Override(...)`` raises ``BadInput`` naming the field for a bad
        kind, a session without both times or with open_time >= close_time, a closed
        override with times, or a missing reason.
    """
    from scanctl.store.calendar_overrides import OverrideRow, save_override_row

    row = OverrideRow(
        override.date.isoformat(),
        override.kind,
        _time_text(override.open_time),
        _time_text(override.close_time),
        override.reason.strip(),
    )
    save_override_row(db, row)


def remove_override(db: sqlite_utils.Database, day: date) -> bool:
    """Delete the operator override for ``day``; False when there was none."""
    from scanctl.store.calendar_overrides import delete_override_row

    return delete_override_row(db, day.isoformat())


def _time_text(value: time | None) -> str | None:
    return None if value is None else f"{value:%H:%M}"
