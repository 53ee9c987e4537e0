import dataclasses
import datetime as dt
import json

import pytest

from scanctl.engines.base import Pick
from scanctl.jobs.persist import rank_rows, replace_ranks
from scanctl.store.db import write_transaction
from scanctl.store.picks import RANK_COLUMNS

DAY = dt.date(2025, 11, 28)
PICK = Pick(
    ticker="005930",
    name="삼성전자",
    market="KOSPI",
    engine="v3",
    sub_engine="midterm",
    rank=1,
    score=8.5,
    score_label="강한 매수",
    strategy="midterm",
    close=100500,
    volume=15292277,
    change_rate=-2.9,
    traded_value=1.537e12,
    indicators={"EMA20": 99637.6},
    trend={"EMA60_SLOPE20": 360.3},
    flags={"sub_engines": ["midterm"]},
    details={"C1": 3.0},
)
# The row that rank_rows wrote for PICK when picks were dicts (written out by hand).
PICK_ROW = {
    "date": "2025-11-28",
    "code": "005930",
    "scanner_version": "v3",
    "name": "삼성전자",
    "score": 8.5,
    "score_label": "강한 매수",
    "close_price": 100500,
    "volume": 15292277,
    "change_rate": -2.9,
    "market": "KOSPI",
    "strategy": "midterm",
    "indicators": '{"EMA20":99637.6}',
    "trend": '{"EMA60_SLOPE20":360.3}',
    "flags": '{"sub_engines":["midterm"]}',
    "details": '{"C1":3.0}',
    "rank": 1,
    "engine": "midterm",
    "anchor_date": "2025-11-28",
    "anchor_close": 100500,
    "anchor_price_type": "CLOSE",
    "anchor_source": "naver",
}


def test_pick_row_is_legacy_compatible():
    (row,) = rank_rows(DAY, "v3", [PICK], "naver")
    assert row["engine"] == "midterm"  # v3 stores the sub-engine
    assert (row["close_price"], row["volume"], row["anchor_close"]) == (100500, 15292277, 100500)
    assert row["anchor_price_type"] == "CLOSE" and row["anchor_source"] == "naver"
    assert json.loads(row["flags"]) == {"sub_engines": ["midterm"]}
    assert set(row) == set(RANK_COLUMNS) - {"run_id", "created_at"}


def test_replace_is_all_or_nothing_and_idempotent(db):
    rows = rank_rows(DAY, "v3", [PICK], "naver")
    with write_transaction(db):
        assert replace_ranks(db, DAY, "v3", rows, "run-1", "t1") is True
    with write_transaction(db):
        assert replace_ranks(db, DAY, "v3", rows, "run-2", "t2") is False  # same content
    assert db.execute("SELECT run_id, created_at FROM scan_rank").fetchall() == [("run-1", "t1")]
    empty = rank_rows(DAY, "v3", [], "naver")
    with write_transaction(db):
        assert replace_ranks(db, DAY, "v3", empty, "run-3", "t3") is True
    assert db.execute("SELECT code, run_id FROM scan_rank").fetchall() == [("NORESULT", "run-3")]


def test_pick_record_round_trips_to_the_same_row_and_the_pick_is_frozen():
    record = PICK.to_record()
    assert list(record) == [field.name for field in dataclasses.fields(Pick)]  # §8.1 order
    assert record["ticker"] == "005930" and record["flags"] == {"sub_engines": ["midterm"]}
    assert Pick(**record) == PICK
    (row,) = rank_rows(DAY, "v3", [Pick(**record)], "naver")
    assert list(row.items()) == list(PICK_ROW.items())  # the row of the dict era, key order too
    record["flags"]["sub_engines"].append("v2_lite")  # the record is a copy
    assert PICK.flags == {"sub_engines": ["midterm"]}
    with pytest.raises(dataclasses.FrozenInstanceError):
        PICK.rank = 2  # type: ignore[misc]
