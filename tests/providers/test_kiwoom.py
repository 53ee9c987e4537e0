"""The kiwoom provider against the local fake Kiwoom: the adjusted daily chart (ka10081) with
``cont-yn`` / ``next-key`` paging, the stock list (ka10099), ``return_code`` handling (1700
throttled, 8005 / 8010 renewed, the credential codes exit 2, 1634 not retried, none of them a
breaker, in a 200 or a non-2xx reply), transport failures, bad payloads, and
a Kiwoom still serving yesterday at 15:42; secrets never reach logs or messages."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from scanctl.config import MASK, Config
from scanctl.errors import ConfigError, DataNotReady
from scanctl.providers.base import SourceBlocked, make_provider
from scanctl.providers.breaker import breaker_state
from scanctl.providers.gates import SyncGateFailed
from scanctl.providers.settings import DataConfig
from scanctl.providers.sync import sync
from scanctl.providers.tokens import CredentialsRejected
from scanctl.store.bars import upsert_bars
from scanctl.store.db import write_transaction
from tests.providers.kiwoom_server import (
    APP_KEY,
    CHART,
    LIST,
    SECRET_KEY,
    TOKEN,
    FakeKiwoom,
    build_market,
    chart_rows,
    error,
    listed,
)
from tests.providers.scripted_server import BLOCK_PAGE, Reply, json_reply

DAY = dt.date(2025, 11, 28)


@pytest.fixture(autouse=True)
def state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


@pytest.fixture
def fake():
    with FakeKiwoom() as fake:
        yield fake


def kiwoom_config(fake: FakeKiwoom, **extra) -> DataConfig:
    table = {
        "base_url": fake.url,
        "app_key": APP_KEY,
        "secret_key": SECRET_KEY,
        "timeout_s": 0.5,
        "backoff_s": 0.01,
        "max_backoff_s": 0.02,
        "rate_per_s": 1_000,
        **extra,
    }
    return DataConfig.from_config(Config(sections={"data": {"kiwoom": table}}))


@pytest.fixture
def kiwoom(fake, db):
    provider = make_provider("kiwoom", kiwoom_config(fake), db)
    yield provider
    provider.close()


def test_bars_of_a_day_signed_adjusted_and_stamped(fake, kiwoom, sessions):
    codes = build_market(fake, sessions, 6)
    halted = fake.charts[codes[2]][-1]
    halted.update(open_pric="0", high_pric="0", low_pric="0", trde_qty="0", trde_prica="0")
    batch = kiwoom.fetch_bars(DAY, codes)
    rows = {row[1]: row for row in batch.rows}
    assert set(rows) == set(codes) and not batch.missing
    close = int(halted["cur_prc"].lstrip("+-"))
    assert rows[codes[2]] == ("2025-11-28", codes[2], close, close, close, close, 0, 0)
    last = len(sessions) - 1
    expected_close = 1_000 + 37 * 5 + last % 7 * 10
    row = rows["0005Z0"]
    assert row[:6] == ("2025-11-28", "0005Z0", expected_close - 5, expected_close + 10,
                       expected_close - 10, expected_close)  # fmt: skip
    assert row[7] == expected_close * row[6] // 1_000_000 * 1_000_000  # millions of KRW
    assert batch.previous["0005Z0"].date == "2025-11-27"
    (request,) = fake.seen(CHART, "0005Z0")
    assert request.headers["api-id"] == "ka10081" and request.headers["cont-yn"] == "N"
    assert request.body == {"stk_cd": "0005Z0", "base_dt": "20251128", "upd_stkpc_tp": "1"}
    assert fake.tokens_issued == 1 and fake.max_in_flight <= 5


def test_history_follows_three_continuation_pages(fake, kiwoom, sessions):
    fake.charts["005930"] = chart_rows(sessions, 50_000)
    fake.page_rows = 15
    history = kiwoom.fetch_history("005930", sessions[0], DAY)
    assert [row[0] for row in history] == [day.isoformat() for day in sessions]
    requests = fake.seen(CHART, "005930")
    assert len(sessions) > 30 and len(requests) == 3
    assert [(r.headers["cont-yn"], r.headers["next-key"]) for r in requests] == [
        ("N", ""),
        ("Y", "K15"),
        ("Y", "K30"),
    ]
    assert all(r.body["base_dt"] == "20251128" for r in requests)


def test_paging_stops_once_the_dates_are_covered(fake, kiwoom, sessions):
    fake.charts["005930"] = chart_rows(sessions, 50_000)
    fake.page_rows = 10
    batch = kiwoom.fetch_bars(DAY, ["005930"])
    assert batch.rows[0][0] == "2025-11-28" and len(fake.seen(CHART)) == 2  # 20 days back


THROTTLED = json_reply(error(1700, "허용된 요청 개수를 초과하였습니다", return_code=5))


@pytest.mark.parametrize(
    "first",
    [
        THROTTLED,
        json_reply({"return_code": 1700, "return_msg": "허용된 요청 개수를 초과하였습니다"}),
        Reply(delay_s=0.8),
        Reply(429, b"too many", headers={"Retry-After": "0"}),
        Reply(500, b"oops"),
        Reply(503, b"unavailable"),
    ],
    ids=["1700-in-message", "1700-return-code", "timeout", "429", "500", "503"],
)
def test_transient_failures_are_retried(fake, kiwoom, sessions, first):
    codes = build_market(fake, sessions, 3)
    fake.script(CHART, codes[1], first)
    batch = kiwoom.fetch_bars(DAY, codes)
    assert len(batch.rows) == 3 and not batch.missing
    assert len(fake.seen(CHART, codes[1])) == 2


def test_throttled_every_attempt_and_1634_are_missing_tickers(fake, kiwoom, sessions):
    codes = build_market(fake, sessions, 3)
    fake.script(CHART, codes[0], THROTTLED, THROTTLED, THROTTLED)
    fake.script(CHART, codes[1], json_reply(error(1634, "허용된 요청 개수를 초과하였습니다")))
    batch = kiwoom.fetch_bars(DAY, codes)
    assert "failed after 3 attempt(s)" in batch.missing[codes[0]]
    assert "return code 1700" in batch.missing[codes[0]]
    assert "return code 1634" in batch.missing[codes[1]]
    assert len(fake.seen(CHART, codes[1])) == 1 and len(batch.rows) == 1


def test_an_invalid_token_is_renewed_once(fake, db, sessions):
    codes = build_market(fake, sessions, 6)
    with make_provider("kiwoom", kiwoom_config(fake), db) as first_run:
        first_run.fetch_bars(DAY, codes[:1])
    fake.valid_tokens.clear()
    with make_provider("kiwoom", kiwoom_config(fake), db) as second_run:
        batch = second_run.fetch_bars(DAY, codes)
    assert len(batch.rows) == 6 and fake.tokens_issued == 2


@pytest.mark.parametrize(
    ("code", "text", "keys"),
    [
        (8001, "App Key와 Secret Key 검증에 실패했습니다",
         "[data.kiwoom] app_key / SCANCTL_DATA_KIWOOM_APP_KEY and "
         "[data.kiwoom] secret_key / SCANCTL_DATA_KIWOOM_SECRET_KEY"),
        (8030, "투자구분(실전/모의)이 달라서 Appkey를 사용할수가 없습니다",
         "[data.kiwoom] app_key / SCANCTL_DATA_KIWOOM_APP_KEY and "
         "[data.kiwoom] base_url / SCANCTL_DATA_KIWOOM_BASE_URL (a paper-trading key needs "
         "mockapi.kiwoom.com)"),
        (8050, "지정단말기 인증에 실패했습니다",
         "[data.kiwoom] app_key / SCANCTL_DATA_KIWOOM_APP_KEY and the IP address registered"),
    ],
)  # fmt: skip
def test_credential_codes_are_a_configuration_error(fake, kiwoom, sessions, db, code, text, keys):
    codes = build_market(fake, sessions, 10)
    fake.script(CHART, codes[0], json_reply(error(code, text, 3)))
    with pytest.raises(CredentialsRejected) as err:
        kiwoom.fetch_bars(DAY, codes)
    message = str(err.value)
    assert err.value.exit_code == 2 and isinstance(err.value, ConfigError)
    assert message.startswith(f"kiwoom: credentials refused ({code} {text}); ")
    assert f"check {keys}" in message
    assert APP_KEY not in message and SECRET_KEY not in message
    assert len(fake.seen(CHART, codes[0])) == 1 and breaker_state(db, "kiwoom") is None


def test_wrong_keys_stop_at_the_token(fake, db, sessions):
    codes = build_market(fake, sessions, 5)
    config = kiwoom_config(fake, secret_key="a-wrong-secret-key-value")
    with make_provider("kiwoom", config, db) as kiwoom, pytest.raises(CredentialsRejected) as err:
        kiwoom.fetch_bars(DAY, codes)
    assert "(8001 App Key와 Secret Key 검증에 실패했습니다)" in str(err.value)
    assert err.value.exit_code == 2 and "a-wrong-secret-key-value" not in str(err.value)
    assert fake.tokens_issued == 1 and fake.seen(CHART) == []
    assert breaker_state(db, "kiwoom") is None


@pytest.mark.parametrize(
    ("reply", "requests_for_it"),
    [
        (json_reply(error(1700, "허용된 요청 개수를 초과하였습니다", 5), status=403), 2),
        (json_reply(error(1700, "허용된 요청 개수를 초과하였습니다", 5), status=429), 2),
        (json_reply(error(8005, "Token이 유효하지 않습니다", 3), status=403), 2),
        (json_reply(error(8010, "Token을 발급받은 IP와 서비스를 요청한 IP가 동일하지 않습니다",
                          3)), 2),
    ],
    ids=["1700-in-403", "1700-in-429", "8005-in-403", "8010"],
)  # fmt: skip
def test_rate_and_token_codes_never_open_the_breaker(fake, kiwoom, sessions, db, reply,
                                                     requests_for_it):  # fmt: skip
    codes = build_market(fake, sessions, 4)
    fake.script(CHART, codes[1], reply)
    batch = kiwoom.fetch_bars(DAY, codes)
    assert len(batch.rows) == 4 and not batch.missing
    assert len(fake.seen(CHART, codes[1])) == requests_for_it
    assert breaker_state(db, "kiwoom") is None


def test_an_unknown_code_in_a_403_fails_the_ticker_without_a_breaker(fake, kiwoom, sessions, db):
    codes = build_market(fake, sessions, 3)
    fake.script(CHART, codes[2], json_reply(error(1999, "예기치 못한 에러가 발생했습니다", 3), 403))
    batch = kiwoom.fetch_bars(DAY, codes)
    assert len(batch.rows) == 2 and "return code 1999" in batch.missing[codes[2]]
    assert "not a block" in batch.missing[codes[2]]
    assert len(fake.seen(CHART, codes[2])) == 1 and breaker_state(db, "kiwoom") is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"stk_cd":"005930","stk_dt_pole_chart_qry":[{"dt":"2025', "invalid JSON at character"),
        (b'{"return_code":0,"return_msg":"\xc1\xa4\xff"}', "not UTF-8"),
        (b'{"return_code":0,"return_msg":"ok"}', "no stk_dt_pole_chart_qry list"),
        (b'{"stk_cd":"000660","stk_dt_pole_chart_qry":[],"return_code":0}', "is for '000660'"),
        (
            b'{"stk_dt_pole_chart_qry":[{"dt":"20251128","open_pric":"1.5"}],"return_code":0}',
            "'1.5' is not a whole number",
        ),
        (b'{"return_code":"x"}', "return_code 'x' is not a number"),
    ],
    ids=["truncated", "garbled", "no-rows", "other-code", "decimal", "bad-return-code"],
)
def test_bad_payloads_make_the_ticker_missing(fake, kiwoom, sessions, body, message):
    codes = build_market(fake, sessions, 3)
    fake.script(CHART, codes[2], Reply(body=body))
    batch = kiwoom.fetch_bars(DAY, codes)
    assert len(batch.rows) == 2 and message in batch.missing[codes[2]]
    assert len(fake.seen(CHART, codes[2])) == 1


@pytest.mark.parametrize(
    "reply",
    [Reply(body=BLOCK_PAGE, content_type="text/html"), Reply(403, b"Forbidden")],
    ids=["block-page", "403"],
)
def test_a_block_opens_the_breaker(fake, kiwoom, sessions, reply):
    codes = build_market(fake, sessions, 12)
    fake.script(CHART, codes[5], reply)
    with pytest.raises(SourceBlocked, match="blocked until 2025-11-29 18:00 KST"):
        kiwoom.fetch_bars(DAY, codes)
    sent = len(fake.log)
    with pytest.raises(SourceBlocked):
        kiwoom.fetch_tickers()
    assert len(fake.log) == sent


def test_ticker_master_from_the_stock_lists(fake, kiwoom):
    fake.page_rows = 3
    fake.lists["0"] = [
        listed("005930", "삼성전자", reg_day="19750611"),
        listed("005935", "삼성전자우"),
        listed("00104K", "CJ4우(전환)"),
        listed("0126Z0", "삼성에피스홀딩스", reg_day="20251124"),
        listed("069500", "KODEX 200"),
        listed("330590", "롯데리츠"),
        listed("580001", "신한 레버리지 WTI원유 선물 ETN"),
        listed("12345", "짧은코드"),
    ]
    fake.lists["10"] = [listed("438580", "하나30호스팩", "KOSDAQ")]
    fake.lists["8"] = [listed("069500", "KODEX 200")]
    fake.lists["6"] = [listed("330590", "롯데리츠")]
    by_code = {t.code: t for t in kiwoom.fetch_tickers()}
    assert {code: t.security_type for code, t in by_code.items()} == {
        "005930": "stock", "005935": "preferred", "00104K": "preferred", "0126Z0": "stock",
        "069500": "etf", "330590": "reit", "580001": "etn", "438580": "spac",
    }  # fmt: skip
    assert by_code["438580"].market == "KOSDAQ" and by_code["0126Z0"].market == "KOSPI"
    assert by_code["005930"].listed_on == "1975-06-11" and by_code["005930"].name == "삼성전자"
    pages = [(r.key, r.headers["cont-yn"], r.headers["next-key"]) for r in fake.seen(LIST)]
    assert ("list:0", "Y", "K6") in pages and len([p for p in pages if p[0] == "list:0"]) == 3
    assert kiwoom.ticker_fields == {"name", "market", "security_type", "listed_on"}


def test_no_index_bars_from_kiwoom(fake, kiwoom):
    assert kiwoom.fetch_index("KOSPI", DAY, DAY) == [] and fake.log == []


def test_secrets_never_reach_logs_or_messages(fake, kiwoom, sessions, stderr_logs):
    codes = build_market(fake, sessions, 4)

    def echo() -> Reply:
        token = next(iter(fake.valid_tokens))
        text = f"요청 오류 appkey={APP_KEY} secretkey={SECRET_KEY} token={token}"
        return json_reply({"return_code": 2, "return_msg": f"{text}[1511:{text}]"})

    fake.script(CHART, codes[0], echo)
    fake.script(CHART, codes[1], THROTTLED, Reply(502, b"bad gateway"), Reply(502, b""))
    fake.script(CHART, codes[2], json_reply(error(8005, "Token이 유효하지 않습니다", 3)))
    batch = kiwoom.fetch_bars(DAY, codes)
    assert MASK in batch.missing[codes[0]] and codes[1] in batch.missing
    logs = stderr_logs()
    assert "retrying" in logs and "access token renewed" in logs
    texts = [logs, json.dumps(batch.missing, ensure_ascii=False)]
    for secret in [APP_KEY, SECRET_KEY, *fake.valid_tokens]:
        assert all(secret not in text for text in texts), secret


def test_yesterdays_data_at_1542_fails_and_writes_nothing(
    db, fake, sessions, calendar, monkeypatch
):
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T15:42:00")
    codes = build_market(fake, sessions, 20)
    rows = [
        (f"{r['dt'][:4]}-{r['dt'][4:6]}-{r['dt'][6:]}", code, 1, 2, 1, 2, 10, None)
        for code in codes
        for r in fake.charts[code][:-1]
    ]
    with write_transaction(db):
        upsert_bars(db, rows, "kiwoom")
    for chart in fake.charts.values():
        chart.pop()  # Kiwoom still answers with 2025-11-27 as the latest bar
    before = db.execute("SELECT * FROM bars ORDER BY 1, 2").fetchall()
    provider = make_provider("kiwoom", kiwoom_config(fake), db)
    with pytest.raises(SyncGateFailed) as failed:
        sync(db, provider, [DAY], calendar)
    provider.close()
    assert failed.value.exit_code == 3 and isinstance(failed.value, DataNotReady)
    assert "the source has not published 2025-11-28 yet" in str(failed.value)
    assert db.execute("SELECT * FROM bars ORDER BY 1, 2").fetchall() == before
    assert db.execute("SELECT count(*) FROM tickers").fetchone() == (0,)
    assert fake.seen(TOKEN) and len(fake.seen(CHART)) == 20
