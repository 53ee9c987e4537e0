"""The ``scan_runs`` table: one row per (run, version) with its status, counts, error and the
run record of ENGINES.md §8.6 (market condition, parameters, record)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlite_utils

from scanctl.store.db import column_list

SCAN_RUNS_COLUMNS = (
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
    "market_condition",
    "params",
    "record",
)
"""Every ``scan_runs`` column, in table order."""


def _columns(columns: Sequence[str]) -> str:
    return column_list("scan_runs", columns, SCAN_RUNS_COLUMNS)


def insert_run_record(db: sqlite_utils.Database, record: Mapping[str, Any]) -> None:
    """Insert one row from ``{column: value}`` (inside the caller's transaction).

    Raises
    ------
    ValueError
        A key that is not a `SCAN_RUNS_COLUMNS` column.
    """
    columns = list(record)
    db.execute(
        f"INSERT INTO scan_runs ({_columns(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [record[c] for c in columns],
    )


def recent_runs(
    db: sqlite_utils.Database,
    columns: Sequence[str],
    limit: int,
    versions: Sequence[str] | None,
) -> list[dict[str, Any]]:
    """The ``columns`` of the latest ``limit`` rows (of ``versions`` when given), newest first
    (by start time, then insertion order)."""
    where, args = "", []
    if versions:
        where = f"WHERE scanner_version IN ({', '.join('?' * len(versions))})"
        args = list(versions)
    rows = db.execute(
        f"SELECT {_columns(columns)} FROM scan_runs {where} "
        "ORDER BY started_at DESC, rowid DESC LIMIT ?",
        [*args, limit],
    ).fetchall()
    return [dict(zip(columns, values, strict=True)) for values in rows]


def latest_run(
    db: sqlite_utils.Database, version: str
) -> tuple[str, str, str, int | None, str | None] | None:
    """``(date, status, started_at, matched_count, error)`` of the latest run of ``version``
    that was not skipped (None when there is none)."""
    return db.execute(
        "SELECT date, status, started_at, matched_count, error FROM scan_runs "
        "WHERE scanner_version = ? AND status != 'skipped' "
        "ORDER BY started_at DESC, rowid DESC LIMIT 1",
        [version],
    ).fetchone()


def run_counts_since(db: sqlite_utils.Database, version: str, since: str) -> tuple[int | None, int]:
    """``(ok, total)``: the runs of ``version`` dated ≥ ``since`` that were not skipped, and how
    many of them succeeded (None when there are none)."""
    ok, total = db.execute(
        "SELECT sum(status = 'ok'), count(*) FROM scan_runs "
        "WHERE scanner_version = ? AND status != 'skipped' AND date >= ?",
        [version, since],
    ).fetchone()
    return ok, total


def run_statuses_on(db: sqlite_utils.Database, date: str) -> dict[str, set[str]]:
    """The statuses of every run of ``date``, by version."""
    statuses: dict[str, set[str]] = {}
    for version, status in db.execute(
        "SELECT scanner_version, status FROM scan_runs WHERE date = ?", [date]
    ).fetchall():
        statuses.setdefault(version, set()).add(status)
    return statuses


def runs_on(db: sqlite_utils.Database, date: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    """The ``columns`` of every run of ``date`` that was not skipped, oldest first (by start
    time, then insertion order)."""
    rows = db.execute(
        f"SELECT {_columns(columns)} FROM scan_runs WHERE date = ? AND status != 'skipped' "
        "ORDER BY started_at, rowid",
        [date],
    ).fetchall()
    return [dict(zip(columns, values, strict=True)) for values in rows]
