"""The on-disk token cache (`providers.tokens`) through the kis provider and the fake KIS: one
token across two "processes", expiry honoured, mode 0600, no key in the file name, corrupt or
foreign files ignored, the token scrubbed from logs."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat

import pytest

from scanctl.clock import KST
from scanctl.config import MASK, Config
from scanctl.providers import kis as kis_module
from scanctl.providers.base import make_provider
from scanctl.providers.settings import DataConfig
from scanctl.providers.tokens import RENEW_MARGIN, Token, TokenCache, TokenKeeper, tokens_dir
from tests.providers.kis_server import (
    APP_KEY,
    APP_SECRET,
    CHART,
    TOKEN,
    FakeKis,
    chart_rows,
)

DAY = dt.date(2025, 11, 28)


@pytest.fixture(autouse=True)
def state_home(monkeypatch, tmp_path):
    home = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    monkeypatch.setattr(kis_module, "MAX_RATE", 10_000.0)
    return home


@pytest.fixture
def fake(sessions):
    with FakeKis() as fake:
        fake.charts["005930"] = chart_rows(sessions, 50_000)
        yield fake


def config(fake: FakeKis, **extra) -> DataConfig:
    table = {
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
    return DataConfig.from_config(Config(sections={"data": {"kis": table}}))


def run_once(fake: FakeKis, db) -> None:
    """One "process": build the provider, fetch a bar, close."""
    provider = make_provider("kis", config(fake), db)
    try:
        assert provider.fetch_bars(DAY, ["005930"]).rows[0][0] == "2025-11-28"
    finally:
        provider.close()


def token_files(home) -> list:
    return sorted((home / "scanctl" / "tokens").glob("*.json"))


def test_one_token_across_two_runs(fake, db, state_home):
    run_once(fake, db)
    run_once(fake, db)
    assert fake.tokens_issued == 1
    (path,) = token_files(state_home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert APP_KEY not in path.name and APP_SECRET not in path.name and path.name.startswith("kis-")
    text = path.read_text()
    assert APP_KEY not in text and APP_SECRET not in text
    document = json.loads(text)
    assert document["token"] in fake.valid_tokens
    assert document["expires_at"] == "2025-11-29T18:00:00+09:00"
    # both runs sent the same token
    sent = {s.headers["authorization"] for s in fake.seen(CHART)}
    assert sent == {f"Bearer {document['token']}"}


def test_expiry_is_honoured(fake, db, monkeypatch):
    run_once(fake, db)
    # 29 minutes before expiry: within the renewal margin, so a new token is fetched
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-29T17:31:00")
    fake.charts["005930"] = chart_rows([DAY], 50_000)
    run_once(fake, db)
    assert fake.tokens_issued == 2
    assert dt.timedelta(minutes=30) == RENEW_MARGIN


def test_a_token_still_valid_for_an_hour_is_reused(fake, db, monkeypatch):
    run_once(fake, db)
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-29T16:59:00")
    run_once(fake, db)
    assert fake.tokens_issued == 1


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe garbage",
        b'{"token": "x"}',
        b'{"digest": "0", "token": "x", "expires_at": "2030-01-01T00:00:00+09:00"}',
        b"[]",
    ],
    ids=["truncated", "garbled", "no-digest", "foreign", "wrong-shape"],
)
def test_a_corrupt_or_foreign_file_is_ignored(fake, db, state_home, content, stderr_logs):
    run_once(fake, db)
    (path,) = token_files(state_home)
    path.write_bytes(content)
    run_once(fake, db)
    assert fake.tokens_issued == 2
    assert json.loads(path.read_text())["token"] in fake.valid_tokens  # replaced
    assert "cached token ignored; a new one is fetched" in stderr_logs()


def test_an_unwritable_folder_is_logged_and_the_run_goes_on(fake, db, state_home, stderr_logs):
    state_home.mkdir(parents=True)
    (state_home / "scanctl").write_text("a file where the folder should be")
    run_once(fake, db)
    assert "token not cached; the next run fetches a new one" in stderr_logs()
    run_once(fake, db)
    assert fake.tokens_issued == 2


def test_keys_and_hosts_get_their_own_files(tmp_path):
    a = TokenCache("kis", "key-a", "https://openapi.koreainvestment.com:9443", tmp_path)
    b = TokenCache("kis", "key-b", "https://openapi.koreainvestment.com:9443", tmp_path)
    paper = TokenCache("kis", "key-a", "https://openapivts.koreainvestment.com:29443", tmp_path)
    assert len({a.path, b.path, paper.path}) == 3
    expiry = dt.datetime(2025, 11, 29, 18, tzinfo=KST)
    a.save(Token("token-a", expiry))
    assert a.load() == Token("token-a", expiry)
    assert b.load() is None and paper.load() is None
    os.replace(a.path, b.path)  # a file of key a under key b's name is not used
    assert b.load() is None


def test_default_folder_follows_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "s"))
    assert tokens_dir() == tmp_path / "s" / "scanctl" / "tokens"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert tokens_dir() == tmp_path / "home" / ".local" / "state" / "scanctl" / "tokens"


def test_keeper_scrubs_tokens_and_renews_once_per_stale_token(make_client, tmp_path):
    client = make_client("http://127.0.0.1:9")
    issued = []

    def issue() -> Token:
        issued.append(f"secret-token-{len(issued) + 1}")
        return Token(issued[-1], dt.datetime(2025, 11, 29, 18, tzinfo=KST))

    keeper = TokenKeeper(client, TokenCache("kis", "k", "http://x", tmp_path), issue)
    first = keeper.current()
    assert client.redact(f"Bearer {first}") == f"Bearer {MASK}"
    renewed = keeper.renew(first)
    assert keeper.renew(first) == renewed  # a second worker with the same stale token
    assert issued == ["secret-token-1", "secret-token-2"]
    assert client.redact(renewed) == MASK


def test_token_request_happens_only_when_data_is_needed(fake, db, sessions):
    from tests.providers.kis_server import master_line, master_zip

    fake.masters = {
        "KOSPI": master_zip("KOSPI", [master_line("KOSPI", "005930", "삼성전자")]),
        "KOSDAQ": master_zip("KOSDAQ", [master_line("KOSDAQ", "0126Z0", "삼성에피스")]),
    }
    provider = make_provider("kis", config(fake), db)
    provider.fetch_tickers()
    provider.close()
    assert fake.seen(TOKEN) == []  # the master files need no token
