"""`data demo` as operators run it: the XKRX sessions, the Seoul clock, replacement, refusal."""

import json

import pytest
from typer.testing import CliRunner

from scanctl.cli.main import app
from scanctl.errors import BadInput
from scanctl.providers.demo import install_demo_market
from scanctl.store.bars import upsert_bars
from scanctl.store.db import write_transaction

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
