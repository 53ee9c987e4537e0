"""`scanctl scan` end to end on a real SQLite file: in process through the CLI, and in a child
process where the process boundary is the point (the lock held by another run, kill -9)."""

import json
import os
import signal
import subprocess
import sys

import pytest

from scanctl.engines import registry
from tests.conftest import run_cli
from tests.demo_store import (
    DEMO_LAST_SESSION,
    dump,
    wait_for_lock_holder,
)
from tests.engines.failing_engine import failing


def scan(db, *args, env=None):
    return run_cli("--db", str(db), "scan", *args, env=env)


def scan_json(db, *args, env=None):
    result = scan(db, *args, "--json", env=env)
    return result, json.loads(result.stdout)


def test_scan_all_stores_each_version(scan_db):
    result, doc = scan_json(scan_db, "--version", "all", "--no-notify")
    assert result.returncode == 0, result.stderr
    assert doc["date"] == DEMO_LAST_SESSION and doc["status"] == "ok" and doc["exit_code"] == 0
    assert set(doc["versions"]) == {"v2", "v3"}
    assert doc["market_condition"]["version"] == "scanctl-mc-1"
    for version in ("v2", "v3"):
        summary = doc["versions"][version]
        assert summary["status"] == "ok" and summary["error"] is None
        stored = dump(scan_db, "scan_rank", f"WHERE scanner_version = '{version}'")
        codes = {row[1] for row in stored}
        assert len(codes) == summary["matched_count"] or codes == {"NORESULT"}
    runs = dump(scan_db, "scan_runs")
    assert sorted(row[2] for row in runs) == ["v2", "v3"]
    assert {row[3] for row in runs} == {"cron"}  # no TTY on stdin
    assert all(row[7] == "ok" for row in runs)


def test_no_version_runs_the_active_engine(scan_db):
    result, doc = scan_json(scan_db, "--no-notify")
    assert result.returncode == 0 and set(doc["versions"]) == {"v1"}
    run_cli("--db", str(scan_db), "settings", "set", "active_engine", "v3")
    _, doc = scan_json(scan_db, "--no-notify")
    assert set(doc["versions"]) == {"v3"}


def test_rerun_gives_identical_rows(scan_db):
    first = scan(scan_db, "--version", "v2,v3", "--no-notify")
    assert first.returncode == 0, first.stderr
    before = dump(scan_db, "scan_rank")
    second = scan(scan_db, "--version", "v2,v3", "--no-notify")
    assert second.returncode == 0
    assert dump(scan_db, "scan_rank") == before  # run_id and created_at included
    assert len(dump(scan_db, "scan_runs")) == 4  # each run is still recorded


def test_version_without_picks_gets_one_placeholder(scan_db, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[engines.v2]\nmin_turnover_krw = 1e18\n")
    result, doc = scan_json(
        scan_db, "--version", "v2", "--no-notify", env={"SCANCTL_CONFIG": str(config)}
    )
    assert result.returncode == 0 and doc["versions"]["v2"]["matched_count"] == 0
    rows = dump(scan_db, "scan_rank")
    assert len(rows) == 1
    row = dict(
        zip(
            ["date", "code", "scanner_version", "name", "score", "score_label"],
            rows[0][:6],
            strict=True,
        )
    )
    assert row == {
        "date": DEMO_LAST_SESSION,
        "code": "NORESULT",
        "scanner_version": "v2",
        "name": "추천종목 없음",
        "score": 0.0,
        "score_label": "추천종목 없음",
    }
    assert json.loads(rows[0][13]) == {"no_result": True} and rows[0][20] == "NORESULT"


def test_failing_version_is_isolated(scan_db):
    with registry.substituted(failing("v2")):
        result, doc = scan_json(scan_db, "--version", "v2,v3", "--no-notify")
    assert result.returncode == 4 and doc["status"] == "partial" and doc["exit_code"] == 4
    assert doc["versions"]["v2"]["status"] == "failed"
    assert "injected failure in v2" in doc["versions"]["v2"]["error"]
    assert doc["versions"]["v3"]["status"] == "ok"
    assert {row[2] for row in dump(scan_db, "scan_rank")} == {"v3"}
    runs = {row[2]: row for row in dump(scan_db, "scan_runs")}
    assert runs["v2"][7] == "failed" and "RuntimeError" in runs["v2"][10]
    with registry.substituted(failing("v2")):
        only, doc = scan_json(scan_db, "--version", "v2", "--no-notify")
    assert only.returncode == 6 and doc["status"] == "failed"
    assert registry.get("v2").module == "scanctl.engines.v2"  # the real one is back


@pytest.mark.parametrize(
    ("args", "env", "code", "text"),
    [
        (
            (),
            {"SCANCTL_NOW": "2025-11-29T16:00:00"},
            0,
            "2025-11-29 is not a KRX session (weekend)",
        ),
        (("--date", "2025-06-03"), {}, 0, "presidential election"),
        (("--date", "2025-12-01"), {}, 2, "is in the future"),
        (("--date", "2025-13-01"), {}, 2, "is not a date"),
        (("--version", "v9"), {}, 2, "unknown version 'v9'"),
        (
            ("--date", "2025-11-28"),
            {"SCANCTL_NOW": "2025-11-28T15:35:00", "SCANCTL_SCAN_MAX_WAIT_MINUTES": "0"},
            3,
            "closes at 15:30",
        ),
        (("--date", "2025-11-28"), {"SCANCTL_NOW": "2025-11-28T13:00:00"}, 3, "closes at 15:30"),
    ],
)
def test_gates_and_bad_input(scan_db, args, env, code, text):
    result = scan(scan_db, *args, "--no-notify", env=env)
    assert result.returncode == code, result.stderr
    assert text in result.stderr
    assert result.stderr.count("\n") <= 2 and "Traceback" not in result.stderr
    assert dump(scan_db, "scan_rank") == []
    statuses = {run[7] for run in dump(scan_db, "scan_runs")}
    assert statuses == {0: {"skipped"}, 2: set(), 3: {"failed"}}[code]


def test_csat_day_closes_at_1630(scan_db):
    env = {"SCANCTL_NOW": "2025-11-13T16:35:00", "SCANCTL_SCAN_MAX_WAIT_MINUTES": "0"}
    result = scan(scan_db, "--date", "2025-11-13", "--no-notify", env=env)
    assert result.returncode == 3 and "closes at 16:30" in result.stderr
    later = scan(
        scan_db, "--date", "2025-11-13", "--no-notify", env={"SCANCTL_NOW": "2025-11-13T16:41:00"}
    )
    assert later.returncode == 0, later.stderr


def test_the_1542_run_on_a_csat_day_waits_for_the_late_close(scan_db):
    """The cron line at 15:42 delivers the same day: it waits (bounded) for 16:30 + 10 min."""
    env = {"SCANCTL_NOW": "2025-11-13T15:42:00"}
    result, doc = scan_json(scan_db, "--version", "all", "--no-notify", env=env)
    assert result.returncode == 0, result.stderr
    assert "waiting until 16:40 KST" in result.stderr and "closes at 16:30" in result.stderr
    assert doc["date"] == "2025-11-13" and doc["status"] == "ok"
    assert {row[0] for row in dump(scan_db, "scan_rank")} == {"2025-11-13"}
    too_early = scan(scan_db, "--no-notify", env={"SCANCTL_NOW": "2025-11-13T14:00:00"})
    assert too_early.returncode == 3  # 160 minutes ahead is beyond max_wait_minutes (90)


def test_force_skips_the_close_guard(scan_db):
    env = {"SCANCTL_NOW": "2025-11-28T10:00:00"}
    assert scan(scan_db, "--no-notify", env=env).returncode == 3
    assert scan(scan_db, "--no-notify", "--force", env=env).returncode == 0


def test_missing_bars_are_data_not_ready(scan_db):
    import sqlite3

    conn = sqlite3.connect(scan_db)
    with conn:
        conn.execute("DELETE FROM bars WHERE date = ? AND code < ?", [DEMO_LAST_SESSION, "1"])
    conn.close()
    result, doc = scan_json(scan_db, "--no-notify")
    assert result.returncode == 3 and doc["status"] == "data_not_ready"
    assert "run `scanctl data sync --date 2025-11-28`" in doc["message"]
    assert dump(scan_db, "scan_rank") == []
    (run,) = dump(scan_db, "scan_runs")  # recorded, so `runs` and `status` show it
    assert (run[2], run[7]) == ("v1", "failed") and "bars for 2025-11-28" in run[10]


def test_no_save_writes_nothing(scan_db):
    result, doc = scan_json(scan_db, "--version", "all", "--no-save")
    assert result.returncode == 0 and doc["versions"]["v2"]["status"] == "ok"
    assert dump(scan_db, "scan_rank") == [] and dump(scan_db, "scan_runs") == []


def test_two_scans_at_once_one_gets_75(scan_db):
    """The lock is held by another process: the first scan runs as a child (its v2 is a second
    slower), the second runs in process once the child holds the lock."""
    args = ("--db", str(scan_db), "scan", "--version", "all", "--no-notify")
    cmd = [sys.executable, "-m", "tests.jobs.slow_scan", "1", *args]
    first = subprocess.Popen(
        cmd, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for_lock_holder(scan_db, first)  # the first holds the lock
    second = scan(scan_db, "--version", "all", "--no-notify")
    first.communicate(timeout=60)
    assert sorted([first.returncode, second.returncode]) == [0, 75]
    assert "another scanctl run holds" in second.stderr
    rows = dump(scan_db, "scan_rank")
    assert len(rows) == len({(r[0], r[1], r[2]) for r in rows})
    assert len(dump(scan_db, "scan_runs")) == 2


def test_kill_during_write_keeps_previous_rows(scan_db):
    """kill -9 of a child process inside its results transaction: its rows are written and the
    transaction is still open (the child waits in save_session's in-transaction callback)."""
    assert scan(scan_db, "--version", "all", "--no-notify").returncode == 0
    before = dump(scan_db, "scan_rank")
    env = {**os.environ, "SCANCTL_SCAN_KOSPI_LIMIT": "50"}  # different rows would replace them
    victim = subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.write_child", str(scan_db), DEMO_LAST_SESSION],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert victim.stdout.readline().strip() == "in write", victim.stderr.read()
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert dump(scan_db, "scan_rank") == before
    after = scan(scan_db, "--version", "all", "--no-notify", env={"SCANCTL_SCAN_KOSPI_LIMIT": "50"})
    assert after.returncode == 0, after.stderr  # the lock died with the process
    assert dump(scan_db, "scan_rank") != before
