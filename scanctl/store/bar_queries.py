"""Questions about the stored bars besides the panel: dates, counts, closes and sources.

Dates go in as ``datetime.date`` or ISO text and come back as ISO text (``YYYY-MM-DD``), the
form they are stored in; None means "no such bar".
"""

from __future__ import annotations

import datetime as dt

import sqlite_utils

Day = dt.date | str
"""A date as ``datetime.date`` or stored ISO text."""


def _iso(day: Day) -> str:
    return day if isinstance(day, str) else day.isoformat()


def last_bar_date(db: sqlite_utils.Database) -> str | None:
    """The latest date with a stored bar."""
    return db.execute("SELECT max(date) FROM bars").fetchone()[0]


def bar_date_range(db: sqlite_utils.Database) -> tuple[str | None, str | None]:
    """The first and last dates with a stored bar (None, None when empty)."""
    first, last = db.execute("SELECT min(date), max(date) FROM bars").fetchone()
    return first, last


def last_bar_date_on_or_before(db: sqlite_utils.Database, day: Day) -> str | None:
    """The latest stored bar date ≤ ``day``."""
    return db.execute("SELECT max(date) FROM bars WHERE date <= ?", [_iso(day)]).fetchone()[0]


def previous_bar_date(db: sqlite_utils.Database, day: Day) -> str | None:
    """The latest stored bar date before ``day``."""
    return db.execute("SELECT max(date) FROM bars WHERE date < ?", [_iso(day)]).fetchone()[0]


def count_bars_on(db: sqlite_utils.Database, day: Day) -> int:
    """How many rows ``bars`` holds for ``day`` (any volume)."""
    return db.execute("SELECT count(*) FROM bars WHERE date = ?", [_iso(day)]).fetchone()[0]


def count_traded_on(db: sqlite_utils.Database, day: Day) -> int:
    """How many tickers have a bar with volume > 0 on ``day``."""
    return db.execute(
        "SELECT count(*) FROM bars WHERE date = ? AND volume > 0", [_iso(day)]
    ).fetchone()[0]


def closes_on(db: sqlite_utils.Database, day: Day) -> dict[str, int | None]:
    """The stored close of every ticker with a row on ``day``."""
    return dict(db.execute("SELECT code, close FROM bars WHERE date = ?", [_iso(day)]).fetchall())


def code_first_bar_date(db: sqlite_utils.Database, code: str) -> str | None:
    """The first stored bar date of ``code``."""
    return db.execute("SELECT min(date) FROM bars WHERE code = ?", [code]).fetchone()[0]


def code_traded_on(db: sqlite_utils.Database, code: str, day: Day) -> bool:
    """Whether ``code`` has a bar with volume > 0 on ``day``."""
    row = db.execute(
        "SELECT 1 FROM bars WHERE code = ? AND date = ? AND volume > 0", [code, _iso(day)]
    ).fetchone()
    return bool(row)


def code_last_traded_before(db: sqlite_utils.Database, code: str, day: Day) -> str | None:
    """The last date before ``day`` on which ``code`` has a bar with volume > 0."""
    return db.execute(
        "SELECT max(date) FROM bars WHERE code = ? AND date < ? AND volume > 0",
        [code, _iso(day)],
    ).fetchone()[0]


def main_source_on(db: sqlite_utils.Database, day: Day) -> str | None:
    """The source of most bars of ``day`` (None when there are none or it is unrecorded)."""
    row = db.execute(
        "SELECT source FROM bars WHERE date = ? GROUP BY source ORDER BY count(*) DESC LIMIT 1",
        [_iso(day)],
    ).fetchone()
    return row[0] if row else None


def other_source(db: sqlite_utils.Database, source: str) -> str | None:
    """Some stored bar source other than ``source`` (None when every bar is from it)."""
    row = db.execute("SELECT source FROM bars WHERE source != ? LIMIT 1", [source]).fetchone()
    return row[0] if row else None


def dates_spanning(db: sqlite_utils.Database, first: str, last: str, forward: int) -> list[str]:
    """Stored dates from the first one ≥ ``first`` through the ``forward``-th one after ``last``.

    One index seek per date (a recursive min() walk), like `scanctl.store.panel.stored_dates`.
    """
    rows = db.execute(
        """
        WITH RECURSIVE walk(day, after) AS (
            SELECT d, d > :last FROM (SELECT min(date) AS d FROM bars WHERE date >= :first)
            UNION ALL
            SELECT (SELECT min(date) FROM bars WHERE date > walk.day),
                   walk.after + ((SELECT min(date) FROM bars WHERE date > walk.day) > :last)
            FROM walk WHERE walk.day IS NOT NULL AND walk.after < :forward
        )
        SELECT day FROM walk WHERE day IS NOT NULL
        """,
        {"first": first, "last": last, "forward": forward},
    ).fetchall()
    return [row[0] for row in rows]
