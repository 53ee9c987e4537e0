"""The read side of the daily job: stored picks (`show`), run history (`runs`), and data
freshness (for `status` and `doctor`)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlite_utils

from scanctl.clock import now_kst
from scanctl.errors import BadInput
from scanctl.jobs.record import PARTS as RECORD_PARTS
from scanctl.jobs.record import pop_record
from scanctl.market.calendar import KrxCalendar
from scanctl.store.bar_queries import last_bar_date
from scanctl.store.picks import latest_pick_date, picks_on
from scanctl.store.runs import SCAN_RUNS_COLUMNS, recent_runs

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


# What `runs` shows of a run: every stored column but the run record's parts.
RUN_COLUMNS = tuple(c for c in SCAN_RUNS_COLUMNS if c not in RECORD_PARTS)


def run_history(
    db: sqlite_utils.Database,
    limit: int,
    versions: tuple[str, ...] | None,
    records: bool = False,
) -> list[dict[str, Any]]:
    """The latest `scan_runs` rows, newest first (errors cut to their first line); with
    ``records``, each row also carries its run record (ENGINES.md §8.6) as ``record``."""
    result = []
    for row in recent_runs(db, RUN_COLUMNS + (RECORD_PARTS if records else ()), limit, versions):
        if row["error"]:
            row["error"] = row["error"].split("\n")[0]
        if records:
            row["record"] = pop_record(row)
        result.append(row)
    return result


def data_freshness(
    db: sqlite_utils.Database, calendar: KrxCalendar, margin_minutes: int = 0
) -> dict[str, Any]:
    """The last stored bar date against the latest session that has closed (plus the margin)."""
    expected = calendar.last_ready_session(now_kst(), margin_minutes)
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
