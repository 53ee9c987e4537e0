"""`data demo` as operators run it: the XKRX sessions, the Seoul clock, replacement, refusal."""

import hashlib
import json

import pytest
from typer.testing import CliRunner

from scanctl.cli.main import app
from scanctl.errors import BadInput
from scanctl.providers.demo import install_demo_market
from scanctl.store.bars import upsert_bars
from scanctl.store.db import open_db, write_transaction
from tests.conftest import run_cli

runner = CliRunner()


def test_demo_ends_on_latest_closed_session(db, monkeypatch):
    # Friday 2025-11-28 at 15:00 KST: that session has not closed, so the demo ends Thursday.
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T15:00:00")
    report = install_demo_market(db, n_tickers=60, n_sessions=40, seed=3)
    assert report["last_date"] == "2025-11-27"
    dates = [row[0] for row in db.execute("SELECT DISTINCT date FROM bars ORDER BY date")]
    assert len(dates) == 40 and dates[-1] == "2025-11-27"
    assert "2025-11-13" in dates  # the CSAT late session is a session
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T16:00:00")
    again = install_demo_market(db, n_tickers=50, n_sessions=30, seed=3)
    assert again["last_date"] == "2025-11-28"
    # replaced, not merged: only the new market's tickers remain
    assert db.execute("SELECT count(*) FROM tickers").fetchone() == (50,)
    assert db.execute("SELECT count(DISTINCT date) FROM bars").fetchone() == (30,)


def test_demo_refuses_a_store_with_real_bars(db):
    with write_transaction(db):
        upsert_bars(db, [("2025-11-28", "005930", 1, 2, 1, 2, 10, None)], "naver")
    with pytest.raises(BadInput, match="holds 'naver' bars"):
        install_demo_market(db, n_tickers=60, n_sessions=40)
    assert db.execute("SELECT count(*) FROM bars").fetchone() == (1,)


def test_demo_command_then_status(db_path):
    result = runner.invoke(
        app, ["--db", str(db_path), "data", "demo", "--tickers", "80", "--sessions", "50"]
    )
    assert result.exit_code == 0, result.output
    assert "demo market: 80 tickers" in result.stderr
    status = json.loads(
        runner.invoke(app, ["--db", str(db_path), "data", "status", "--json"]).stdout
    )
    assert status["tickers"] == 80 and status["dates"] == 50
    assert status["last_date"] == "2025-11-28"
    assert {ix["index_code"] for ix in status["indexes"]} == {"KOSPI", "KOSDAQ"}


# The store `data demo --tickers 60 --sessions 300 --seed 3` writes under the pinned clock, as
# (rows, sha256 of the rows' reprs in key order), recorded with the generator and writer of
# before issue 12 (which held the whole market in memory): streaming must not change a byte.
DEMO_DIGESTS = {
    "bars": (17_041, "5eec07afd387d20e5faa88854c4cb5739c60740e7cca75643e724dd273d921af"),
    "index_bars": (600, "acf815532d67e81a2f2a9f1fe441e4af46a5152881188f09420bbd8988f8bcb0"),
    "tickers": (60, "6a28baf6ce7e5cf4e137ec6fccd3931c229cdc80851d0f03c1b4839743395bdc"),
    "bar_blocks": (300, "9b916acfdb30eddc0699a925fdb987516d30da6c38468dbfd0858c066af2a629"),
}
DIGEST_QUERIES = {
    "bars": "SELECT date, code, open, high, low, close, volume, value, source FROM bars "
    "ORDER BY date, code",
    "index_bars": "SELECT * FROM index_bars ORDER BY date, index_code",
    "tickers": "SELECT code, name, market, security_type, managed, halted, listed_on "
    "FROM tickers ORDER BY code",
    "bar_blocks": "SELECT date, codes, data FROM bar_blocks ORDER BY date",
}


def table_digests(db) -> dict[str, tuple[int, str]]:
    digests = {}
    for table, query in DIGEST_QUERIES.items():
        digest, count = hashlib.sha256(), 0
        for row in db.execute(query):
            digest.update(repr(row).encode())
            count += 1
        digests[table] = (count, digest.hexdigest())
    return digests


def test_demo_store_is_byte_identical_to_the_recorded_one(db_path):
    result = run_cli(
        "--db", str(db_path), "data", "demo", "--tickers", "60", "--sessions", "300", "--seed", "3"
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    db = open_db(db_path)
    assert table_digests(db) == DEMO_DIGESTS
    db.conn.close()
