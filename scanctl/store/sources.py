"""What the data providers keep between runs: per-source state and the ``sync_events`` log.

* ``source_state`` — one row per source: its circuit breaker (``blocked_until``, ``reason``).
  The breaker may trip on a worker thread, so `save_source_state_in_file` writes through a
  short-lived connection of its own (SQLite connections are bound to their thread).
* ``sync_events`` — what a sync did besides writing bars (``detail`` is a JSON object); the
  kinds are listed in `scanctl.providers.records`.

Access tokens are not stored here: they are files (`scanctl.providers.tokens`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from scanctl.store.db import write_transaction

_UPSERT_STATE = (
    "INSERT INTO source_state (source, blocked_until, reason, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (source) DO UPDATE SET blocked_until = excluded.blocked_until, "
    "reason = excluded.reason, updated_at = excluded.updated_at"
)
_INSERT_EVENT = (
    "INSERT INTO sync_events (date, code, source, kind, detail, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class SourceState:
    """A source's ``source_state`` row as stored (``blocked_until`` is ISO text or None)."""

    source: str
    blocked_until: str | None
    reason: str | None
    updated_at: str | None


def read_source_state(db: sqlite_utils.Database, source: str) -> SourceState | None:
    """The stored state of ``source`` (None when it has no row)."""
    row = db.execute(
        "SELECT blocked_until, reason, updated_at FROM source_state WHERE source = ?", [source]
    ).fetchone()
    if row is None:
        return None
    return SourceState(source, row[0], row[1], row[2])


def save_source_state(db: sqlite_utils.Database, state: SourceState) -> None:
    """Insert or replace the row of ``state.source`` in its own write transaction."""
    with write_transaction(db):
        db.execute(_UPSERT_STATE, _state_values(state))


def save_source_state_in_file(path: str, state: SourceState) -> None:
    """`save_source_state` through a new connection to the database file ``path`` (safe on any
    thread); the connection is closed again."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        with conn:
            conn.execute(_UPSERT_STATE, _state_values(state))
    finally:
        conn.close()


def _state_values(state: SourceState) -> list[str | None]:
    return [state.source, state.blocked_until, state.reason, state.updated_at]


@dataclass(frozen=True)
class SyncEvent:
    """One ``sync_events`` row (``detail`` decoded)."""

    date: str | None
    code: str | None
    source: str
    kind: str
    detail: Mapping[str, Any]
    created_at: str


def write_sync_events(db: sqlite_utils.Database, events: Iterable[SyncEvent]) -> None:
    """Insert ``events`` (inside the caller's transaction)."""
    rows = [(e.date, e.code, e.source, e.kind, _json(e.detail), e.created_at) for e in events]
    db.conn.executemany(_INSERT_EVENT, rows)


def read_sync_events(
    db: sqlite_utils.Database, kind: str | None = None, limit: int = 100
) -> list[SyncEvent]:
    """The latest ``sync_events`` rows (newest first), optionally of one ``kind``."""
    where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
    rows = db.execute(
        "SELECT date, code, source, kind, detail, created_at FROM sync_events "
        f"{where} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [
        SyncEvent(day, code, source, kind_, json.loads(detail or "{}"), created)
        for day, code, source, kind_, detail, created in rows
    ]


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
