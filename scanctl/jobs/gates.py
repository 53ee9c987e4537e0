"""The checks before a scan computes anything (PRODUCT.md §5 steps 2–4).

Each returns a verdict or raises: a future date is bad input (exit 2); a non-session is an
expected skip (exit 0); today before the close plus the margin, or missing bars, is "data not
ready" (exit 3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from scanctl.clock import now_kst, sleep
from scanctl.errors import BadInput, DataNotReady
from scanctl.logs import get_logger
from scanctl.market.calendar import KrxCalendar
from scanctl.market.coverage import covers
from scanctl.store.bar_queries import count_traded_on, previous_bar_date
from scanctl.store.panel import stored_dates

log = get_logger("scan")


@dataclass(frozen=True)
class SessionVerdict:
    """Whether ``date`` is a session; when not, why (for the `skipped` line)."""

    date: dt.date
    is_session: bool
    reason: str | None


def check_session(
    calendar: KrxCalendar, day: dt.date, now: dt.datetime, margin_minutes: int, force: bool
) -> SessionVerdict:
    """Calendar gate and close guard.

    Raises
    ------
    BadInput
        ``day`` is after today (Asia/Seoul).
    DataNotReady
        ``day`` is today and the session has not closed plus the margin (unless ``force``).
    """
    today = now.date()
    if day > today:
        raise BadInput(f"--date {day.isoformat()} is in the future (today is {today.isoformat()})")
    info = calendar.check(day)
    if not info.is_session:
        return SessionVerdict(day, False, info.reason or "not a session")
    if day == today and not force:
        ready_at = calendar.ready_at(day, margin_minutes)
        if now < ready_at:
            raise DataNotReady(
                f"the {day.isoformat()} session closes at {info.close:%H:%M} KST; scanning is "
                f"allowed from {ready_at:%H:%M} KST (now {now:%H:%M}); pass --force to scan anyway"
            )
    return SessionVerdict(day, True, None)


def wait_for_close(
    calendar: KrxCalendar, day: dt.date, margin_minutes: int, max_wait_minutes: int
) -> float:
    """Today's session not yet closed plus the margin: wait for it when that is at most
    ``max_wait_minutes`` away (a late close, e.g. 16:30 on CSAT days), so the 15:42 run still
    delivers the same day. Returns the seconds waited (0 when there was nothing to wait for).

    The wait goes through `clock.sleep`: a pinned ``SCANCTL_NOW`` moves on instead of waiting.
    """
    now = now_kst()
    if day != now.date() or not calendar.is_session(day):
        return 0.0
    ready = calendar.ready_at(day, margin_minutes)
    seconds = (ready - now).total_seconds()
    if seconds <= 0 or seconds > max_wait_minutes * 60:
        return 0.0
    log.info(
        f"waiting until {ready:%H:%M} KST: the {day.isoformat()} session closes at "
        f"{calendar.session_close(day):%H:%M}, plus {margin_minutes} min",
        extra={"fields": {"date": day.isoformat(), "wait_s": round(seconds)}},
    )
    sleep(seconds)
    return seconds


def check_history(
    db: sqlite_utils.Database, calendar: KrxCalendar, day: dt.date, lookback: int
) -> None:
    """Every session of the lookback before ``day`` has stored bars (from the first stored
    date on): a scan never computes on a hole that a missed sync left.

    Raises
    ------
    DataNotReady
        Naming the sessions without bars and the command that fetches them.
    """
    stored = stored_dates(db, day - dt.timedelta(days=1), lookback)
    if not stored:
        return
    sessions = calendar.sessions_in_range(dt.date.fromisoformat(stored[0]), day)[:-1]
    have = set(stored)
    holes = [session for session in sessions if session.isoformat() not in have]
    if not holes:
        return
    shown = ", ".join(hole.isoformat() for hole in holes[:3]) + (", …" if len(holes) > 3 else "")
    raise DataNotReady(
        f"no bars for {len(holes)} session(s) within the {lookback}-session lookback of "
        f"{day.isoformat()} ({shown}); nothing scanned; run `scanctl data sync --from "
        f"{holes[0].isoformat()} --date {holes[-1].isoformat()}` or pass --allow-gaps"
    )


@dataclass(frozen=True)
class DataVerdict:
    """Bars on the scan date against the previous stored session (PRODUCT.md §5 step 4)."""

    bars_on_date: int
    previous_date: str | None
    bars_on_previous: int
    ratio: float


def has_data(db: sqlite_utils.Database, day: dt.date, threshold: float) -> bool:
    """Whether ``day`` passes `check_data`."""
    try:
        check_data(db, day, threshold)
    except DataNotReady:
        return False
    return True


def check_data(db: sqlite_utils.Database, day: dt.date, threshold: float) -> DataVerdict:
    """Bars dated ``day`` for at least ``threshold`` of the tickers that had bars on the previous
    stored date.

    Raises
    ------
    DataNotReady
        With the counts and the command that fetches the bars.
    """
    iso = day.isoformat()
    on_date = count_traded_on(db, iso)
    previous = previous_bar_date(db, iso)
    on_previous = count_traded_on(db, previous) if previous else 0
    ratio = on_date / on_previous if on_previous else (1.0 if on_date else 0.0)
    verdict = DataVerdict(on_date, previous, on_previous, ratio)
    if not covers(on_date, on_previous, threshold):
        basis = f" of the {on_previous:,} on {previous}" if previous else ""
        raise DataNotReady(
            f"bars for {iso}: {on_date:,}{basis} ({ratio:.1%} < {threshold:.0%}); nothing "
            f"scanned; run `scanctl data sync --date {iso}` (or scan --sync)"
        )
    return verdict
