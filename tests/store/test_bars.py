"""Bulk bar writes (`upsert_bar_columns`): the rows, the panel blocks of their dates, and the
block triggers left as they were."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scanctl.store.bars import BarColumns, delete_market_data, upsert_bar_columns, upsert_bars
from scanctl.store.db import write_transaction
from scanctl.store.panel import build_blocks


def columns(rows: list[tuple]) -> BarColumns:
    """BarColumns of ``(date, code, open, high, low, close, volume, value or None)`` rows."""
    days = sorted({row[0] for row in rows}, reverse=True)  # any order of the names will do
    codes = sorted({row[1] for row in rows}, reverse=True)
    fields = np.array([[0 if v is None else v for v in row[2:]] for row in rows], dtype=np.int64)
    return BarColumns(
        days=days,
        codes=codes,
        day_of=np.array([days.index(row[0]) for row in rows]),
        code_of=np.array([codes.index(row[1]) for row in rows]),
        **{name: fields[:, k] for k, name in enumerate(("open", "high", "low", "close"))},
        volume=fields[:, 4],
        value=fields[:, 5],
        value_known=np.array([row[7] is not None for row in rows]),
    )


def stored_blocks(db) -> dict[str, tuple[bytes, bytes]]:
    return {day: (codes, data) for day, codes, data in db.execute("SELECT * FROM bar_blocks")}


def triggers(db) -> list[tuple[str, str]]:
    return db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    ).fetchall()


def test_rows_blocks_and_triggers(db):
    before = triggers(db)
    assert len(before) == 3
    with write_transaction(db):
        upsert_bars(db, [("2025-01-02", "000020", 10, 12, 9, 11, 100, 1_000)], "naver")
    rows = [
        ("2025-01-03", "005930", 100, 110, 90, 105, 1000, None),
        ("2025-01-02", "005930", 50, 55, 45, 52, 10, 500),
        ("2025-01-03", "0126Z0", 7, 8, 6, 7, 3, 21),
        ("2025-01-02", "000020", 11, 13, 10, 12, 200, 2_400),  # replaces the naver bar
    ]
    with write_transaction(db):
        assert upsert_bar_columns(db, columns(rows), "import") == 4
    stored = db.execute("SELECT * FROM bars ORDER BY date, code").fetchall()
    assert stored == [(*row, "import") for row in sorted(rows)]
    assert triggers(db) == before
    # 01-02 held a bar before (re-read), 01-03 is new (built from the columns): both as
    # `build_blocks` reads them back from the table.
    blocks = stored_blocks(db)
    rebuilt = build_blocks(db, ["2025-01-02", "2025-01-03"])
    assert blocks == {day: (c.tobytes(), d.tobytes()) for day, (c, d) in rebuilt.items()}
    values = np.frombuffer(blocks["2025-01-03"][1]).reshape(6, -1)
    assert np.isnan(values[5, 0]) and values[5, 1] == 21  # NULL value → NaN, by code


def test_the_triggers_still_drop_blocks_afterwards(db):
    with write_transaction(db):
        upsert_bar_columns(db, columns([("2025-01-02", "005930", 1, 2, 1, 2, 3, 4)]), "demo")
    assert list(stored_blocks(db)) == ["2025-01-02"]
    db.execute("UPDATE bars SET close = 1")
    assert stored_blocks(db) == {}


def test_a_failed_write_leaves_triggers_and_rows_as_they_were(db):
    before = triggers(db)
    bad = columns([("2025-01-02", "005930", 1, 2, 1, 2, 3, 4)])
    bad = dataclasses.replace(bad, close=np.array([-(2**64)], dtype=object))  # too big for SQLite
    with pytest.raises(OverflowError), write_transaction(db):
        upsert_bar_columns(db, bad, "demo")
    assert triggers(db) == before
    assert db.execute("SELECT count(*) FROM bars").fetchone() == (0,)


def test_outside_a_transaction_is_refused(db):
    with pytest.raises(RuntimeError, match="inside write_transaction"):
        upsert_bar_columns(db, columns([("2025-01-02", "005930", 1, 2, 1, 2, 3, 4)]), "demo")


def test_deleting_the_market_keeps_the_triggers(db):
    before = triggers(db)
    with write_transaction(db):
        upsert_bar_columns(db, columns([("2025-01-02", "005930", 1, 2, 1, 2, 3, 4)]), "demo")
    with write_transaction(db):
        delete_market_data(db)
    assert db.execute("SELECT count(*) FROM bars").fetchone() == (0,)
    assert stored_blocks(db) == {} and triggers(db) == before
