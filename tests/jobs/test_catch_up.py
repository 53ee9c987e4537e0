"""Catch-up and the lookback-hole gate (issue 11): the daily run heals the last completed
sessions first and says so in its one message; a scan never computes on a hole."""

import json
import sqlite3

from typer.testing import CliRunner

from scanctl.cli.main import app
from tests.demo_store import DEMO_LAST_SESSION, dump
from tests.jobs.test_scan_notify import config_for, hook_posts

runner = CliRunner()
HEALED = ["2025-11-21", "2025-11-24", "2025-11-25", "2025-11-26", "2025-11-27"]


def scan(db, *args, config=None, env=None):
    head = ["--db", str(db)] + (["--config", str(config)] if config else [])
    return runner.invoke(app, [*head, "scan", *args], env=env)


def drop_bars(db, day):
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM bars WHERE date = ?", [day])
    conn.close()


def test_catch_up_heals_the_last_sessions_and_sends_one_message(scan_db, tmp_path, server):
    config = config_for(tmp_path, server, healthcheck=False)
    result = scan(scan_db, "--version", "all", "--catch-up", "--json", config=config)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["date"] == DEMO_LAST_SESSION and doc["caught_up"] == HEALED
    runs = dump(scan_db, "scan_runs")
    by_trigger = {}
    for run in runs:
        by_trigger.setdefault(run[3], set()).add((run[1], run[2], run[7]))
    assert by_trigger["catchup"] == {(day, v, "ok") for day in HEALED for v in ("v2", "v3")}
    assert {(d, s) for d, _, s in by_trigger["cron"]} == {(DEMO_LAST_SESSION, "ok")}
    assert {row[0] for row in dump(scan_db, "scan_rank")} == {*HEALED, DEMO_LAST_SESSION}
    (message,) = hook_posts(server)  # one message, for the latest session
    assert (
        "밀린 세션 반영: 11월 21일, 11월 24일, 11월 25일, 11월 26일, 11월 27일" in message["text"]
    )
    assert message["data"]["caught_up"] == HEALED

    again = scan(scan_db, "--version", "all", "--catch-up", "--json", config=config)
    assert again.exit_code == 0 and json.loads(again.stdout)["caught_up"] == []
    assert len(hook_posts(server)) == 1  # sent rows are never sent again


def test_catch_up_scans_only_what_is_missing(scan_db):
    assert scan(scan_db, "--version", "v2", "--date", "2025-11-26", "--no-notify").exit_code == 0
    env = {"SCANCTL_SCAN_CATCH_UP_SESSIONS": "2"}
    result = scan(scan_db, "--version", "v2,v3", "--catch-up", "--no-notify", "--json", env=env)
    assert json.loads(result.stdout)["caught_up"] == ["2025-11-26", "2025-11-27"]
    runs = [(r[1], r[2], r[3]) for r in dump(scan_db, "scan_runs") if r[3] == "catchup"]
    assert sorted(runs) == [
        ("2025-11-26", "v3", "catchup"),  # v2 of the 26th was there already
        ("2025-11-27", "v2", "catchup"),
        ("2025-11-27", "v3", "catchup"),
    ]


def test_a_session_without_bars_is_left_for_later_and_recorded(scan_db):
    drop_bars(scan_db, "2025-11-27")
    env = {"SCANCTL_SCAN_CATCH_UP_SESSIONS": "1"}
    result = scan(scan_db, "--version", "v2", "--catch-up", "--no-notify", "--json", env=env)
    doc = json.loads(result.stdout)
    assert doc["caught_up"] == []
    (failed,) = [r for r in dump(scan_db, "scan_runs") if r[3] == "catchup"]
    assert (failed[1], failed[7]) == ("2025-11-27", "failed") and "bars for 2025-11-27" in failed[
        10
    ]
    # Today's scan would compute on that hole: refused with the data-gate code.
    assert result.exit_code == 3 and doc["status"] == "data_not_ready"
    assert (
        "no bars for 1 session(s) within the 220-session lookback of 2025-11-28" in doc["message"]
    )
    assert "(2025-11-27)" in doc["message"] and "--allow-gaps" in doc["message"]


def test_a_hole_in_the_lookback_refuses_unless_allowed(scan_db):
    drop_bars(scan_db, "2025-10-15")
    refused = scan(scan_db, "--version", "v2", "--no-notify")
    assert refused.exit_code == 3
    assert "no bars for 1 session(s) within the 220-session lookback" in refused.stderr
    assert dump(scan_db, "scan_rank") == []
    allowed = scan(scan_db, "--version", "v2", "--no-notify", "--allow-gaps")
    assert allowed.exit_code == 0, allowed.output
    assert {row[0] for row in dump(scan_db, "scan_rank")} == {DEMO_LAST_SESSION}


def test_a_run_under_ci_is_recorded_as_ci(scan_db):
    assert scan(scan_db, "--version", "v2", "--no-notify", env={"CI": "true"}).exit_code == 0
    assert scan(scan_db, "--version", "v3", "--no-notify", env={"CI": "false"}).exit_code == 0
    triggers = {run[2]: run[3] for run in dump(scan_db, "scan_runs")}
    assert triggers == {"v2": "ci", "v3": "cron"}  # CliRunner's stdin is not a TTY
