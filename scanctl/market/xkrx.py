"""exchange_calendars' XKRX schedule, with a small on-disk cache.

Building XKRX takes about a second (pandas and twenty years of holiday rules), more than the
rest of a daily scan. The schedule it yields (session dates and hours) is cached under
``$XDG_CACHE_HOME/scanctl`` per exchange-calendars version and rebuilt when older than
`MAX_AGE_DAYS`, because exchange_calendars' last session moves with the clock (about a year
ahead). The cache is derived data: when it cannot be read or written the schedule is simply
built again.
"""

from __future__ import annotations

import functools
import os
import tempfile
import time as wall
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from types import MappingProxyType

from scanctl.clock import KST

EARLIEST_DATE = date(2000, 1, 1)
MAX_AGE_DAYS = 30
REGULAR_HOURS = (time(9, 0), time(15, 30))
_FORMAT = "scanctl-xkrx-1"


@dataclass(frozen=True)
class XkrxSchedule:
    """exchange_calendars' XKRX sessions from EARLIEST_DATE to its last session."""

    last_session: date
    hours: Mapping[date, tuple[time, time]]


@functools.lru_cache(maxsize=1)
def xkrx_schedule() -> XkrxSchedule:
    """The schedule from the cache when fresh, else built (and cached) once per process."""
    path = _cache_path()
    schedule = _read_cache(path)
    if schedule is None:
        schedule = _build()
        _write_cache(path, schedule)
    return schedule


def _build() -> XkrxSchedule:
    import exchange_calendars

    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads Series.values, which pandas 3.1 deprecates; nothing
        # for us to act on, and it would repeat in every run.
        warnings.simplefilter("ignore", DeprecationWarning)
        calendar = exchange_calendars.get_calendar("XKRX", start=EARLIEST_DATE.isoformat())
    hours = {
        label.date(): (open_at.astimezone(KST).time(), close_at.astimezone(KST).time())
        for label, open_at, close_at in zip(
            calendar.sessions, calendar.opens, calendar.closes, strict=True
        )
    }
    return XkrxSchedule(last_session=calendar.last_session.date(), hours=MappingProxyType(hours))


def _cache_path() -> Path:
    from importlib import metadata  # here: importing it costs `scanctl --help` ~8 ms

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    try:
        version = metadata.version("exchange-calendars")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return Path(base) / "scanctl" / f"xkrx-{version}.txt"


def _read_cache(path: Path) -> XkrxSchedule | None:
    """Lines: the format tag, the last session's ordinal, then one session a line as
    ``ordinal`` or ``ordinal HHMM HHMM`` when the hours are not the regular ones."""
    try:
        if wall.time() - path.stat().st_mtime > MAX_AGE_DAYS * 86400:
            return None
        lines = path.read_text(encoding="ascii").split("\n")
        if lines[0] != _FORMAT:
            return None
        hours: dict[date, tuple[time, time]] = {}
        for line in lines[2:]:
            if not line:
                continue
            parts = line.split(" ")
            day = date.fromordinal(int(parts[0]))
            hours[day] = REGULAR_HOURS if len(parts) == 1 else (_hhmm(parts[1]), _hhmm(parts[2]))
        return XkrxSchedule(date.fromordinal(int(lines[1])), MappingProxyType(hours))
    except (OSError, ValueError, IndexError):
        return None


def _write_cache(path: Path, schedule: XkrxSchedule) -> None:
    lines = [_FORMAT, str(schedule.last_session.toordinal())]
    for day, (opens, closes) in sorted(schedule.hours.items()):
        if (opens, closes) == REGULAR_HOURS:
            lines.append(str(day.toordinal()))
        else:
            lines.append(f"{day.toordinal()} {opens:%H%M} {closes:%H%M}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="ascii", dir=path.parent, delete=False, suffix=".tmp"
        ) as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(handle.name, path)
    except OSError:
        pass  # a read-only home: build again next time


def _hhmm(text: str) -> time:
    return time(int(text[:2]), int(text[2:]))
