"""The kis provider against the local fake KIS: master files (CP949, every exclusion flag),
adjusted daily charts with paging, index bars, the token lifecycle, and payloads that are slow,
throttled, failing, truncated, garbled or blocked; secrets never reach logs or messages."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.clock import now_kst
from scanctl.config import MASK, Config
from scanctl.errors import ConfigError
from scanctl.providers import kis as kis_module
from scanctl.providers.base import (
    PayloadError,
    SourceBlocked,
    SourceError,
    SourceExhausted,
    make_provider,
)
from scanctl.providers.breaker import breaker_state
from scanctl.providers.kis_master import parse_master, read_master
from scanctl.providers.settings import DataConfig
from scanctl.providers.tokens import CredentialsRejected, Token, TokenCache
from tests.providers.conftest import Sleeps
from tests.providers.kis_server import (
    APP_KEY,
    APP_SECRET,
    CHART,
    INDEX,
    TOKEN,
    FakeKis,
    build_market,
    chart_rows,
    compact,
    master_line,
    master_zip,
)
from tests.providers.scripted_server import BLOCK_PAGE, Reply, json_reply

DAY = dt.date(2025, 11, 28)
FIXTURE = Path(__file__).parent / "data" / "kis_kospi_code.mst"


@pytest.fixture(autouse=True)
def state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setattr(kis_module, "MAX_RATE", 10_000.0)  # the tests' clients run at 1,000/s


@pytest.fixture
def fake():
    with FakeKis() as fake:
        yield fake


@pytest.fixture
def sleeps(fake) -> Sleeps:
    """Waits are recorded and advance the fake KIS's clock instead of passing."""
    return Sleeps(fake)


def kis_config(fake: FakeKis, **extra) -> DataConfig:
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


@pytest.fixture
def kis(fake, db):
    provider = make_provider("kis", kis_config(fake), db)
    yield provider
    provider.close()


# ---- the ticker master --------------------------------------------------------------------------


def test_recorded_master_file_maps_every_flag():
    content = FIXTURE.read_bytes()
    assert "삼성전자".encode("cp949") in content  # the file is CP949, as KIS serves it
    records = {r.code: r for r in parse_master(content, "KOSPI")}
    assert "Q550001" not in records and len(records) == 11  # a 7-character ELW code is skipped
    rows = {code: r.ticker() for code, r in records.items()}
    assert {code: row.security_type for code, row in rows.items()} == {
        "005930": "stock", "005935": "preferred", "00104K": "preferred", "0126Z0": "stock",
        "069500": "etf", "580001": "etn", "088980": "fund", "330590": "reit",
        "123450": "stock", "234560": "stock", "345670": "stock",
    }  # fmt: skip
    assert {code for code, row in rows.items() if row.managed} == {"123450", "345670"}
    assert {code for code, row in rows.items() if row.halted} == {"234560"}
    assert records["123450"].market_warning == "02" and records["005930"].market_warning == "00"
    assert rows["005930"].name == "삼성전자" and rows["00104K"].name == "CJ4우(전환)"
    assert rows["005930"].listed_on == "1975-06-11" and rows["0126Z0"].listed_on == "2025-11-24"
    assert all(row.market == "KOSPI" for row in rows.values())


def test_fetch_tickers_reads_both_zips(fake, kis):
    fake.masters = {
        "KOSPI": master_zip("KOSPI", FIXTURE.read_bytes().split(b"\r\n")[:-1]),
        "KOSDAQ": master_zip(
            "KOSDAQ",
            [
                master_line("KOSDAQ", "438580", "하나30호스팩", etpr_undt_objt_co_yn="Y"),
                master_line("KOSDAQ", "900110", "이스트아시아홀딩스", scrt_grp_cls_code="FS"),
                master_line("KOSDAQ", "12345A", "코스닥우B", prst_cls_code="1"),
                master_line("KOSDAQ", "222220", "관리정지", mang_issu_yn="Y", trht_yn="Y"),
            ],
        ),
    }
    tickers = kis.fetch_tickers()
    by_code = {t.code: t for t in tickers}
    assert len(tickers) == 15 and [t.code for t in tickers] == sorted(by_code)
    assert by_code["438580"].security_type == "spac" and by_code["438580"].market == "KOSDAQ"
    assert by_code["900110"].security_type == "stock"  # foreign shares trade as stocks
    assert by_code["12345A"].security_type == "preferred"
    assert by_code["222220"].managed and by_code["222220"].halted
    assert by_code["0126Z0"].market == "KOSPI"
    assert fake.seen(TOKEN) == []  # public files, no token
    assert kis.ticker_fields == {
        "name",
        "market",
        "security_type",
        "managed",
        "halted",
        "listed_on",
    }


@pytest.mark.parametrize(
    ("mutate", "error", "message"),
    [
        (lambda z: z[: len(z) // 2], PayloadError, "unreadable zip"),
        (lambda z: b"PK\x03\x04" + b"\x00" * 40, PayloadError, "unreadable zip"),
        (lambda z: b"garbage" * 10, PayloadError, "not a zip file"),
        (lambda z: BLOCK_PAGE, SourceBlocked, "block page instead of a master file"),
    ],
    ids=["truncated", "garbled-zip", "not-zip", "block-page"],
)
def test_bad_master_downloads(fake, kis, mutate, error, message):
    good = master_zip("KOSPI", [master_line("KOSPI", "005930", "삼성전자")])
    fake.masters = {"KOSPI": mutate(good), "KOSDAQ": good}
    with pytest.raises(error, match=message):
        kis.fetch_tickers()


def test_bad_master_records():
    good = master_line("KOSPI", "005930", "삼성전자")
    with pytest.raises(PayloadError, match="line 2 is not CP949 text"):
        parse_master(good + b"\r\n" + good[:15] + b"\xff\xfe" + good[17:], "KOSPI")
    with pytest.raises(PayloadError, match="line 1: group 'T0' and flags"):
        parse_master(good[: 9 + 12 + 40] + good[9 + 12 + 40 + 1 :] + b"0", "KOSPI")
    with pytest.raises(PayloadError, match="line 1 has 96 characters, expected more than 248"):
        parse_master(good[:100], "KOSPI")
    with pytest.raises(PayloadError, match="no issue with a 6-character code"):
        parse_master(b"\r\n\r\n", "KOSPI")
    other = master_zip("KOSPI", [good], member="readme.txt")
    with pytest.raises(PayloadError, match=r"no kospi_code.mst inside \(members: readme.txt\)"):
        read_master(other, "KOSPI")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_any_master_bytes_parse_or_raise_payload_error(content):
    try:
        records = parse_master(content, "KOSDAQ")
    except PayloadError:
        return
    assert all(len(r.code) == 6 for r in records)


# ---- daily bars ---------------------------------------------------------------------------------


def test_bars_of_a_day_adjusted_stamped_with_previous_close(fake, kis, sessions):
    codes = build_market(fake, sessions, n_kospi=6, n_kosdaq=4)
    halted = fake.charts[codes[1]][-1]
    halted.update(stck_oprc="0", stck_hgpr="0", stck_lwpr="0", acml_vol="0", acml_tr_pbmn="0")
    done = []
    batch = kis.fetch_bars(DAY, codes, lambda d, t: done.append((d, t)))
    rows = {row[1]: row for row in batch.rows}
    assert set(rows) == set(codes) and not batch.missing and done[-1] == (10, 10)
    close = int(halted["stck_clpr"])
    assert rows[codes[1]] == ("2025-11-28", codes[1], close, close, close, close, 0, 0)
    last = len(sessions) - 1
    alnum = "0005Z0"
    assert alnum in rows and rows[alnum][5] == 1_000 + 37 * 5 + last % 7 * 10
    assert rows[alnum][7] == rows[alnum][5] * rows[alnum][6]  # acml_tr_pbmn is the value
    assert batch.previous[alnum].date == "2025-11-27"
    assert batch.previous[alnum].close == 1_000 + 37 * 5 + (last - 1) % 7 * 10
    requests = fake.seen(CHART)
    assert len(requests) == 10 and fake.tokens_issued == 1
    first = requests[0]
    assert first.headers["tr_id"] == "FHKST03010100" and first.headers["custtype"] == "P"
    assert first.headers["appkey"] == APP_KEY and first.headers["appsecret"] == APP_SECRET
    assert first.args["FID_ORG_ADJ_PRC"] == "0" and first.args["FID_COND_MRKT_DIV_CODE"] == "J"
    assert first.args["FID_INPUT_DATE_2"] == "20251128"
    assert first.args["FID_INPUT_DATE_1"] == "20251108" and first.args["FID_PERIOD_DIV_CODE"] == "D"
    assert {s.args["FID_INPUT_ISCD"] for s in requests} == set(codes)
    assert fake.max_in_flight <= 5


def test_a_source_that_is_behind_stamps_its_own_date(fake, kis, sessions):
    fake.charts["005930"] = chart_rows(sessions[:-1], 50_000)
    (batch,) = kis.fetch_days([DAY], ["005930", "000660"])
    assert batch.rows[0][0] == "2025-11-27" and batch.previous["005930"].date == "2025-11-26"
    assert batch.missing == {"000660": "kis: 000660 has no bar on or before 2025-11-28"}


def test_empty_padding_rows_are_ignored(fake, kis, sessions):
    fake.charts["005930"] = chart_rows(sessions[-3:], 50_000)
    payload = {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "", "output1": {}, "output2": [{}]}
    fake.script(CHART, "000660", json_reply(payload))
    batch = kis.fetch_bars(DAY, ["005930", "000660"])
    assert len(batch.rows) == 1 and "000660 has no bar" in batch.missing["000660"]


def test_history_pages_backwards_by_100(fake, kis, calendar):
    year = calendar.sessions_in_range(dt.date(2025, 1, 2), DAY)
    fake.charts["0126Z0"] = chart_rows(year, 331_000)
    history = kis.fetch_history("0126Z0", dt.date(2025, 1, 1), DAY)
    assert [row[0] for row in history] == [day.isoformat() for day in year]
    ends = [s.args["FID_INPUT_DATE_2"] for s in fake.seen(CHART)]
    assert len(ends) == 3 and ends[0] == "20251128"
    oldest_of_first_page = year[-100]
    assert ends[1] == compact(oldest_of_first_page - dt.timedelta(days=1))
    assert all(s.args["FID_INPUT_DATE_1"] == "20250101" for s in fake.seen(CHART))


def test_index_bars_from_the_sector_index_chart(fake, kis, sessions):
    build_market(fake, sessions, n_kospi=1, n_kosdaq=1)
    rows = kis.fetch_index("KOSDAQ", dt.date(2025, 11, 27), DAY)
    n = len(sessions) - 1
    assert rows == [
        ("2025-11-27", "KOSDAQ", 700 + n - 1 + 0.15, 709 + n - 1 + 0.5, 691 + n - 1 + 0.25,
         700 + n - 1 + 0.75, 385_014),
        ("2025-11-28", "KOSDAQ", 700 + n + 0.15, 709 + n + 0.5, 691 + n + 0.25, 700 + n + 0.75,
         385_014),
    ]  # fmt: skip
    (request,) = fake.seen(INDEX)
    assert request.headers["tr_id"] == "FHKUP03500100" and request.args["FID_INPUT_ISCD"] == "1001"
    assert request.args["FID_COND_MRKT_DIV_CODE"] == "U" and "FID_ORG_ADJ_PRC" not in request.args
    with pytest.raises(ValueError, match="kis serves KOSPI, KOSDAQ"):
        kis.fetch_index("KOSPI200", DAY, DAY)


# ---- failures -----------------------------------------------------------------------------------


THROTTLE = json_reply(
    {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."}
)


@pytest.mark.parametrize(
    "first",
    [
        Reply(delay_s=0.8),  # beyond the 0.5 s read timeout
        Reply(429, b"too many", headers={"Retry-After": "0"}),
        Reply(500, b'{"rt_cd":"1","msg_cd":"EGW00201"}'),
        Reply(503, b"unavailable"),
        THROTTLE,
    ],
    ids=["timeout", "429", "500", "503", "EGW00201"],
)
def test_transient_failures_are_retried(fake, kis, sessions, first):
    codes = build_market(fake, sessions, n_kospi=3, n_kosdaq=0)
    fake.script(CHART, codes[1], first)
    batch = kis.fetch_bars(DAY, codes)
    assert len(batch.rows) == 3 and not batch.missing
    assert len(fake.seen(CHART, codes[1])) == 2


def test_throttled_every_attempt_is_a_missing_ticker(fake, kis, sessions):
    codes = build_market(fake, sessions, n_kospi=3, n_kosdaq=0)
    fake.script(CHART, codes[0], THROTTLE, THROTTLE, THROTTLE)
    batch = kis.fetch_bars(DAY, codes)
    assert "failed after 3 attempt(s): kis: " in batch.missing[codes[0]]
    assert "EGW00201" in batch.missing[codes[0]] and len(batch.rows) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"rt_cd":"0","output2":[{"stck_bsop_date":"2025112', "invalid JSON at character"),
        (b'{"rt_cd":"0","msg1":"\xb5\xff\xfe"}', "not UTF-8"),
        (b'{"rt_cd":"0","output1":{}}', "no output2 list"),
        (b"[]", "expected a JSON object"),
        (
            b'{"rt_cd":"0","output2":[{"stck_bsop_date":"20251128","stck_oprc":"1,000"}]}',
            "'1,000' is not a whole number",
        ),
        (b'{"rt_cd":"0","output2":[{"stck_bsop_date":"20251332"}]}', "invalid date '20251332'"),
        (b'{"rt_cd":"1","msg_cd":"OPSQ0001","msg1":"bad input"}', "OPSQ0001 bad input"),
    ],
    ids=["truncated", "garbled", "no-output2", "array", "comma", "bad-date", "rt_cd-1"],
)
def test_bad_payloads_make_the_ticker_missing(fake, kis, sessions, body, message):
    codes = build_market(fake, sessions, n_kospi=3, n_kosdaq=0)
    fake.script(CHART, codes[2], Reply(body=body))
    batch = kis.fetch_bars(DAY, codes)
    assert len(batch.rows) == 2 and message in batch.missing[codes[2]]
    assert len(fake.seen(CHART, codes[2])) == 1  # a bad payload is not retried


@pytest.mark.parametrize(
    "reply",
    [Reply(body=BLOCK_PAGE, content_type="text/html"), Reply(403, b"Forbidden")],
    ids=["block-page", "403"],
)
def test_a_block_opens_the_breaker(fake, kis, sessions, db, reply):
    codes = build_market(fake, sessions, n_kospi=20, n_kosdaq=0)
    fake.script(CHART, codes[7], reply)
    with pytest.raises(SourceBlocked, match="blocked until 2025-11-29 18:00 KST"):
        kis.fetch_bars(DAY, codes)
    assert breaker_state(db, "kis").blocked_until is not None
    sent = len(fake.log)
    with pytest.raises(SourceBlocked):
        kis.fetch_history("100000", DAY, DAY)
    assert len(fake.log) == sent


# ---- the token ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stale_status", [401, 200, 500], ids=["HTTP-401", "EGW00123-in-200", "EGW00123-in-500"]
)
def test_a_stale_token_is_renewed_once_then_success(fake, db, sessions, stale_status):
    codes = build_market(fake, sessions, n_kospi=8, n_kosdaq=0)
    fake.stale_status = stale_status
    with make_provider("kis", kis_config(fake), db) as first_run:
        first_run.fetch_bars(DAY, codes[:1])
    fake.revoke_all()  # e.g. revoked by KIS maintenance while the cache still has it
    with make_provider("kis", kis_config(fake), db) as second_run:
        batch = second_run.fetch_bars(DAY, codes)
    assert len(batch.rows) == 8 and not batch.missing
    assert fake.tokens_issued == 2  # one renewal, shared by the concurrent workers
    (renewed,) = fake.valid_tokens
    assert all(
        fake.seen(CHART, code)[-1].headers["authorization"] == f"Bearer {renewed}" for code in codes
    )


def test_a_refused_fresh_token_gives_up_the_run(fake, kis, sessions, db):
    codes = build_market(fake, sessions, n_kospi=10, n_kosdaq=0)
    refused = Reply(401, b'{"rt_cd":"1","msg_cd":"EGW00121","msg1":"invalid token"}')
    fake.script(CHART, codes[0], refused, refused)
    with pytest.raises(SourceExhausted, match="a freshly issued token was refused too") as err:
        kis.fetch_bars(DAY, codes)
    assert err.value.exit_code == 3 and not isinstance(err.value, ConfigError)
    assert fake.tokens_issued == 2 and len(fake.seen(CHART, codes[0])) == 2
    assert breaker_state(db, "kis") is None


# ---- documented error codes: what must not, and what must, open the breaker -------------------


@pytest.mark.parametrize(
    ("config_key", "code", "variable"),
    [
        ("app_key", "EGW00103", "SCANCTL_DATA_KIS_APP_KEY"),
        ("app_secret", "EGW00105", "SCANCTL_DATA_KIS_APP_SECRET"),
    ],
)
def test_refused_credentials_are_a_configuration_error(
    fake, db, sessions, config_key, code, variable
):
    codes = build_market(fake, sessions, n_kospi=5, n_kosdaq=0)
    wrong = "not-the-configured-value-0123456789"
    config = kis_config(fake, **{config_key: wrong})
    with make_provider("kis", config, db) as kis:
        with pytest.raises(CredentialsRejected) as err:
            kis.fetch_bars(DAY, codes)
        with pytest.raises(CredentialsRejected):  # remembered: nothing more is sent
            kis.fetch_history(codes[0], DAY, DAY)
    message = str(err.value)
    assert err.value.exit_code == 2 and isinstance(err.value, ConfigError)
    assert message.startswith(f"kis: credentials refused ({code} 유효하지 않은 App")
    assert f"check [data.kis] {config_key} / {variable}" in message and "\n" not in message
    assert wrong not in message and APP_KEY not in message and APP_SECRET not in message
    assert fake.tokens_issued == 1 and fake.seen(CHART) == []  # no retry, no data request
    assert breaker_state(db, "kis") is None  # HTTP 403, but a credential code: no breaker


def test_a_credential_code_on_a_data_request_stops_the_run(fake, kis, sessions, db):
    codes = build_market(fake, sessions, n_kospi=12, n_kosdaq=0)
    refusal = {"rt_cd": "1", "msg_cd": "EGW00103", "msg1": "유효하지 않은 AppKey입니다."}
    fake.script(CHART, codes[3], json_reply(refusal, status=403))
    with pytest.raises(CredentialsRejected, match=r"\(EGW00103 유효하지 않은 AppKey입니다\.\)"):
        kis.fetch_bars(DAY, codes)
    assert len(fake.seen(CHART, codes[3])) == 1 and breaker_state(db, "kis") is None


@pytest.mark.parametrize(
    ("reply", "requests_for_it"),
    [
        (json_reply({"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."},
                    status=500), 2),
        (json_reply({"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."},
                    status=403), 2),
        (json_reply({"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "기간이 만료된 token 입니다."},
                    status=403), 2),
    ],
    ids=["EGW00201-500", "EGW00201-403", "EGW00123-403"],
)  # fmt: skip
def test_rate_and_token_codes_never_open_the_breaker(
    fake, db, sessions, reply, requests_for_it, sleeps
):
    codes = build_market(fake, sessions, n_kospi=4, n_kosdaq=0)
    fake.script(CHART, codes[1], reply)
    with make_provider("kis", kis_config(fake), db, sleep=sleeps) as kis:
        batch = kis.fetch_bars(DAY, codes)
    assert len(batch.rows) == 4 and not batch.missing
    assert len(fake.seen(CHART, codes[1])) == requests_for_it
    assert breaker_state(db, "kis") is None


def test_the_rate_code_is_retried_with_backoff(fake, db, sessions, sleeps):
    codes = build_market(fake, sessions, n_kospi=2, n_kosdaq=0)
    throttled = json_reply(
        {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."}, 500
    )
    fake.script(CHART, codes[0], throttled, throttled)
    config = kis_config(fake, backoff_s=0.4, max_backoff_s=8)
    with make_provider("kis", config, db, sleep=sleeps) as kis:
        batch = kis.fetch_bars(DAY, codes)
    assert len(batch.rows) == 2 and len(fake.seen(CHART, codes[0])) == 3
    first, second = sleeps.calls  # 0.4 s then 0.8 s, each ±50 % jitter
    assert 0.2 <= first <= 0.6 and 0.4 <= second <= 1.2
    assert breaker_state(db, "kis") is None


def test_an_unknown_code_in_a_403_fails_the_ticker_without_a_breaker(fake, kis, sessions, db):
    codes = build_market(fake, sessions, n_kospi=3, n_kosdaq=0)
    odd = {"rt_cd": "1", "msg_cd": "EGW00999", "msg1": "something else"}
    fake.script(CHART, codes[2], json_reply(odd, status=403))
    batch = kis.fetch_bars(DAY, codes)
    assert len(batch.rows) == 2 and "EGW00999 something else" in batch.missing[codes[2]]
    assert "not a block" in batch.missing[codes[2]]
    assert len(fake.seen(CHART, codes[2])) == 1 and breaker_state(db, "kis") is None


@pytest.mark.parametrize(
    ("reply", "signal"),
    [
        (Reply(403, b"Forbidden", content_type="text/plain"), "HTTP 403 from 127.0.0.1"),
        (Reply(body=BLOCK_PAGE, content_type="text/html"), "block page from 127.0.0.1"),
    ],
    ids=["403-without-a-code", "html-block-page"],
)
def test_a_real_block_signal_opens_the_breaker_and_says_which(fake, kis, sessions, db, reply,
                                                              signal):  # fmt: skip
    codes = build_market(fake, sessions, n_kospi=6, n_kosdaq=0)
    fake.script(CHART, codes[2], reply)
    with pytest.raises(SourceBlocked) as err:
        kis.fetch_bars(DAY, codes)
    state = breaker_state(db, "kis")
    assert state is not None and state.reason.startswith(signal)
    assert signal in str(err.value) and CHART in str(err.value)


# ---- EGW00133: one token a minute --------------------------------------------------------------


TOO_SOON = {"error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
            "error_code": "EGW00133"}  # fmt: skip


def test_token_too_soon_reuses_the_token_another_process_cached(fake, db, sessions, sleeps,
                                                                tmp_path):  # fmt: skip
    codes = build_market(fake, sessions, n_kospi=5, n_kosdaq=0)
    other: list[str] = []

    def concurrent_run() -> Reply:
        """Another cron run got the minute's token and cached it just before we asked."""
        value = fake.issue_token()
        expires = now_kst() + dt.timedelta(hours=24)
        TokenCache("kis", APP_KEY, fake.url).save(Token(value, expires))
        other.append(value)
        return json_reply(TOO_SOON, status=403)

    fake.script(TOKEN, "token", concurrent_run)
    with make_provider("kis", kis_config(fake), db, sleep=sleeps) as kis:
        batch = kis.fetch_bars(DAY, codes)
        assert kis.tokens.issued == 0 and kis.tokens.waited_s == 0
    assert len(batch.rows) == 5 and not batch.missing
    assert sleeps.calls == [] and fake.tokens_issued == 1  # the refused request only
    assert {r.headers["authorization"] for r in fake.seen(CHART)} == {f"Bearer {other[0]}"}
    assert breaker_state(db, "kis") is None


def test_token_too_soon_without_a_cached_token_waits_the_minute_once(fake, db, sessions, sleeps,
                                                                    stderr_logs):  # fmt: skip
    codes = build_market(fake, sessions, n_kospi=5, n_kosdaq=0)
    fake.token_interval_s = 60.0
    fake.issue_token()  # another program with the same key took this minute's token
    with make_provider("kis", kis_config(fake), db, sleep=sleeps) as kis:
        batch = kis.fetch_bars(DAY, codes)
    assert len(batch.rows) == 5 and not batch.missing
    assert sleeps.calls == [61.0]  # the minute, plus a second for clock skew: bounded
    assert fake.tokens_issued == 2 and breaker_state(db, "kis") is None
    assert "waiting before asking again" in stderr_logs() and "wait_s=61" in stderr_logs()


def test_token_too_soon_after_our_own_renewal_waits_only_the_rest(fake, db, sessions, sleeps):
    codes = build_market(fake, sessions, n_kospi=3, n_kosdaq=0)
    fake.token_interval_s = 60.0
    with make_provider("kis", kis_config(fake), db, sleep=sleeps) as kis:
        kis.fetch_bars(DAY, codes[:1])
        fake.revoke_all()  # revoked seconds after we were issued it: the renewal is too soon
        batch = kis.fetch_bars(DAY, codes)
    assert len(batch.rows) == 3 and not batch.missing
    (wait,) = sleeps.calls
    assert 55.0 < wait < 61.0 and fake.tokens_issued == 3


def test_token_too_soon_twice_gives_up_without_a_breaker(fake, db, sessions, sleeps):
    codes = build_market(fake, sessions, n_kospi=5, n_kosdaq=0)
    fake.token_interval_s = 600.0  # the other program keeps taking the token
    fake.issue_token()
    with make_provider("kis", kis_config(fake), db, sleep=sleeps) as kis:
        with pytest.raises(SourceExhausted, match="refused again after waiting 61 s") as err:
            kis.fetch_bars(DAY, codes)
        with pytest.raises(SourceExhausted):  # remembered: no second wait
            kis.fetch_history(codes[0], DAY, DAY)
    assert err.value.exit_code == 3 and "EGW00133" in str(err.value)
    assert sleeps.calls == [61.0] and fake.tokens_issued == 2 and fake.seen(CHART) == []
    assert breaker_state(db, "kis") is None


def test_secrets_never_reach_logs_or_messages(fake, kis, sessions, stderr_logs):
    codes = build_market(fake, sessions, n_kospi=4, n_kosdaq=0)

    def echo() -> Reply:  # a reply that quotes the credentials and the token back
        token = next(iter(fake.valid_tokens))
        text = f"bad request appkey={APP_KEY} appsecret={APP_SECRET} token={token}"
        return json_reply({"rt_cd": "1", "msg_cd": "EGW00999", "msg1": text})

    fake.script(CHART, codes[0], echo)
    fake.script(CHART, codes[1], *[Reply(502, b"bad gateway")] * 3)
    fake.script(CHART, codes[2], Reply(401, b"{}"))  # a renewal, logged
    batch = kis.fetch_bars(DAY, codes)
    assert len(batch.rows) == 2 and MASK in batch.missing[codes[0]]
    logs = stderr_logs()
    assert "retrying" in logs and "access token renewed" in logs
    texts = [logs, json.dumps(batch.missing, ensure_ascii=False)]
    for secret in [APP_KEY, APP_SECRET, *fake.valid_tokens]:
        assert all(secret not in text for text in texts), secret


# ---- configuration ------------------------------------------------------------------------------


def test_rate_above_20_per_second_is_refused(fake, db, monkeypatch):
    monkeypatch.setattr(kis_module, "MAX_RATE", 20.0)
    with pytest.raises(ConfigError, match=r"\[data.kis\] rate_per_s = 25: KIS allows at most 20"):
        make_provider("kis", kis_config(fake, rate_per_s=25), db)
    make_provider("kis", kis_config(fake, rate_per_s=20), db).close()
    assert kis_module.SPEC.http_defaults["rate_per_s"] <= 20


def test_credentials_are_required_and_come_from_the_environment(fake, db, tmp_path, monkeypatch):
    from scanctl.settings import read_sources as load_config

    path = tmp_path / "c.toml"
    path.write_text(f'[data.kis]\nbase_url = "{fake.url}"\n')
    with pytest.raises(
        ConfigError, match="set app_key in \\[data.kis\\] or SCANCTL_DATA_KIS_APP_KEY"
    ):
        make_provider("kis", DataConfig.from_config(load_config(path, environ={})), db)
    environ = {"SCANCTL_DATA_KIS_APP_KEY": APP_KEY, "SCANCTL_DATA_KIS_APP_SECRET": APP_SECRET}
    provider = make_provider("kis", DataConfig.from_config(load_config(path, environ=environ)), db)
    assert provider.client.redact(f"{APP_KEY}/{APP_SECRET}") == f"{MASK}/{MASK}"
    provider.close()


def test_missing_source_error_when_master_is_absent(fake, kis):
    with pytest.raises(SourceError, match="HTTP 404"):
        kis.fetch_tickers()
