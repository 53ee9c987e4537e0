"""`scanctl backfill` gives exactly the rows of per-date scans, and is resumable."""

import json
import shutil

from tests.conftest import run_cli
from tests.demo_store import dump

DATES = ["2025-11-24", "2025-11-25", "2025-11-26", "2025-11-27", "2025-11-28"]
STAMPS = "run_id, created_at"


def rank_rows(db):
    """scan_rank without the columns that identify the write (run_id, created_at)."""
    return [row[:-2] for row in dump(db, "scan_rank")]


def test_backfill_equals_per_date_scans(scan_db, tmp_path):
    per_date = tmp_path / "per-date.db"
    shutil.copy(scan_db, per_date)
    for day in DATES:
        result = run_cli(
            "--db", str(per_date), "scan", "--date", day, "--version", "all", "--no-notify"
        )
        assert result.returncode == 0, result.stderr
    result = run_cli(
        "--db",
        str(scan_db),
        "backfill",
        "--from",
        DATES[0],
        "--to",
        "2025-11-30",
        "--version",
        "all",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc["scanned"]) == DATES
    assert doc["skipped"] == {}  # the weekend is not a session, so it is not listed
    assert rank_rows(scan_db) == rank_rows(per_date)
    runs = dump(scan_db, "scan_runs")
    assert {row[3] for row in runs} == {"backfill"} and len(runs) == 10
    assert dump(scan_db, "notifications") == []


def test_backfill_rerun_replaces_and_reports_missing_data(scan_db):
    import sqlite3

    assert (
        run_cli(
            "--db",
            str(scan_db),
            "backfill",
            "--from",
            DATES[0],
            "--to",
            DATES[-1],
            "--version",
            "v2",
        ).returncode
        == 0
    )
    first = rank_rows(scan_db)
    conn = sqlite3.connect(scan_db)
    with conn:
        conn.execute("DELETE FROM bars WHERE date = ?", [DATES[2]])
    conn.close()
    result = run_cli(
        "--db",
        str(scan_db),
        "backfill",
        "--from",
        DATES[0],
        "--to",
        DATES[-1],
        "--version",
        "v2",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert DATES[2] in doc["skipped"] and "bars for 2025-11-26: 0" in doc["skipped"][DATES[2]]
    assert len(doc["scanned"]) == 4

    # earlier dates are unchanged and the skipped date keeps its rows (later dates' windows
    # changed with the deleted session, so their rows may differ)
    def upto(rows):
        return [row for row in rows if row[0] <= DATES[2]]

    assert upto(rank_rows(scan_db)) == upto(first)


def test_backfill_bad_range(scan_db):
    result = run_cli("--db", str(scan_db), "backfill", "--from", "2025-11-28", "--to", "2025-11-01")
    assert result.returncode == 2 and "is after --to" in result.stderr
    result = run_cli("--db", str(scan_db), "backfill", "--from", "2025-11-29", "--to", "2025-11-30")
    assert result.returncode == 2 and "no KRX session" in result.stderr


def test_backfill_equals_scans_on_real_data_across_a_long_halt(tmp_path, real_krx_db):
    """001080 has no bar from 2023-09-26 to 2024-09-20: its windows reach back past the panel."""
    days = ["2024-12-16", "2024-12-17", "2024-12-18"]
    first = real_krx_db
    second = tmp_path / "b.db"
    shutil.copy(first, second)
    for day in days:
        result = run_cli(
            "--db", str(first), "scan", "--date", day, "--version", "all", "--no-notify"
        )
        assert result.returncode == 0, result.stderr
    result = run_cli(
        "--db", str(second), "backfill", "--from", days[0], "--to", days[-1], "--version", "all"
    )
    assert result.returncode == 0, result.stderr
    assert rank_rows(second) == rank_rows(first)
    inspected = json.loads(
        run_cli("--db", str(first), "inspect", "001080", "--date", days[1], "--json").stdout
    )
    assert inspected["window"]["bars"] == 206  # every bar ≤ D, across the year-long halt


def test_backfill_with_no_stored_bars_is_data_not_ready(store_path):
    result = run_cli(
        "--db",
        str(store_path),
        "backfill",
        "--from",
        "2025-11-03",
        "--to",
        "2025-11-05",
        "--json",
    )
    assert result.returncode == 3
    doc = json.loads(result.stdout)
    assert doc["scanned"] == {} and len(doc["skipped"]) == 3 and doc["exit_code"] == 3
