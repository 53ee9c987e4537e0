"""`data sync` and `scan --sync` as cron runs them (no TTY, the CLI in process), a real SQLite file
and a local stand-in for Naver on 127.0.0.1."""

import datetime as dt
import json

import pytest

from scanctl.market.calendar import KrxCalendar
from scanctl.store.db import open_db
from tests.conftest import run_cli
from tests.providers.naver_server import BLOCK_PAGE, FakeNaver, Reply, build_market


@pytest.fixture
def naver():
    sessions = KrxCalendar().sessions_in_range(dt.date(2025, 8, 1), dt.date(2025, 11, 28))
    with FakeNaver() as fake:
        build_market(fake, sessions, n_kospi=30, n_kosdaq=20)
        yield fake


def config_for(tmp_path, fake):
    path = tmp_path / "c.toml"
    path.write_text(
        "[data.naver]\n"
        f'base_url = "{fake.url}"\nlisting_url = "{fake.url}"\n'
        "rate_per_s = 1000\ntimeout_s = 2\nbackoff_s = 0.01\nmax_backoff_s = 0.02\n"
    )
    return path


def test_sync_range_then_scan_with_sync(tmp_path, naver):
    db = tmp_path / "s.db"
    config = config_for(tmp_path, naver)
    result = run_cli(
        "--db",
        str(db),
        "--config",
        str(config),
        "data",
        "sync",
        "--from",
        "2025-08-01",
        "--date",
        "2025-11-27",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["source"] == "naver" and report["tickers"] == 50
    assert len(report["dates"]) > 60 and report["dates"][-1]["date"] == "2025-11-27"
    status = json.loads(run_cli("--db", str(db), "data", "status", "--json").stdout)
    assert status["last_date"] == "2025-11-27" and status["bars_on_last_date"] == 50
    scan = run_cli(
        "--db", str(db), "--config", str(config), "scan", "--sync", "--version", "all", "--json"
    )
    assert scan.returncode == 0, scan.stderr
    doc = json.loads(scan.stdout)
    assert doc["date"] == "2025-11-28" and doc["status"] == "ok"
    status = json.loads(run_cli("--db", str(db), "data", "status", "--json").stdout)
    assert status["last_date"] == "2025-11-28"


def test_blocked_source_exits_3_and_nothing_is_scanned(tmp_path, naver):
    db = tmp_path / "s.db"
    open_db(db).conn.close()  # `scan` never creates a store
    config = config_for(tmp_path, naver)
    naver.script("/sise.nhn", "100050", Reply(body=BLOCK_PAGE, content_type="text/html"))
    result = run_cli("--db", str(db), "--config", str(config), "scan", "--sync", "--json")
    assert result.returncode == 3, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "data_not_ready" and "--reset-breaker" in doc["message"]
    again = run_cli("--db", str(db), "--config", str(config), "data", "sync")
    assert again.returncode == 3 and "blocked" in again.stderr.lower()
    reset = run_cli(
        "--db",
        str(db),
        "--config",
        str(config),
        "data",
        "sync",
        "--reset-breaker",
        "--from",
        "2025-08-01",
        "--date",
        "2025-11-28",
    )
    assert reset.returncode == 0, reset.stderr
    assert "circuit breaker of naver: reset" in reset.stderr
