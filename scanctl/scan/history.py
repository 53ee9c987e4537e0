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
        latest = db.execute("SELECT max(date) FROM scan_rank").fetchone()[0]
        if latest is None:
            return None, []
        shown = latest
    else:
        shown = day.isoformat()
    query = (
        f"SELECT {', '.join(SHOW_COLUMNS)} FROM scan_rank WHERE date = ? "
        "ORDER BY scanner_version, engine, rank IS NULL, rank, code"
    )
    rows = []
    taken: dict[str, int] = {}
    for values in db.execute(query, [shown]):
        row = dict(zip(SHOW_COLUMNS, values, strict=True))
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
    where, args = "", []
    if versions:
        where = f"WHERE scanner_version IN ({', '.join('?' * len(versions))})"
        args = list(versions)
    rows = db.execute(
        f"SELECT {', '.join(RUN_COLUMNS)} FROM scan_runs {where} "
        "ORDER BY started_at DESC, rowid DESC LIMIT ?",
        [*args, limit],
    ).fetchall()
    result = []
    for values in rows:
        row = dict(zip(RUN_COLUMNS, values, strict=True))
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

    def to_json(self) -> dict[str, Any]:
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
        row = db.execute(
            "SELECT date, status, started_at, matched_count, error FROM scan_runs "
            "WHERE scanner_version = ? AND status != 'skipped' "
            "ORDER BY started_at DESC, rowid DESC LIMIT 1",
            [version],
        ).fetchone()
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
        ok, total = db.execute(
            "SELECT sum(status = 'ok'), count(*) FROM scan_runs "
            "WHERE scanner_version = ? AND status != 'skipped' AND date >= ?",
            [version, since],
        ).fetchone()
        rates[version] = (ok / total) if total else None
    data = data_freshness(db, calendar)
    if not data["fresh"]:
        problems.append(
            f"data: last bars {data['last_date'] or 'none'}, expected {data['expected_date']}"
        )
    outbox = dict(
        db.execute("SELECT status, count(*) FROM notifications GROUP BY status").fetchall()
    )
    if outbox.get("failed"):
        problems.append(f"notifications: {outbox['failed']} failed")
    return Health(not problems, problems, latest, data, outbox, rates)


def data_freshness(db: sqlite_utils.Database, calendar: KrxCalendar) -> dict[str, Any]:
    """The last stored bar date against the latest session that has closed (Asia/Seoul)."""
    now = now_kst()
    expected = calendar.last_ready_session(now)
    last = db.execute("SELECT max(date) FROM bars").fetchone()[0]
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
