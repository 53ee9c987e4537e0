"""Every writer takes the writer lock (issue 11, item 6): while another process holds it, scan,
backfill, data sync, data import and data demo exit 75 before they fetch or write anything."""

import datetime as dt
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from scanctl.cli.main import app
from scanctl.market.calendar import KrxCalendar
from scanctl.store.db import open_db
from scanctl.store.lock import lock_path_for
from tests.providers.naver_server import FakeNaver, build_market

runner = CliRunner()
HOLD = (
    "import sys, time; from pathlib import Path; from scanctl.store.lock import run_lock\n"
    "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)\n"
)
TABLES = ("bars", "tickers", "index_bars", "scan_rank", "scan_runs", "sync_events")


@pytest.fixture
def holder(store_path):
    """Another process holding the writer lock of the store."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock_path_for(store_path))], stdout=subprocess.PIPE
    )
    assert process.stdout.readline().strip() == b"held"
    yield process
    process.kill()
    process.wait(timeout=10)


@pytest.fixture
def naver():
    sessions = KrxCalendar().sessions_in_range(dt.date(2025, 11, 3), dt.date(2025, 11, 28))
    with FakeNaver() as fake:
        build_market(fake, sessions, n_kospi=3, n_kosdaq=2)
        yield fake


def row_counts(path):
    db = open_db(path, create=False)
    try:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES
        }
    finally:
        db.conn.close()


def writers(tmp_path, naver):
    bars = tmp_path / "bars.csv"
    bars.write_text("date,ticker,open,high,low,close,volume\n2025-11-28,005930,1,2,1,2,3\n")
    config = tmp_path / "c.toml"
    config.write_text(
        f'[data.naver]\nbase_url = "{naver.url}"\nlisting_url = "{naver.url}"\n'
        "rate_per_s = 1000\ntimeout_s = 2\n"
    )
    return {
        "scan": ["scan", "--version", "all"],
        "backfill": ["backfill", "--from", "2025-11-03", "--to", "2025-11-28"],
        "data sync": ["--config", str(config), "data", "sync", "--date", "2025-11-28"],
        "data import": ["data", "import", str(bars)],
        "data demo": ["data", "demo", "--tickers", "10", "--sessions", "30"],
    }


@pytest.mark.parametrize("writer", ["scan", "backfill", "data sync", "data import", "data demo"])
def test_each_writer_exits_75_while_another_process_holds_the_lock(
    store_path, tmp_path, naver, holder, writer
):
    before = row_counts(store_path)
    args = writers(tmp_path, naver)[writer]
    result = runner.invoke(app, ["--db", str(store_path), *args])
    assert result.exit_code == 75, result.output
    assert f"another scanctl run holds '{lock_path_for(store_path)}' (pid {holder.pid})" in (
        result.stderr
    )
    assert result.stderr.count("\n") == 1
    assert row_counts(store_path) == before
    assert naver.log == []  # no provider traffic either


def test_the_lock_is_released_for_the_next_writer(store_path, tmp_path, naver):
    args = writers(tmp_path, naver)["data import"]
    assert runner.invoke(app, ["--db", str(store_path), *args]).exit_code == 0
    assert runner.invoke(app, ["--db", str(store_path), *args]).exit_code == 0
