"""`scanctl inspect` on the demo market and on the real data."""

import json
import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from scanctl.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, demo_seed1_template):
    """The demo market of 300 tickers, 260 sessions, seed 1 (built once per session)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(demo_seed1_template, path)
    return path


def inspect_json(db_path, *args):
    result = runner.invoke(app, ["--db", str(db_path), "inspect", *args, "--json"])
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.stdout
    return json.loads(result.stdout)


def picked_code(db_path, version):
    """A ticker the engines pick on the last session, found through the CLI itself."""
    conn = sqlite3.connect(db_path)
    codes = [row[0] for row in conn.execute("SELECT code FROM tickers ORDER BY code")]
    for code in codes:
        result = runner.invoke(
            app, ["--db", str(db_path), "inspect", code, "--version", version, "--json"]
        )
        if result.exit_code == 0 and json.loads(result.stdout)["versions"][version]["picked"]:
            return code
    raise AssertionError(f"no {version} pick in the demo market")


def test_inspect_document_shape(demo_db):
    record = inspect_json(demo_db, "069500")
    assert record["ticker"] == "069500" and record["name"] == "KODEX 200"
    assert record["date"] == "2025-11-28"
    assert record["window"]["bars"] == 220 and record["window"]["last"] == "2025-11-28"
    # an ETF is outside the universe but is still evaluated as a diagnostic
    assert record["in_universe"] is False and record["universe"]["why"] == "security_type"
    for key in ("TEMA20", "DEMA10", "EMA60", "MACD_OSC", "RSI_TEMA", "OBV", "ABOVE_CNT5", "ATR14"):
        assert isinstance(record["indicators"][key], int | float)
    assert record["market_condition"]["version"] == "scanctl-mc-1"
    assert set(record["versions"]) == {"v1", "v2", "v3"}
    for version in ("v1", "v2"):
        verdict = record["versions"][version]
        assert verdict["reason"] == "not_in_universe" and verdict["picked"] is False
        assert verdict["diagnostic_reason"] is None or isinstance(verdict["diagnostic_reason"], str)
    assert set(record["versions"]["v3"]["sub_engines"]) == {"midterm", "v2_lite"}


def test_picked_ticker_has_no_reason_and_a_rank(demo_db):
    code = picked_code(demo_db, "v2")
    verdict = inspect_json(demo_db, code, "--version", "v2")["versions"]["v2"]
    assert verdict["matched"] and verdict["picked"] and verdict["reason"] is None
    assert 1 <= verdict["rank"] <= 5 and verdict["score"] is not None
    assert all(check["passed"] for check in verdict["checks"])


def test_inspect_plain_table(demo_db):
    result = runner.invoke(app, ["--db", str(demo_db), "inspect", "069500", "--version", "v1"])
    assert result.exit_code == 0, result.output
    assert "Verdicts" in result.stdout and "not_in_universe" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("999999",), "no bars stored for ticker '999999'"),
        (("069500", "--date", "2030-01-02"), "is outside the stored bars"),
        (("069500", "--date", "2025-11-29"), "is outside the stored bars"),
        (("069500", "--version", "v9"), "unknown version 'v9'"),
        (("069500", "--date", "28-11-2025"), "is not a date"),
    ],
)
def test_inspect_bad_input(demo_db, args, message):
    result = runner.invoke(app, ["--db", str(demo_db), "inspect", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_inspect_on_a_date_without_a_bar(demo_db):
    conn = sqlite3.connect(demo_db)
    code, day = conn.execute(
        "SELECT t.code, d.date FROM tickers t, (SELECT DISTINCT date FROM bars) d "
        "WHERE NOT EXISTS (SELECT 1 FROM bars b WHERE b.code = t.code AND b.date = d.date) "
        "AND EXISTS (SELECT 1 FROM bars b WHERE b.code = t.code AND b.date < d.date) LIMIT 1"
    ).fetchone()
    result = runner.invoke(app, ["--db", str(demo_db), "inspect", code, "--date", day])
    assert result.exit_code == 2
    assert f"{code} has no bar on {day} (reason no_bar_on_date" in result.stderr


def test_inspect_real_data(real_krx_db):
    record = inspect_json(real_krx_db, "005930", "--date", "2025-11-28")
    assert record["name"] == "삼성전자" and record["in_universe"] is True
    assert record["universe"]["market_rank"] == 1
    assert record["market_condition"]["series"]["kospi_proxy"] == "KOSPI"
    assert record["market_condition"]["series"]["kosdaq_proxy"] == "229200"
    assert record["indicators"]["change_rate"] == -2.9  # CSV: 103,500 → 100,500


def test_inspect_shows_the_run_record_a_scan_stores(demo_db, tmp_path):
    """`inspect` builds each version's run record as `scan` does: after a scan of the date,
    the record `runs --json` reads back from the store is the one `inspect` shows."""
    path = tmp_path / "scanned.db"
    shutil.copy(demo_db, path)
    scan = runner.invoke(
        app, ["--db", str(path), "scan", "--version", "v1,v2,v3", "--date", "2025-11-28"]
    )
    assert scan.exit_code == 0, scan.output
    runs = json.loads(runner.invoke(app, ["--db", str(path), "runs", "--json"]).stdout)
    stored = {run["scanner_version"]: run["record"] for run in runs}
    shown = inspect_json(path, "069500")["run_records"]
    assert set(shown) == {"v1", "v2", "v3"} and shown == stored
    assert stored["v1"]["v1"]["target_min"] == 3 and stored["v3"]["v3"]["routing"]
    assert stored["v2"]["universe"]["final_size"] == stored["v2"]["counts"]["universe_count"]
    table = runner.invoke(app, ["--db", str(path), "inspect", "069500", "--version", "v1"])
    assert "Run record v1" in table.stdout and "v1 fallback" in table.stdout
    assert "target 3–5" in table.stdout
