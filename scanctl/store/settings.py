"""The ``scanner_settings`` table: operator settings stored as text (what they mean and how a
value is checked is declared by their owner, `scanctl.engines.selection`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from scanctl.clock import now_kst
from scanctl.store.db import write_transaction


@dataclass(frozen=True)
class StoredSetting:
    """One row of ``scanner_settings``."""

    key: str
    value: str
    updated_at: str | None


def stored_settings(db: sqlite_utils.Database) -> dict[str, StoredSetting]:
    """Every stored setting by key."""
    rows = db.execute(
        "SELECT setting_key, setting_value, updated_at FROM scanner_settings"
    ).fetchall()
    return {row[0]: StoredSetting(*row) for row in rows}


def stored_value(db: sqlite_utils.Database, key: str) -> str | None:
    """The stored value of ``key``, None when it was never set."""
    row = db.execute(
        "SELECT setting_value FROM scanner_settings WHERE setting_key = ?", [key]
    ).fetchone()
    return row[0] if row else None


def store_value(db: sqlite_utils.Database, key: str, value: str, description: str) -> None:
    """Insert or replace the value of ``key``, stamped now."""
    with write_transaction(db):
        db.execute(
            "INSERT INTO scanner_settings (setting_key, setting_value, description, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (setting_key) DO UPDATE SET "
            "setting_value = excluded.setting_value, updated_at = excluded.updated_at",
            [key, value, description, now_kst().isoformat(timespec="seconds")],
        )
