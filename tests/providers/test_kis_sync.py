"""`sync` from the kis provider on real SQLite files: the happy path with the master's flags and
KIS index bars, a 2:1 split repaired from the paged history, and a KIS that still serves
yesterday at 15:42 (gate fails, nothing written, exit 3) — in process and as cron runs it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from scanctl.config import Config
from scanctl.errors import DataNotReady
from scanctl.providers import kis as kis_module
from scanctl.providers.base import make_provider
from scanctl.providers.breaker import breaker_state
from scanctl.providers.gates import SyncGateFailed
from scanctl.providers.settings import DataConfig
from scanctl.providers.sync import sync
from scanctl.store.bars import upsert_bars
from scanctl.store.db import open_db, write_transaction
from scanctl.store.sources import read_sync_events as read_events
from tests.conftest import run_cli
from tests.providers.kis_server import (
    APP_KEY,
    APP_SECRET,
    FakeKis,
    build_market,
    master_line,
    master_zip,
)

DAY = dt.date(2025, 11, 28)
PREVIOUS = "2025-11-27"


@pytest.fixture(autouse=True)
def state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setattr(kis_module, "MAX_RATE", 10_000.0)


@pytest.fixture
def fake():
    with FakeKis() as fake:
        yield fake


def table(fake: FakeKis, **extra) -> dict:
    return {
        "base_url": fake.url,
        "master_url": f"{fake.url}/master",
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "timeout_s": 0.5,
        "backoff_s": 0.01,
        "max_backoff_s": 0.02,
        "rate_per_s": 1_000,
        **extra,
    }


def run(db, fake, calendar):
    data = DataConfig.from_config(Config(sections={"data": {"kis": table(fake)}}))
    provider = make_provider("kis", data, db)
    try:
        return sync(db, provider, [DAY], calendar)
    finally:
        provider.close()


def store_until(db, fake: FakeKis, last: str) -> None:
    """The charts up to ``last`` as an earlier sync would have stored them."""
    rows = [
        (
            f"{r['stck_bsop_date'][:4]}-{r['stck_bsop_date'][4:6]}-{r['stck_bsop_date'][6:]}",
            code,
            *(int(r[k]) for k in ("stck_oprc", "stck_hgpr", "stck_lwpr", "stck_clpr", "acml_vol")),
            int(r["acml_tr_pbmn"]),
        )
        for code, chart in fake.charts.items()
        for r in chart
        if r["stck_bsop_date"] <= last.replace("-", "")
    ]
    with write_transaction(db):
        upsert_bars(db, rows, "kis")


def snapshot(db) -> dict[str, list]:
    tables = ("bars", "tickers", "index_bars", "sync_events")
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


@pytest.fixture
def market(fake, sessions, db):
    codes = build_market(fake, sessions, n_kospi=15, n_kosdaq=5)
    store_until(db, fake, PREVIOUS)
    return codes


def test_happy_path_writes_flags_bars_and_kis_index_bars(db, fake, market, calendar):
    fake.masters["KOSDAQ"] = master_zip(
        "KOSDAQ",
        [master_line("KOSDAQ", code, f"코스닥{code}") for code in market[15:19]]
        + [master_line("KOSDAQ", market[19], "관리정지", mang_issu_yn="Y", trht_yn="Y")],
    )
    report = run(db, fake, calendar)
    (day,) = report.dates
    assert (day.bars, day.baseline, day.index_bars) == (20, 20, 2)
    flags = db.execute("SELECT managed, halted, market FROM tickers WHERE code = ?", [market[19]])
    assert flags.fetchone() == (1, 1, "KOSDAQ")
    assert db.execute("SELECT DISTINCT source FROM bars WHERE date = '2025-11-28'").fetchall() == [
        ("kis",)
    ]
    closes = dict(db.execute("SELECT index_code, close FROM index_bars WHERE date = '2025-11-28'"))
    assert set(closes) == {"KOSPI", "KOSDAQ"}


def test_a_split_is_repaired_from_the_paged_history(db, fake, market, calendar):
    code = market[3]
    fake.page_rows = 10  # the refetched history needs several pages
    prices = ("stck_oprc", "stck_hgpr", "stck_lwpr", "stck_clpr")
    fake.charts[code] = [
        {**r, **{k: str(int(r[k]) // 2) for k in prices}} for r in fake.charts[code]
    ]
    report = run(db, fake, calendar)
    (action,) = report.dates[0].corporate_actions
    assert action.code == code and action.ratio == pytest.approx(0.5, abs=0.001)
    stored = [
        r[0] for r in db.execute("SELECT close FROM bars WHERE code = ? ORDER BY date", [code])
    ]
    assert stored == [int(r["stck_clpr"]) for r in fake.charts[code]]
    (event,) = read_events(db, "corporate_action")
    assert event.source == "kis" and event.detail["first"] == "2025-10-01"


def test_yesterdays_data_at_1542_fails_and_writes_nothing(db, fake, market, calendar, monkeypatch):
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T15:42:00")
    for chart in fake.charts.values():
        chart.pop()  # KIS still serves 2025-11-27 as the latest bar
    before = snapshot(db)
    with pytest.raises(SyncGateFailed) as failed:
        run(db, fake, calendar)
    assert failed.value.exit_code == 3 and isinstance(failed.value, DataNotReady)
    assert "0 of 20 rows are dated 2025-11-28" in str(failed.value)
    assert "20 are dated 2025-11-27: the source has not published 2025-11-28 yet" in str(
        failed.value
    )
    assert snapshot(db) == before


def test_cron_run_at_1542_exits_3_without_leaking_secrets(tmp_path, fake, sessions):
    codes = build_market(fake, sessions, n_kospi=4, n_kosdaq=2)
    for chart in fake.charts.values():
        chart.pop()
    db = tmp_path / "s.db"
    config = tmp_path / "c.toml"
    settings = table(fake, rate_per_s=20, timeout_s=2)
    config.write_text(
        "[data.kis]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    )
    env = {"SCANCTL_NOW": "2025-11-28T15:42:00", "XDG_STATE_HOME": str(tmp_path / "state")}
    result = run_cli(
        "-v", "--db", str(db), "--config", str(config), "data", "sync", "--source", "kis", env=env
    )
    assert result.returncode == 3, result.stderr
    assert "has not published 2025-11-28 yet" in result.stderr
    for secret in [APP_KEY, APP_SECRET, *fake.valid_tokens]:
        assert secret not in result.stderr and secret not in result.stdout
    assert len(codes) == 6 and fake.tokens_issued == 1
    tokens = list((tmp_path / "state" / "scanctl" / "tokens").glob("kis-*.json"))
    assert len(tokens) == 1  # the next cron run reuses it


@pytest.mark.parametrize(
    ("command", "key", "code"),
    [
        (("data", "sync", "--source", "kis"), "app_key", "EGW00103"),
        (("scan", "--sync", "--no-notify"), "app_secret", "EGW00105"),
    ],
    ids=["data-sync", "scan-sync"],
)
def test_cron_run_with_a_refused_key_exits_2_naming_the_key(tmp_path, fake, sessions, command,
                                                            key, code):  # fmt: skip
    build_market(fake, sessions, n_kospi=4, n_kosdaq=2)
    wrong = "a-wrong-value-for-the-" + key.replace("_", "-")
    settings = table(fake, rate_per_s=20, timeout_s=2, **{key: wrong})
    config = tmp_path / "c.toml"
    config.write_text(
        '[data]\nprovider = "kis"\n[data.kis]\n'
        + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    )
    db = tmp_path / "s.db"
    open_db(db).conn.close()  # an existing store: `scan` never creates one
    env = {"SCANCTL_NOW": "2025-11-28T18:00:00", "XDG_STATE_HOME": str(tmp_path / "state")}
    result = run_cli("--db", str(db), "--config", str(config), *command, env=env)
    assert result.returncode == 2, result.stderr
    variable = f"SCANCTL_DATA_KIS_{key.upper()}"
    line = f"scanctl: error: kis: credentials refused ({code} 유효하지 않은 App"
    (error_line,) = [text for text in result.stderr.splitlines() if text.startswith("scanctl:")]
    assert error_line.startswith(line) and f"check [data.kis] {key} / {variable}" in error_line
    for secret in [wrong, APP_KEY, APP_SECRET]:
        assert secret not in result.stderr and secret not in result.stdout
    assert fake.tokens_issued == 1  # not retried
    assert db.exists()
    store = open_db(db)  # the breaker stayed closed: nothing recorded in source_state
    assert breaker_state(store, "kis") is None
    store.conn.close()
