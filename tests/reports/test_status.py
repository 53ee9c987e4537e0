"""`scanctl status` tells the truth (issue 11): unhealthy whenever the last run did not deliver
or the next one cannot, with every check and why in --json."""

import json
import os
import subprocess
import sys
import time

from typer.testing import CliRunner

from scanctl.cli.main import app
from scanctl.providers.breaker import Breaker, reset_breaker
from scanctl.store.db import open_db
from scanctl.store.outbox import count_by_status

runner = CliRunner()


def cli(db, *args, env=None):
    return runner.invoke(app, ["--db", str(db), *args], env=env)


def checks(db, *args, env=None):
    result = cli(db, *args, "status", "--json", env=env)
    doc = json.loads(result.stdout)
    return result.exit_code, {check["name"]: check for check in doc["checks"]}


def scan_all(db, env=None):
    result = cli(db, "scan", "--version", "all", "--no-notify", env=env)
    assert result.exit_code == 0, result.output


def test_a_good_day_is_healthy_with_every_check_listed(scan_db):
    scan_all(scan_db)
    code, found = checks(scan_db)
    assert code == 0
    assert set(found) == {"config", "results", "data", "provider", "notifications", "lock"}
    assert all(check["ok"] for check in found.values())
    assert found["results"]["why"] == "results: v2, v3 stored for 2025-11-28"


def test_the_latest_completed_session_without_results_is_unhealthy(scan_db):
    """A good run yesterday does not make today healthy once today's close has passed."""
    scan_all(scan_db, env={"SCANCTL_NOW": "2025-11-27T18:00:00"})
    scan_db_next = {"SCANCTL_NOW": "2025-11-28T15:39:00"}  # before 15:30 + 10 min
    code, found = checks(scan_db, env=scan_db_next)
    assert found["results"]["ok"], found["results"]  # the 27th is still the latest completed
    code, found = checks(scan_db)  # 18:00 on the 28th: the 28th has closed
    assert code == 1 and not found["results"]["ok"]
    assert "2025-11-28, the latest completed session" in found["results"]["why"]


def test_a_configuration_the_next_run_refuses_is_unhealthy(scan_db, tmp_path):
    scan_all(scan_db)
    config = tmp_path / "c.toml"
    config.write_text("[scan]\nkospi_limits = 5\n")
    code, found = checks(scan_db, "--config", str(config))
    assert code == 1 and not found["config"]["ok"]
    assert "the next run will exit 2: [scan] unknown key 'kospi_limits'" in found["config"]["why"]


def test_an_open_breaker_is_unhealthy(scan_db):
    scan_all(scan_db)
    db = open_db(scan_db)
    Breaker.load(db, "naver", hours=24).open("HTTP 403 block page")
    db.conn.close()
    code, found = checks(scan_db)
    assert code == 1 and not found["provider"]["ok"]
    assert "source 'naver' is blocked until" in found["provider"]["why"]
    db = open_db(scan_db)
    assert reset_breaker(db, "naver")
    db.conn.close()
    code, found = checks(scan_db)
    assert code == 0 and found["provider"]["ok"]


def test_undelivered_messages_are_unhealthy(scan_db, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[notify.channels.hook]\ntype = "webhook"\nwebhook_url = "http://127.0.0.1:9/x"\n'
        "[notify]\nmax_attempts = 1\nbackoff_s = 0\n"
    )
    result = cli(scan_db, "--config", str(config), "scan", "--version", "all")
    assert result.exit_code == 5, result.output  # nothing listens on port 9
    db = open_db(scan_db)
    counts = count_by_status(db)
    db.conn.close()
    assert counts.get("failed") == 1
    code, found = checks(scan_db, "--config", str(config))
    assert code == 1 and not found["notifications"]["ok"]
    assert "1 failed" in found["notifications"]["why"]


def test_a_lock_held_far_longer_than_a_run_is_unhealthy(scan_db):
    scan_all(scan_db)
    lock = scan_db.with_name(scan_db.name + ".lock")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from scanctl.store.lock import run_lock\n"
            "with run_lock(__import__('pathlib').Path(sys.argv[1])):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(lock),
        ],
        env={**os.environ, "SCANCTL_NOW": "2025-11-28T15:42:00"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        code, found = checks(scan_db, env={"SCANCTL_NOW": "2025-11-28T16:00:00"})
        assert found["lock"]["ok"] and "has held it for 18 min" in found["lock"]["why"]
        code, found = checks(scan_db, env={"SCANCTL_NOW": "2025-11-28T19:00:00"})
        assert code == 1 and not found["lock"]["ok"]
        assert f"held by pid {holder.pid} for 198 min" in found["lock"]["why"]
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.05)
    code, found = checks(scan_db)
    assert found["lock"]["ok"] and found["lock"]["why"] == "lock: free"
