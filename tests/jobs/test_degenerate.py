"""Degenerate data never raises: flat prices, zero volume, a single bar, holes. Each such
ticker is evaluated (or not) and reported with a reason code, by the scan and by inspect."""

import json
import sqlite3

import pytest

from scanctl.store.bars import TickerRow, upsert_bars, upsert_tickers
from scanctl.store.db import open_db, write_transaction
from tests.conftest import run_cli
from tests.demo_store import DEMO_LAST_SESSION


@pytest.fixture
def degenerate_db(scan_db):
    conn = sqlite3.connect(scan_db)
    dates = [row[0] for row in conn.execute("SELECT DISTINCT date FROM bars ORDER BY date")]
    conn.close()
    db = open_db(scan_db)
    rows = []
    for i, day in enumerate(dates):
        rows.append((day, "FLAT00", 5000, 5000, 5000, 5000, 1_000_000, None))  # flat, liquid
        rows.append((day, "ZVOL00", 5000, 5100, 4900, 5000, 0 if i % 2 else 900_000, None))
        if i % 3:  # holes: every third session missing
            rows.append((day, "HOLE00", 8000 + i, 8100 + i, 7900 + i, 8050 + i, 500_000, None))
    rows.append((dates[-1], "ONE000", 3000, 3100, 2900, 3050, 1_000_000, None))
    rows.append((dates[-1], "ZERO00", 0, 0, 0, 4000, 0, None))  # a halted row: not a bar
    with write_transaction(db):
        upsert_bars(db, rows, "test")
        upsert_tickers(
            db,
            [
                TickerRow(code, f"이상{code}", "KOSPI", "stock")
                for code in ("FLAT00", "ZVOL00", "HOLE00", "ONE000", "ZERO00")
            ],
        )
    db.conn.close()
    return scan_db


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("FLAT00", None),  # evaluated: some check or selection stage decides
        ("ZVOL00", "no_bar_on_date"),  # the zero-volume row of the last session is no bar
        ("HOLE00", None),
        ("ONE000", "insufficient_history"),
    ],
)
def test_inspect_reports_a_reason(degenerate_db, code, expected):
    result = run_cli(
        "--db", str(degenerate_db), "inspect", code, "--date", DEMO_LAST_SESSION, "--json"
    )
    if expected == "no_bar_on_date":
        assert result.returncode == 2 and "reason no_bar_on_date" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    for version, verdict in record["versions"].items():
        assert verdict["picked"] or verdict["reason"], (code, version)
        if expected:
            assert verdict["reason"] == expected, (code, version)
    if code == "FLAT00":
        assert (
            record["indicators"]["RSI_TEMA"] == 50 and record["indicators"]["TEMA20_SLOPE20"] == 0
        )


def test_scan_runs_over_degenerate_tickers(degenerate_db):
    result = run_cli(
        "--db", str(degenerate_db), "scan", "--version", "v1,v2,v3", "--no-notify", "--json"
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert all(v["status"] == "ok" for v in doc["versions"].values())
