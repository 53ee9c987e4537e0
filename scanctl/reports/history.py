"""The read side of the daily job: stored picks (`show`), run history (`runs`), `status`."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from scanctl.clock import now_kst
from scanctl.engines.selection import scheduled_versions
from scanctl.errors import BadInput
from scanctl.market.calendar import KrxCalendar
from scanctl.store.bar_queries import last_bar_date
from scanctl.store.outbox import count_by_status
from scanctl.store.picks import latest_pick_date, picks_on
from scanctl.store.runs import latest_run, recent_runs, run_counts_since

SHOW_COLUMNS = (
    "date",
    "scanner_version",
    "rank",
    "code",
    "name",
    "market",
    "score",
    "score_label",
    "strategy",
    "engine",
    "close_price",
    "change_rate",
    "volume",
    "flags",
)


def stored_picks(
    db: sqlite_utils.Database,
    day: dt.date | None,
    versions: tuple[str, ...] | None,
    limit: int | None,
) -> tuple[str | None, list[dict[str, Any]]]:
    """The `scan_rank` rows of ``day`` (None = the latest date with rows), per version by rank.

    Returns the date shown and the rows (flags decoded); ``limit`` applies per version.
    """
    if day is None:
        latest = latest_pick_date(db)
        if latest is None:
            return None, []
        shown = latest
    else:
        shown = day.isoformat()
    rows = []
    taken: dict[str, int] = {}
    for row in picks_on(db, shown, SHOW_COLUMNS):
        if versions and row["scanner_version"] not in versions:
            continue
        count = taken.get(row["scanner_version"], 0)
        if limit is not None and count >= limit:
            continue
        taken[row["scanner_version"]] = count + 1
        row["flags"] = json.loads(row["flags"]) if row["flags"] else {}
        rows.append(row)
    return shown, rows


RUN_COLUMNS = (
    "run_id",
    "date",
    "scanner_version",
    "trigger",
    "started_at",
    "finished_at",
    "duration_s",
    "status",
    "universe_count",
    "matched_count",
    "error",
)


def run_history(
    db: sqlite_utils.Database, limit: int, versions: tuple[str, ...] | None
) -> list[dict[str, Any]]:
    """The latest `scan_runs` rows, newest first (errors cut to their first line)."""
    result = []
    for row in recent_runs(db, RUN_COLUMNS, limit, versions):
        if row["error"]:
            row["error"] = row["error"].split("\n")[0]
        result.append(row)
    return result


@dataclass
class Health:
    """`scanctl status`: the latest run per scheduled version, data freshness, the outbox."""

    healthy: bool
    problems: list[str]
    versions: dict[str, dict[str, Any] | None]
    data: dict[str, Any]
    notifications: dict[str, int]
    success_rate_30d: dict[str, float | None] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "problems": self.problems,
            "versions": self.versions,
            "data": self.data,
            "notifications": self.notifications,
            "success_rate_30d": self.success_rate_30d,
        }


def health(db: sqlite_utils.Database, calendar: KrxCalendar) -> Health:
    """Healthy when the latest run of every scheduled version succeeded and the data is fresh."""
    scheduled = scheduled_versions(db)
    problems: list[str] = []
    latest: dict[str, dict[str, Any] | None] = {}
    rates: dict[str, float | None] = {}
    since = (now_kst().date() - dt.timedelta(days=30)).isoformat()
    for version in scheduled:
        row = latest_run(db, version)
        if row is None:
            latest[version] = None
            problems.append(f"{version}: never run")
        else:
            date, status, started, matched, error = row
            latest[version] = {
                "date": date,
                "status": status,
                "started_at": started,
                "matched_count": matched,
                "error": error.split("\n")[0] if error else None,
            }
            if status == "failed":
                problems.append(f"{version}: the latest run ({date}) failed")
        ok, total = run_counts_since(db, version, since)
        rates[version] = (ok / total) if total else None
    data = data_freshness(db, calendar)
    if not data["fresh"]:
        problems.append(
            f"data: last bars {data['last_date'] or 'none'}, expected {data['expected_date']}"
        )
    outbox = count_by_status(db)
    if outbox.get("failed"):
        problems.append(f"notifications: {outbox['failed']} failed")
    return Health(not problems, problems, latest, data, outbox, rates)


def data_freshness(db: sqlite_utils.Database, calendar: KrxCalendar) -> dict[str, Any]:
    """The last stored bar date against the latest session that has closed (Asia/Seoul)."""
    now = now_kst()
    expected = calendar.last_ready_session(now)
    last = last_bar_date(db)
    return {
        "last_date": last,
        "expected_date": expected.isoformat(),
        "fresh": last is not None and last >= expected.isoformat(),
    }


def parse_show_date(value: str | None) -> dt.date | None:
    """``latest`` (or nothing) → None; otherwise a date."""
    from scanctl.clock import parse_date

    if value is None or value.strip().lower() == "latest":
        return None
    try:
        return parse_date(value, "date")
    except BadInput:
        raise BadInput(f"--date: {value!r} is not a date or 'latest'") from None
