import datetime as dt
import json

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
