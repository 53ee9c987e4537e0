"""Writing bars, index bars and the ticker master (upserts and deletes, inside the caller's
transaction)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlite_utils

from scanctl.clock import now_kst
from scanctl.store.panel import refresh_blocks

MARKETS = ("KOSPI", "KOSDAQ", "KONEX")
SECURITY_TYPES = ("stock", "preferred", "etf", "etn", "spac", "reit", "fund", "other")
MARKET_TABLES = ("bars", "bar_blocks", "index_bars", "tickers")
"""The tables of market data, in the order `delete_market_data` empties them."""

BarRow = tuple[str, str, int, int, int, int, int, int | None]
"""(date, code, open, high, low, close, volume, value or None)."""

IndexBarRow = tuple[str, str, float, float, float, float, int | None]
"""(date, index_code, open, high, low, close, volume or None)."""


@dataclass(frozen=True)
class TickerRow:
    """One row of the ticker master (PRODUCT.md §4.1 ``tickers``)."""

    code: str
    name: str | None
    market: str
    security_type: str | None = None
    managed: bool = False
    halted: bool = False
    listed_on: str | None = None


def upsert_bars(db: sqlite_utils.Database, rows: Sequence[BarRow], source: str) -> int:
    """Insert or replace bars and refresh the panel blocks of their dates; returns the row count.

    Call inside `write_transaction` so that the bars and the blocks land together.
    """
    db.conn.executemany(
        "INSERT INTO bars (date, code, open, high, low, close, volume, value, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (date, code) DO UPDATE SET open = excluded.open, high = excluded.high, "
        "low = excluded.low, close = excluded.close, volume = excluded.volume, "
        "value = excluded.value, source = excluded.source",
        ((*row, source) for row in rows),
    )
    refresh_blocks(db, sorted({row[0] for row in rows}))
    return len(rows)


def upsert_index_bars(db: sqlite_utils.Database, rows: Iterable[IndexBarRow]) -> int:
    """Insert or replace index bars; returns the row count."""
    rows = list(rows)
    db.conn.executemany(
        "INSERT OR REPLACE INTO index_bars (date, index_code, open, high, low, close, volume) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def upsert_tickers(db: sqlite_utils.Database, rows: Iterable[TickerRow]) -> int:
    """Insert or update ticker-master rows (updated_at = now); returns the row count."""
    stamp = now_kst().isoformat(timespec="seconds")
    rows = list(rows)
    db.conn.executemany(
        "INSERT INTO tickers (code, name, market, security_type, managed, halted, listed_on, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (code) DO UPDATE SET name = excluded.name, market = excluded.market, "
        "security_type = excluded.security_type, managed = excluded.managed, "
        "halted = excluded.halted, listed_on = coalesce(excluded.listed_on, tickers.listed_on), "
        "updated_at = excluded.updated_at",
        [
            (
                r.code,
                r.name,
                r.market,
                r.security_type,
                int(r.managed),
                int(r.halted),
                r.listed_on,
                stamp,
            )
            for r in rows
        ],
    )
    return len(rows)


def delete_code_bars(db: sqlite_utils.Database, code: str, first: str, last: str) -> None:
    """Delete the bars of ``code`` dated ``first`` … ``last`` (inside the caller's transaction)."""
    db.execute(
        "DELETE FROM bars WHERE code = ? AND date >= ? AND date <= ?",
        [code, first, last],
    )


def delete_market_data(db: sqlite_utils.Database) -> None:
    """Delete every bar, bar block, index bar and ticker (inside the caller's transaction)."""
    for table in MARKET_TABLES:
        db.execute(f"DELETE FROM {table}")
