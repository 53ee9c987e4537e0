"""`scanctl doctor`: is this installation able to run tonight's scan?

One `Check` per concern, each independent (a broken store does not hide a bad channel):
configuration, store and schema, calendar horizon, data freshness, notification channels (their
settings only; nothing is sent), and the lock file location.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from scanctl.clock import now_kst
from scanctl.config import Config
from scanctl.errors import ScanctlError

CALENDAR_HORIZON_DAYS = 60


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def to_record(self) -> dict:
        return asdict(self)


def run_checks(db_path: Path, config_loader: Callable[[], Config]) -> list[Check]:
    """Run every check; a check that raises is reported as failed with the error's message."""
    checks: list[Check] = []
    config = _attempt(checks, "config", config_loader)
    db = _attempt(checks, "database", lambda: _open(db_path))
    if db is not None:
        from scanctl.market.calendar import KrxCalendar

        calendar = _attempt(checks, "calendar", lambda: _calendar(KrxCalendar.from_db(db)))
        if calendar is not None:
            _attempt(checks, "data", lambda: _freshness(db, calendar))
    if config is not None:
        _attempt(checks, "engines", lambda: _engine_params(config))
        _attempt(checks, "notify", lambda: _channels(config))
    _attempt(checks, "lock", lambda: _lock_location(db_path))
    return checks


def _attempt(checks: list[Check], name: str, step: Callable):
    """Run one check step: it returns (value, detail) or raises a ScanctlError / OSError."""
    try:
        value, detail = step()
    except (ScanctlError, OSError) as exc:
        checks.append(Check(name, False, str(exc)))
        return None
    checks.append(Check(name, True, detail))
    return value


def _open(db_path: Path):
    from scanctl.store.db import open_db, schema_version

    db = open_db(db_path, create=False)
    return db, f"{db_path} (schema v{schema_version(db)}, current)"


def _calendar(calendar):
    horizon = calendar.horizon()
    needed = now_kst().date() + dt.timedelta(days=CALENDAR_HORIZON_DAYS)
    if horizon < needed:
        raise _Failed(
            f"sessions known until {horizon.isoformat()}, fewer than {CALENDAR_HORIZON_DAYS} "
            "days ahead; upgrade exchange-calendars"
        )
    return calendar, f"sessions known until {horizon.isoformat()}"


def _freshness(db, calendar):
    from scanctl.reports.history import data_freshness

    fresh = data_freshness(db, calendar)
    text = f"last bars {fresh['last_date'] or 'none'}, expected {fresh['expected_date']}"
    if not fresh["fresh"]:
        raise _Failed(f"{text}; run `scanctl data sync`")
    return fresh, text


def _engine_params(config: Config):
    from scanctl.engines.params import RunParams
    from scanctl.market.params import ScanOptions

    ScanOptions.from_mapping(config.section("scan"), config.origin("scan"))
    RunParams.from_config(config)
    return None, "engine, universe and market parameters are valid"


def _channels(config: Config):
    from scanctl.notify.config import load_healthcheck_settings, load_notify_settings

    settings = load_notify_settings(config)
    load_healthcheck_settings(config)
    if not settings.channels:
        return settings, "no channel configured: daily messages are only logged"
    names = ", ".join(f"{c.name} ({c.type})" for c in settings.channels)
    return settings, f"{len(settings.channels)} channel(s) configured: {names}"


def _lock_location(db_path: Path):
    from scanctl.store.lock import lock_path_for

    lock = lock_path_for(db_path)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)  # opened, not locked: a scan may run
    except OSError as exc:
        raise _Failed(f"lock file {str(lock)!r} cannot be opened: {exc.strerror}") from None
    os.close(fd)
    return lock, f"{lock} is writable"


class _Failed(ScanctlError):
    """A check found a problem (reported, never raised to the user)."""
