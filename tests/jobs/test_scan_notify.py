"""The daily job's one notification and healthcheck pings, against real HTTP servers on
127.0.0.1 and `scanctl scan` run in process (and in a child process for the run lock)."""

import json
import os
import subprocess
import sys
import time

from werkzeug import Response

from scanctl.engines import registry
from tests.conftest import run_cli
from tests.demo_store import DEMO_LAST_SESSION, dump, wait_for_lock_holder
from tests.engines.failing_engine import failing

SECRET = "SECRET-hook-token-123"


def config_for(tmp_path, server, *, hook_status=200, alerts=True, healthcheck=True):
    """A config with one generic webhook channel (daily + alerts) and a healthcheck URL."""
    server.expect_request(f"/hook/{SECRET}").respond_with_handler(
        lambda request: Response("{}", status=hook_status, content_type="application/json")
    )
    server.expect_request("/ping/start").respond_with_data("OK")
    server.expect_request("/ping").respond_with_data("OK")
    server.expect_request(f"/ping/{4}").respond_with_data("OK")
    path = tmp_path / "config.toml"
    lines = [
        "[notify]",
        "backoff_s = 0.01",
        "[notify.channels.hook]",
        'type = "webhook"',
        f'webhook_url = "{server.url_for(f"/hook/{SECRET}")}"',
        "daily = true",
        f"alerts = {'true' if alerts else 'false'}",
    ]
    if healthcheck:
        lines += ["[healthcheck]", f'ping_url = "{server.url_for("/ping")}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def hook_posts(server):
    return [json.loads(req.data) for req, _ in server.log if req.path.startswith("/hook/")]


def scan(db, config, *args, env=None):
    return run_cli(
        "--db",
        str(db),
        "--config",
        str(config),
        "scan",
        "--version",
        "all",
        "--json",
        *args,
        env=env,
    )


def test_one_daily_message_and_pings(scan_db, tmp_path, server):
    config = config_for(tmp_path, server)
    result = scan(scan_db, config)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["notification"] == {"status": "sent", "channels": {"hook": "sent"}}
    posts = hook_posts(server)
    assert len(posts) == 1 and posts[0]["kind"] == "daily"
    assert "2025년 11월 28일" in json.dumps(posts[0], ensure_ascii=False)
    assert [req.path for req, _ in server.log if req.path.startswith("/ping")] == [
        "/ping/start",
        "/ping",
    ]
    rows = dump(scan_db, "notifications")
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (DEMO_LAST_SESSION, "daily", "hook", "sent")
    ]
    # a rerun of the same date stores identical rows and sends nothing more
    again = scan(scan_db, config)
    assert again.returncode == 0 and len(hook_posts(server)) == 1
    assert json.loads(again.stdout)["notification"]["channels"] == {"hook": "sent"}
    # --renotify sends the daily message again
    assert scan(scan_db, config, "--renotify").returncode == 0
    assert len(hook_posts(server)) == 2


def test_failed_version_sends_alert_and_exits_4(scan_db, tmp_path, server):
    config = config_for(tmp_path, server)
    with registry.substituted(failing("v2")):
        result = scan(scan_db, config)
    assert result.returncode == 4, result.stderr
    kinds = sorted(post["kind"] for post in hook_posts(server))
    assert kinds == ["daily", "failure"]
    failure = next(p for p in hook_posts(server) if p["kind"] == "failure")
    assert "injected failure in v2" in json.dumps(failure)
    assert {row[2] for row in dump(scan_db, "scan_rank")} == {"v3"}
    assert "/ping/4" in [req.path for req, _ in server.log]


def test_401_is_not_retried_results_stored_exit_5(scan_db, tmp_path, server):
    config = config_for(tmp_path, server, hook_status=401, alerts=False)
    result = scan(scan_db, config)
    assert result.returncode == 5, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "notify_failed" and doc["notification"]["status"] == "failed"
    assert len(hook_posts(server)) == 1  # no retry on 401
    assert {row[2] for row in dump(scan_db, "scan_rank")} == {"v2", "v3"}
    row = dump(scan_db, "notifications")[0]
    assert row[3] == "failed" and row[4] == 1
    everything = result.stdout + result.stderr + json.dumps(dump(scan_db, "notifications"))
    assert SECRET not in everything


def test_dead_healthcheck_never_fails_the_run(scan_db, tmp_path, server):
    config = config_for(tmp_path, server, healthcheck=False)
    with config.open("a") as handle:
        handle.write(
            '[healthcheck]\nping_url = "http://127.0.0.1:9/nothing-listens"\nbackoff_s = 0.01\n'
        )
    result = scan(scan_db, config)
    assert result.returncode == 0, result.stderr
    assert len(hook_posts(server)) == 1
    assert result.stderr.count("trying again") == 4  # /start and the end, 3 tries each


def test_slow_receiver_gets_one_message_and_the_run_exits_5(scan_db, tmp_path, server):
    """The receiver answers 200 after 1.5 s, the client waits 0.5 s: the delivery is unknown,
    the results are stored, nothing is resent, and the exit code is 5."""

    def slow(request):
        time.sleep(1.5)
        return Response("{}", content_type="application/json")

    server.expect_request(f"/hook/{SECRET}/slow").respond_with_handler(slow)
    config = tmp_path / "config.toml"
    config.write_text(
        "[notify]\ntimeout_s = 0.5\nbackoff_s = 0.01\n[notify.channels.hook]\n"
        f'type = "webhook"\nwebhook_url = "{server.url_for(f"/hook/{SECRET}/slow")}"\n'
    )
    result = scan(scan_db, config)
    assert result.returncode == 5, result.stderr
    doc = json.loads(result.stdout)
    assert doc["notification"] == {"status": "unknown", "channels": {"hook": "unknown"}}
    assert {row[2] for row in dump(scan_db, "scan_rank")} == {"v2", "v3"}
    rerun = scan(scan_db, config)  # the rerun of the date does not send it again
    assert rerun.returncode == 5 and json.loads(rerun.stdout)["notification"]["status"] == (
        "unknown"
    )
    time.sleep(1.5)
    assert len(hook_posts(server)) == 1


def test_two_scans_at_once_send_one_message(scan_db, tmp_path, server):
    """The first scan runs as a child process and holds the lock (its v2 is a second slower);
    the second runs in process meanwhile."""
    config = config_for(tmp_path, server)
    args = ("--db", str(scan_db), "--config", str(config), "scan", "--version", "all")
    first = subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.slow_scan", "1", *args],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for_lock_holder(scan_db, first)
    second = run_cli(*args)
    first.communicate(timeout=60)
    assert sorted([first.returncode, second.returncode]) == [0, 75]
    assert len(hook_posts(server)) == 1
    rows = dump(scan_db, "scan_rank")
    assert len(rows) == len({(r[0], r[1], r[2]) for r in rows})
