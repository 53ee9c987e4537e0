"""Writing bars, index bars and the ticker master (upserts and deletes, inside the caller's
transaction).

Bulk writers (`data import`, `data demo`) hand over bars as columns (`BarColumns`): they are
written in (date, code) order, many rows a statement, and the panel block of a date new to the
store is built from the same columns instead of being read back from ``bars``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import sqlite_utils

from scanctl.clock import now_kst
from scanctl.store.panel import CODE_BYTES, FIELDS, make_block, refresh_blocks, save_blocks

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


_BAR_COLUMNS = "date, code, open, high, low, close, volume, value, source"
_ON_CONFLICT = (
    "ON CONFLICT (date, code) DO UPDATE SET open = excluded.open, high = excluded.high, "
    "low = excluded.low, close = excluded.close, volume = excluded.volume, "
    "value = excluded.value, source = excluded.source"
)
ROWS_PER_STATEMENT = 200  # bars per INSERT of `upsert_bar_columns` (9 parameters a bar)
ROWS_PER_BATCH = 20_000  # bars turned into Python values at once
BLOCKS_PER_SAVE = 32  # panel blocks built before they are saved


@dataclass(frozen=True, eq=False)
class BarColumns:
    """Bars as columns, one entry a bar, with dates and codes held once each.

    Attributes
    ----------
    days, codes
        The distinct ISO dates and ticker codes the rows refer to.
    day_of, code_of
        ``(n,)`` integer indexes into ``days`` and ``codes``.
    open, high, low, close, volume, value
        ``(n,)`` int64.
    value_known
        ``(n,)`` bool, False where the value is NULL; None when every value is known.
    """

    days: Sequence[str]
    codes: Sequence[str]
    day_of: np.ndarray
    code_of: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    value: np.ndarray
    value_known: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.day_of)

    def rows(self, start: int = 0, stop: int | None = None) -> Iterator[BarRow]:
        """The bars ``start … stop-1`` as `BarRow` tuples, in column order."""
        span = slice(start, len(self) if stop is None else stop)
        days = np.asarray(self.days, dtype=object)[self.day_of[span]]
        codes = np.asarray(self.codes, dtype=object)[self.code_of[span]]
        fields = [getattr(self, name)[span].tolist() for name in FIELDS]
        if self.value_known is not None:
            fields[-1] = [v if known else None for v, known in zip(
                fields[-1], self.value_known[span].tolist(), strict=True)]  # fmt: skip
        return zip(days.tolist(), codes.tolist(), *fields, strict=True)


def upsert_bars(db: sqlite_utils.Database, rows: Sequence[BarRow], source: str) -> int:
    """Insert or replace bars and refresh the panel blocks of their dates; returns the row count.

    Call inside `write_transaction` so that the bars and the blocks land together.
    """
    db.conn.executemany(
        f"INSERT INTO bars ({_BAR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) {_ON_CONFLICT}",
        ((*row, source) for row in rows),
    )
    refresh_blocks(db, sorted({row[0] for row in rows}))
    return len(rows)


def upsert_bar_columns(db: sqlite_utils.Database, bars: BarColumns, source: str) -> int:
    """Insert or replace the bars of ``bars`` (unique (date, code) pairs) and write the panel
    blocks of their dates; returns the row count.

    The rows go in (date, code) order, `ROWS_PER_STATEMENT` a statement. The block of a date
    that had no bar before is built from ``bars`` itself; a date that had some is re-read
    (`refresh_blocks`), since its block holds the stored bars too. As every block of the dates
    written is rewritten here, the per-row triggers that drop a date's block are suspended
    meanwhile (dropped and re-created, in the same transaction). Call inside
    `write_transaction` so that the bars and the blocks land together.
    """
    if not len(bars):
        return 0
    days = np.asarray(bars.days, dtype=object)
    codes = np.asarray(bars.codes, dtype=object)
    keys = _ranks(days)[bars.day_of] * len(codes) + _ranks(codes)[bars.code_of]
    order = np.argsort(keys, kind="stable")
    stored = set(_days_with_bars(db, days[np.unique(bars.day_of)].tolist()))
    with _block_triggers_suspended(db):
        for start in range(0, len(order), ROWS_PER_BATCH):
            _insert_rows(db, bars, days, codes, order[start : start + ROWS_PER_BATCH], source)
        code_bytes = codes.astype(str).astype(f"S{CODE_BYTES}")
        blocks = {}
        for rows in np.split(order, np.flatnonzero(np.diff(bars.day_of[order])) + 1):
            day = days[bars.day_of[rows[0]]]
            if day not in stored:
                blocks[day] = make_block(
                    code_bytes[bars.code_of[rows]],
                    [getattr(bars, name)[rows] for name in FIELDS],
                    None if bars.value_known is None else bars.value_known[rows],
                )
            if len(blocks) == BLOCKS_PER_SAVE:
                save_blocks(db, blocks)
                blocks = {}
        save_blocks(db, blocks)
        refresh_blocks(db, sorted(stored))
    return len(bars)


@contextmanager
def _block_triggers_suspended(db: sqlite_utils.Database) -> Iterator[None]:
    """Drop the triggers on ``bars`` for the block, then re-create them as they were (inside
    the caller's transaction: other connections never see them missing)."""
    if not db.conn.in_transaction:
        raise RuntimeError("bulk bar writes run inside write_transaction")
    triggers = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'bars' "
        "ORDER BY name"
    ).fetchall()
    for name, _ in triggers:
        db.execute(f'DROP TRIGGER "{name}"')
    try:
        yield
    finally:
        for _, sql in triggers:
            db.execute(sql)


def _ranks(names: np.ndarray) -> np.ndarray:
    """The position of each of ``names`` in their sorted order."""
    order = np.argsort(names.astype(str), kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order))
    return ranks


def _days_with_bars(db: sqlite_utils.Database, days: Sequence[str]) -> list[str]:
    """Those of ``days`` with a stored bar (one index seek each)."""
    found = []
    for start in range(0, len(days), 500):
        chunk = list(days[start : start + 500])
        marks = ",".join("?" * len(chunk))
        query = f"SELECT DISTINCT date FROM bars WHERE date IN ({marks})"
        found += [row[0] for row in db.execute(query, chunk)]
    return found


def _insert_rows(
    db: sqlite_utils.Database,
    bars: BarColumns,
    days: np.ndarray,
    codes: np.ndarray,
    rows: np.ndarray,
    source: str,
) -> None:
    """Upsert the bars at positions ``rows``, `ROWS_PER_STATEMENT` a statement."""
    table = np.empty((len(rows), 9), dtype=object)
    table[:, 0] = days[bars.day_of[rows]]
    table[:, 1] = codes[bars.code_of[rows]]
    for k, name in enumerate(FIELDS):
        table[:, 2 + k] = getattr(bars, name)[rows].tolist()
    if bars.value_known is not None:
        table[~bars.value_known[rows], 7] = None
    table[:, 8] = source
    params = table.ravel().tolist()
    width = 9 * ROWS_PER_STATEMENT
    full = len(rows) // ROWS_PER_STATEMENT
    if full:
        db.conn.executemany(
            _insert_sql(ROWS_PER_STATEMENT),
            (params[k * width : (k + 1) * width] for k in range(full)),
        )
    if len(rows) > full * ROWS_PER_STATEMENT:
        db.conn.execute(_insert_sql(len(rows) - full * ROWS_PER_STATEMENT), params[full * width :])


def _insert_sql(count: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * count)
    return f"INSERT INTO bars ({_BAR_COLUMNS}) VALUES {values} {_ON_CONFLICT}"


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
    """Delete every bar, bar block, index bar and ticker (inside the caller's transaction).

    The blocks all go too, so the per-row block triggers are suspended: SQLite then empties
    ``bars`` at once instead of row by row.
    """
    with _block_triggers_suspended(db):
        for table in MARKET_TABLES:
            db.execute(f"DELETE FROM {table}")
