"""What a sync reads from and records in the store besides the bars: the previous date's count,
the stored ticker flags a source cannot tell, and the ``sync_events`` log.

``sync_events`` kinds (``detail`` is a JSON object):

* ``sync`` — one summary per date written (the counts behind the gates);
* ``corporate_action`` — a replaced history: stored and source close, ratio, date range;
* ``corporate_action_failed`` — a refetch that failed: no bar written for that ticker that day;
* ``index_unavailable`` — index bars missing; the engines use their proxy ETFs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from scanctl.store.bars import TickerRow

TICKER_FIELDS = ("name", "market", "security_type", "managed", "halted", "listed_on")
_INSERT = (
    "INSERT INTO sync_events (date, code, source, kind, detail, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class SyncEvent:
    """One ``sync_events`` row (``detail`` decoded)."""

    date: str | None
    code: str | None
    source: str
    kind: str
    detail: Mapping[str, Any]
    created_at: str


def previous_count(db: sqlite_utils.Database, day: str) -> tuple[str | None, int]:
    """The latest stored date before ``day`` and its number of rows (None, 0 when none)."""
    previous = db.execute("SELECT max(date) FROM bars WHERE date < ?", [day]).fetchone()[0]
    if previous is None:
        return None, 0
    count = db.execute("SELECT count(*) FROM bars WHERE date = ?", [previous]).fetchone()[0]
    return previous, count


def merge_stored_tickers(
    db: sqlite_utils.Database, tickers: list[TickerRow], told: frozenset[str]
) -> list[TickerRow]:
    """``tickers`` with the stored values of the fields the source does not tell (``told``
    lists those it does), for codes the store already holds; e.g. ``managed`` under naver."""
    keep = [name for name in TICKER_FIELDS if name not in told]
    if not keep:
        return tickers
    columns = ", ".join(keep)
    stored = {
        row[0]: row[1:] for row in db.execute(f"SELECT code, {columns} FROM tickers").fetchall()
    }
    merged = []
    for ticker in tickers:
        values = stored.get(ticker.code)
        if values is None:
            merged.append(ticker)
            continue
        kept = {
            name: bool(value) if name in ("managed", "halted") else value
            for name, value in zip(keep, values, strict=True)
        }
        merged.append(dataclasses.replace(ticker, **kept))
    return merged


def write_events(db: sqlite_utils.Database, events: Iterable[SyncEvent]) -> None:
    """Insert ``events`` (inside the caller's transaction)."""
    rows = [(e.date, e.code, e.source, e.kind, _json(e.detail), e.created_at) for e in events]
    db.conn.executemany(_INSERT, rows)


def read_events(
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
