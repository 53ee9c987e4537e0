"""The ``calendar_overrides`` table: operator overrides of the KRX calendar, as stored text.

Validation and the ``Override`` type live in `scanctl.market.calendar`, which converts these
rows; here dates are ``YYYY-MM-DD`` and times ``HH:MM`` text.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from scanctl.store.db import write_transaction


@dataclass(frozen=True)
class OverrideRow:
    """One ``calendar_overrides`` row (``open_time`` and ``close_time`` None when closed)."""

    date: str
    kind: str
    open_time: str | None
    close_time: str | None
    reason: str | None


def read_override_rows(db: sqlite_utils.Database) -> list[OverrideRow]:
    """Every stored override, by date."""
    rows = db.execute(
        "SELECT date, kind, open_time, close_time, reason FROM calendar_overrides ORDER BY date"
    ).fetchall()
    return [OverrideRow(*row) for row in rows]


def save_override_row(db: sqlite_utils.Database, row: OverrideRow) -> None:
    """Store ``row`` in its own write transaction, replacing the one of the same date."""
    with write_transaction(db):
        db.execute(
            "INSERT INTO calendar_overrides (date, kind, open_time, close_time, reason) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (date) DO UPDATE SET kind = excluded.kind, "
            "open_time = excluded.open_time, close_time = excluded.close_time, "
            "reason = excluded.reason",
            (row.date, row.kind, row.open_time, row.close_time, row.reason),
        )


def delete_override_row(db: sqlite_utils.Database, date: str) -> bool:
    """Delete the override of ``date`` in its own write transaction; False when there was none."""
    with write_transaction(db):
        cursor = db.execute("DELETE FROM calendar_overrides WHERE date = ?", (date,))
        return cursor.rowcount > 0
