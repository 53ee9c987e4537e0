"""The ``notifications`` table: one outbox row per (date, kind, channel).

The state machine (which row is due, what a failure does) lives in `scanctl.notify.outbox`;
these functions only read and write rows. ``created_at`` and ``sent_at`` are passed in. Every
write that delivery depends on (`claim_for_sending`, `update_notification`,
`mark_interrupted`) runs in its own short committed transaction, so that what the row says
survives a crash right after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import sqlite_utils

from scanctl.store.db import write_transaction

STATUSES = ("pending", "sending", "sent", "failed", "unknown", "skipped")
"""Every status a row can have (the table's CHECK constraint)."""

UPDATABLE = ("status", "attempts", "parts_sent", "last_error", "provider_message_id", "sent_at")
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
    parts_sent: int


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
    """Make the row ``pending`` with no attempts, delivered parts, error, message id or sent
    time (inside the caller's transaction)."""
    db.execute(
        "INSERT INTO notifications (date, kind, channel, status, attempts, payload,"
        " created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)"
        " ON CONFLICT (date, kind, channel) DO UPDATE SET status = 'pending', attempts = 0,"
        " parts_sent = 0, last_error = NULL, provider_message_id = NULL, sent_at = NULL,"
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
    db: sqlite_utils.Database,
    date: str,
    kind: str,
    channel: str,
    *,
    only_from: Sequence[str] | None = None,
    **values: object,
) -> bool:
    """Set ``values`` (columns of `UPDATABLE`) on one row in its own short write transaction;
    a ``sent`` row is never changed.

    Parameters
    ----------
    only_from
        Change the row only while its status is one of these (None: any status but ``sent``).

    Returns
    -------
    bool
        Whether the row was changed.

    Raises
    ------
    ValueError
        A column outside `UPDATABLE`, or a status outside `STATUSES`.
    """
    unknown = [column for column in values if column not in UPDATABLE]
    if unknown:
        raise ValueError(f"not an updatable notifications column: {', '.join(unknown)}")
    if "status" in values and values["status"] not in STATUSES:
        raise ValueError(f"not a notification status: {values['status']!r}")
    assignments = ", ".join(f"{column} = ?" for column in values)
    allowed = tuple(status for status in (only_from or STATUSES) if status != "sent")
    marks = ", ".join("?" for _ in allowed)
    with write_transaction(db):
        cursor = db.execute(
            f"UPDATE notifications SET {assignments}"
            f" WHERE date = ? AND kind = ? AND channel = ? AND status IN ({marks})",
            [*values.values(), date, kind, channel, *allowed],
        )
    return cursor.rowcount == 1


def claim_for_sending(
    db: sqlite_utils.Database,
    date: str,
    kind: str,
    channel: str,
    *,
    only_from: Sequence[str],
    attempts: int,
) -> bool:
    """Mark one row ``sending`` with ``attempts``, committed before its request goes out.

    Returns
    -------
    bool
        False when the row is no longer in one of ``only_from`` (another process sent it or
        changed it meanwhile): the caller must not send.
    """
    return update_notification(
        db, date, kind, channel, only_from=only_from, status="sending", attempts=attempts
    )


def mark_interrupted(db: sqlite_utils.Database, error: str) -> list[Notification]:
    """Turn every ``sending`` row into ``unknown`` with ``error``, in one transaction, and
    return the rows as they are now.

    A row is ``sending`` only while a process that holds the run lock waits for the reply, so
    a caller holding that lock finds one only after a crash between the request and the
    record of its outcome.
    """
    with write_transaction(db):
        keys = db.execute(
            "SELECT date, kind, channel FROM notifications WHERE status = 'sending'"
        ).fetchall()
        db.execute(
            "UPDATE notifications SET status = 'unknown', last_error = ? WHERE status = 'sending'",
            [error],
        )
    return [row for key in keys if (row := notification(db, *key)) is not None]


def notification(
    db: sqlite_utils.Database, date: str, kind: str, channel: str
) -> Notification | None:
    """One row with its payload, read afresh (None: no row)."""
    columns = [field.name for field in fields(Notification)]
    rows = list(
        db.query(
            "SELECT * FROM notifications WHERE date = ? AND kind = ? AND channel = ?",
            [date, kind, channel],
        )
    )
    return Notification(**{column: rows[0][column] for column in columns}) if rows else None


def recent_notifications(
    db: sqlite_utils.Database,
    limit: int,
    *,
    date: str | None = None,
    kind: str | None = None,
    statuses: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> list[OutboxRow]:
    """The latest rows (newest date first), of ``date`` / ``kind`` / ``statuses`` / ``kinds``
    when given."""
    where, params = [], []
    for column, values in (("status", statuses), ("kind", kinds)):
        if values is not None:
            where.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
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
