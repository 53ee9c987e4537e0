"""The ``notifications`` table: one outbox row per (date, kind, channel).

The state machine (which row is due, what a failure does) lives in `scanctl.notify.outbox`;
these functions only read and write rows. ``created_at`` and ``sent_at`` are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import sqlite_utils

from scanctl.store.db import write_transaction

UPDATABLE = ("status", "attempts", "last_error", "provider_message_id", "sent_at")
"""The columns `update_notification` may set."""


@dataclass(frozen=True)
class Notification:
    """One ``notifications`` row with its payload (what delivery works from)."""

    date: str
    kind: str
    channel: str
    status: str
    attempts: int
    last_error: str | None
    provider_message_id: str | None
    payload: str | None
    created_at: str | None
    sent_at: str | None


@dataclass(frozen=True)
class OutboxRow:
    """One ``notifications`` row as `notify status` shows it (without the payload)."""

    date: str
    kind: str
    channel: str
    status: str
    attempts: int
    last_error: str | None
    provider_message_id: str | None
    created_at: str | None
    sent_at: str | None

    def to_record(self) -> dict:
        return asdict(self)


def upsert_skipped(
    db: sqlite_utils.Database, date: str, kind: str, channel: str, payload: str, created_at: str
) -> None:
    """Record a message that no channel receives as ``skipped`` (inside the caller's
    transaction); an existing row keeps its attempts and errors."""
    db.execute(
        "INSERT INTO notifications (date, kind, channel, status, attempts, payload,"
        " created_at) VALUES (?, ?, ?, 'skipped', 0, ?, ?)"
        " ON CONFLICT (date, kind, channel) DO UPDATE SET status = 'skipped',"
        " payload = excluded.payload, created_at = excluded.created_at",
        [date, kind, channel, payload, created_at],
    )


def upsert_pending(
    db: sqlite_utils.Database, date: str, kind: str, channel: str, payload: str, created_at: str
) -> None:
    """Make the row ``pending`` with no attempts, error, message id or sent time (inside the
    caller's transaction)."""
    db.execute(
        "INSERT INTO notifications (date, kind, channel, status, attempts, payload,"
        " created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)"
        " ON CONFLICT (date, kind, channel) DO UPDATE SET status = 'pending', attempts = 0,"
        " last_error = NULL, provider_message_id = NULL, sent_at = NULL,"
        " payload = excluded.payload, created_at = excluded.created_at",
        [date, kind, channel, payload, created_at],
    )


def notification_status(
    db: sqlite_utils.Database, date: str, kind: str, channel: str
) -> str | None:
    """The status of one row (None when there is no row)."""
    row = db.execute(
        "SELECT status FROM notifications WHERE date = ? AND kind = ? AND channel = ?",
        [date, kind, channel],
    ).fetchone()
    return None if row is None else row[0]


def delivery_state(
    db: sqlite_utils.Database, date: str, kind: str, channel: str
) -> tuple[str, int, str | None] | None:
    """``(status, attempts, provider_message_id)`` of one row, read afresh (None: no row)."""
    row = db.execute(
        "SELECT status, attempts, provider_message_id FROM notifications"
        " WHERE date = ? AND kind = ? AND channel = ?",
        [date, kind, channel],
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def notifications_with_status(
    db: sqlite_utils.Database,
    statuses: Sequence[str],
    *,
    date: str | None = None,
    kind: str | None = None,
) -> list[Notification]:
    """The rows in one of ``statuses`` (of ``date`` / ``kind`` when given), ordered by date,
    kind, channel."""
    where = [f"status IN ({', '.join('?' for _ in statuses)})"]
    params: list = list(statuses)
    if date is not None:
        where.append("date = ?")
        params.append(date)
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    columns = [field.name for field in fields(Notification)]
    rows = db.query(
        f"SELECT * FROM notifications WHERE {' AND '.join(where)} ORDER BY date, kind, channel",
        params,
    )
    return [Notification(**{column: row[column] for column in columns}) for row in rows]


def update_notification(
    db: sqlite_utils.Database, date: str, kind: str, channel: str, **values: object
) -> None:
    """Set ``values`` (columns of `UPDATABLE`) on one row in its own short write transaction;
    a ``sent`` row is never changed.

    Raises
    ------
    ValueError
        A column outside `UPDATABLE`.
    """
    unknown = [column for column in values if column not in UPDATABLE]
    if unknown:
        raise ValueError(f"not an updatable notifications column: {', '.join(unknown)}")
    assignments = ", ".join(f"{column} = ?" for column in values)
    with write_transaction(db):
        db.execute(
            f"UPDATE notifications SET {assignments}"
            " WHERE date = ? AND kind = ? AND channel = ? AND status != 'sent'",
            [*values.values(), date, kind, channel],
        )


def recent_notifications(
    db: sqlite_utils.Database,
    limit: int,
    *,
    date: str | None = None,
    kind: str | None = None,
) -> list[OutboxRow]:
    """The latest rows (newest date first), of ``date`` / ``kind`` when given."""
    where, params = [], []
    if date is not None:
        where.append("date = ?")
        params.append(date)
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = db.query(
        "SELECT date, kind, channel, status, attempts, last_error, provider_message_id,"
        f" created_at, sent_at FROM notifications {clause}"
        " ORDER BY date DESC, created_at DESC, kind, channel LIMIT ?",
        [*params, limit],
    )
    return [OutboxRow(**row) for row in rows]


def count_by_status(db: sqlite_utils.Database) -> dict[str, int]:
    """How many rows are in each status (statuses without rows are absent)."""
    return dict(db.execute("SELECT status, count(*) FROM notifications GROUP BY status").fetchall())
