"""Date parsing and the clock: the one place where text becomes a date and "now" is read.

Every date a user types (`YYYY-MM-DD`, `YYYYMMDD`, `today`) goes through `parse_date`; "today"
and "now" are always Asia/Seoul, whatever the host time zone. Tests and operators can pin the
clock with ``SCANCTL_NOW`` (an ISO timestamp, read as KST when it has no offset). A pinned clock
is a fake clock: `sleep` does not wait, it moves ``SCANCTL_NOW`` on by the time slept, so a
test can walk a day (and a run that waits for a late close) without waiting for real.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from zoneinfo import ZoneInfo

from scanctl.errors import BadInput

KST = ZoneInfo("Asia/Seoul")
NOW_ENV = "SCANCTL_NOW"

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def now_kst() -> dt.datetime:
    """The current time in Asia/Seoul (``SCANCTL_NOW`` pins it)."""
    pinned = os.environ.get(NOW_ENV)
    if pinned:
        try:
            moment = dt.datetime.fromisoformat(pinned)
        except ValueError:
            raise BadInput(f"{NOW_ENV}={pinned!r} is not an ISO timestamp") from None
        return moment.replace(tzinfo=KST) if moment.tzinfo is None else moment.astimezone(KST)
    return dt.datetime.now(KST)


def sleep(seconds: float) -> None:
    """Wait ``seconds``; under a pinned clock, move ``SCANCTL_NOW`` on instead of waiting."""
    if seconds <= 0:
        return
    if os.environ.get(NOW_ENV):
        later = now_kst() + dt.timedelta(seconds=seconds)
        os.environ[NOW_ENV] = later.replace(tzinfo=None).isoformat()
        return
    time.sleep(seconds)


def today_kst() -> dt.date:
    """Today's date in Asia/Seoul."""
    return now_kst().date()


def parse_date(value: str | dt.date, param_name: str = "date") -> dt.date:
    """Parse ``YYYY-MM-DD``, ``YYYYMMDD`` or ``today`` into a date.

    Raises
    ------
    BadInput
        Naming the parameter and the value received.
    """
    if isinstance(value, dt.date):
        return value
    text = value.strip()
    if text.lower() == "today":
        return today_kst()
    match = _ISO.match(text) or _COMPACT.match(text)
    if match:
        try:
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    option = param_name.replace("_", "-")
    raise BadInput(f"--{option}: {value!r} is not a date; use YYYY-MM-DD, YYYYMMDD or today")


def iso(day: dt.date) -> str:
    """The store's text form of a date."""
    return day.isoformat()


def stored_date(text: str) -> dt.date:
    """A date read back from the store or a stored payload (always ``YYYY-MM-DD``)."""
    return dt.date.fromisoformat(text)


def stored_datetime(text: str) -> dt.datetime:
    """A timestamp read back from the store (ISO 8601 with its offset)."""
    return dt.datetime.fromisoformat(text)


def check_range(start: dt.date | None, end: dt.date | None, end_option: str = "--to") -> None:
    """The one ``--from``/``--to`` rule: the first date may not come after the last.

    Raises
    ------
    BadInput
        Naming both options and values.
    """
    if start is not None and end is not None and start > end:
        raise BadInput(
            f"--from {start.isoformat()} is after {end_option} {end.isoformat()}; swap them"
        )
