"""The line in crontab.example runs the whole daily flow: sync, gates, engines, storage, the one
notification, then the daily page. Run as cron would (`sh -c`, no TTY, output appended to a log
file) on the demo market, with a local stand-in for Naver on 127.0.0.1 serving the demo
market's bars."""

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scanctl.market import xkrx
from tests.demo_store import DEMO_LAST_SESSION, dump
from tests.providers.naver_server import FakeNaver, Listed

CRONTAB = Path(__file__).resolve().parents[2] / "crontab.example"


def cron_command() -> str:
    """The command of the active (uncommented) scan line of crontab.example."""
    for line in CRONTAB.read_text().splitlines():
        if re.match(r"^\d", line) and "scan" in line:
            return line.split(None, 5)[5]
    raise AssertionError("no scan line in crontab.example")


@pytest.fixture
def naver_serving(scan_db):
    """A fake Naver whose stocks and indexes are the demo market's last sessions."""
    conn = sqlite3.connect(scan_db)
    names = dict(conn.execute("SELECT code, name FROM tickers"))
    markets = dict(conn.execute("SELECT code, market FROM tickers"))
    recent = (
        "SELECT date, code, open, high, low, close, volume FROM bars WHERE date >= '2025-11-20'"
    )
    fake = FakeNaver()
    bars: dict[str, list] = {}
    for day, code, *values in conn.execute(recent + " ORDER BY date"):
        bars.setdefault(code, []).append((day.replace("-", ""), *map(str, values)))
    for code, rows in bars.items():
        market = markets[code] if markets[code] in ("KOSPI", "KOSDAQ") else "KOSPI"
        fake.add(Listed(code, names[code], market, bars=rows))
    for index in ("KOSPI", "KOSDAQ"):
        fake.indexes[index] = [
            (day.replace("-", ""), *(f"{v:.2f}" for v in values[:4]), str(values[4] or 0))
            for day, *values in conn.execute(
                "SELECT date, open, high, low, close, volume FROM index_bars "
                "WHERE index_code = ? AND date >= '2025-11-20' ORDER BY date",
                [index],
            )
        ]
    conn.close()
    with fake:
        yield fake


def test_crontab_line_runs_the_daily_flow(scan_db, tmp_path, naver_serving):
    log = tmp_path / "scan.log"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[data.naver]\nbase_url = "{naver_serving.url}"\nlisting_url = "{naver_serving.url}"\n'
        "rate_per_s = 1000\n"
    )
    page = tmp_path / "www" / "index.html"
    page.parent.mkdir()
    line = cron_command().replace("/var/log/scanctl/scan.log", str(log))
    line = line.replace("/var/log/scanctl/report.log", str(tmp_path / "report.log"))
    line = line.replace("/var/www/scanctl/index.html", str(page))
    # a host where scanctl has run before: the XKRX schedule is in the cache under $HOME, as an
    # earlier run left it (building it takes seconds; tests/market/test_xkrx.py tests the cache)
    cached = tmp_path / ".cache" / "scanctl" / xkrx._cache_path().name
    xkrx._write_cache(cached, xkrx.xkrx_schedule())
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SCANCTL": f"{sys.executable} -m scanctl",
        "SCANCTL_DB": str(scan_db),
        "SCANCTL_CONFIG": str(config),
        "SCANCTL_NOW": f"{DEMO_LAST_SESSION}T15:42:00",  # 12 minutes after the close
    }
    result = subprocess.run(["sh", "-c", line], env=env, stdin=subprocess.DEVNULL, timeout=300)
    text = log.read_text()
    assert result.returncode == 0, text
    assert f"ok: {DEMO_LAST_SESSION}" in text
    assert "date synced" in text  # the sync ran first
    versions = {row[2] for row in dump(scan_db, "scan_rank")}
    assert versions == {"v2", "v3"}
    runs = dump(scan_db, "scan_runs")
    assert {row[2] for row in runs if row[3] == "cron"} == {"v2", "v3"}
    healed = sorted({row[1] for row in runs if row[3] == "catchup"})  # no results before: healed
    assert len(healed) == 5 and healed[-1] < DEMO_LAST_SESSION
    assert f"caught up {', '.join(healed)}" in text
    outbox = dump(scan_db, "notifications")
    assert [(r[1], r[2], r[3]) for r in outbox] == [("daily", "log", "skipped")]
    assert json.loads(outbox[0][7])["kind"] == "daily"
    # then the daily page of that session is published
    assert "[scanctl] 2025년 11월 28일 스캔 결과" in page.read_text(encoding="utf-8")
