"""The krx-openapi provider against the local fake KRX Open API: comma-formatted numbers, the
base price as previous close, halted issues, alphanumeric codes, the D+1 publication (an empty
``OutBlock_1`` today → gates fail, nothing written), no per-ticker history (the corporate-action
path), unapproved services, transport failures and bad payloads; AUTH_KEY never logged."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.config import MASK, Config
from scanctl.errors import ConfigError, DataNotReady
from scanctl.providers.base import (
    PayloadError,
    PreviousClose,
    SourceBlocked,
    SourceError,
    make_provider,
)
from scanctl.providers.breaker import breaker_state
from scanctl.providers.gates import SyncGateFailed
from scanctl.providers.krx_openapi import parse_daily
from scanctl.providers.settings import DataConfig
from scanctl.providers.sync import sync
from scanctl.providers.tokens import CredentialsRejected
from scanctl.store.bars import upsert_bars
from scanctl.store.db import write_transaction
from scanctl.store.sources import read_sync_events as read_events
from tests.providers.krx_openapi_server import AUTH_KEY, PATHS, FakeKrx, build_market, krx_row
from tests.providers.scripted_server import BLOCK_PAGE, Reply, json_reply

DAY = dt.date(2025, 11, 28)
PREVIOUS = dt.date(2025, 11, 27)
KOSPI, KOSDAQ = PATHS["KOSPI"], PATHS["KOSDAQ"]


@pytest.fixture
def fake():
    with FakeKrx() as fake:
        yield fake


def krx_config(fake: FakeKrx, **extra) -> DataConfig:
    table = {
        "base_url": fake.url,
        "auth_key": AUTH_KEY,
        "timeout_s": 0.5,
        "backoff_s": 0.01,
        "max_backoff_s": 0.02,
        "rate_per_s": 1_000,
        **extra,
    }
    return DataConfig.from_config(Config(sections={"data": {"krx-openapi": table}}))


@pytest.fixture
def krx(fake, db):
    provider = make_provider("krx-openapi", krx_config(fake), db)
    yield provider
    provider.close()


def test_a_day_with_comma_numbers_halts_and_base_prices(fake, krx):
    fake.days["20251128"] = {
        "KOSPI": [
            krx_row(DAY, "005930", "삼성전자", "KOSPI", (96_400, 97_500, 95_500, 96_700), -1_200,
                    21_536_470),
            krx_row(DAY, "0126Z0", "삼성에피스홀딩스", "KOSPI", (0, 0, 0, 331_000), 0, 0),
            {**krx_row(DAY, "00104K", "CJ4우(전환)", "KOSPI", (1, 1, 1, 80_500), 500, 10),
             "TDD_OPNPRC": "-", "TDD_HGPRC": "-", "TDD_LWPRC": "-", "ACC_TRDVOL": "-"},
        ],
        "KOSDAQ": [krx_row(DAY, "247540", "에코프로비엠", "KOSDAQ", (10, 12, 9, 11), 1, 5_000)],
    }  # fmt: skip
    batch = krx.fetch_bars(DAY, ["005930", "0126Z0", "00104K", "247540", "999990"])
    rows = {row[1]: row for row in batch.rows}
    assert rows["005930"] == (
        "2025-11-28", "005930", 96_400, 97_500, 95_500, 96_700, 21_536_470, 21_536_470 * 96_700
    )  # fmt: skip
    assert rows["0126Z0"] == ("2025-11-28", "0126Z0", 331_000, 331_000, 331_000, 331_000, 0, 0)
    assert rows["00104K"][2:7] == (80_500, 80_500, 80_500, 80_500, 0)  # "-" is a halted field
    assert batch.previous["005930"] == PreviousClose(None, 97_900)  # 96,700 − (−1,200)
    assert batch.previous["247540"] == PreviousClose(None, 10)
    assert batch.missing == {
        "999990": "krx-openapi: 999990 is not in the KRX replies for 2025-11-28"
    }
    requests = fake.seen()
    assert [r.path for r in requests] == [KOSPI, KOSDAQ]
    assert all(
        r.headers["auth_key"] == AUTH_KEY and r.args == {"basDd": "20251128"} for r in requests
    )


def test_ticker_master_from_the_latest_published_date(fake, krx, sessions):
    build_market(fake, sessions[:-1], n_kospi=3, n_kosdaq=3)  # 2025-11-28 not published yet
    tickers = krx.fetch_tickers()
    assert [(t.code, t.market) for t in tickers] == [
        ("0002Z0", "KOSPI"), ("0005Z0", "KOSDAQ"), ("100000", "KOSPI"), ("100010", "KOSPI"),
        ("100030", "KOSDAQ"), ("100040", "KOSDAQ"),
    ]  # fmt: skip
    assert all(t.security_type is None and not t.managed and not t.halted for t in tickers)
    assert tickers[0].name == "테스트2" and krx.ticker_fields == {"name", "market"}
    asked = [r.key for r in fake.seen()]
    assert asked == ["KOSPI:20251128", "KOSPI:20251127", "KOSDAQ:20251127"]
    krx.fetch_bars(PREVIOUS, [t.code for t in tickers])
    assert len(fake.seen()) == 3  # the replies behind the master are reused


def test_nothing_published_recently_is_a_clear_error(fake, krx):
    with pytest.raises(SourceError, match="nothing published in the 10 days up to 2025-11-28"):
        krx.fetch_tickers()
    assert len(fake.seen()) == 9  # the weekdays of 11-18 … 11-28, KOSPI only


def test_isin_and_prefixed_codes_become_short_codes():
    rows = [
        krx_row(DAY, "KR7005930003", "삼성전자", "KOSPI", (1, 2, 1, 2), 0, 1),
        krx_row(DAY, "A0126Z0", "삼성에피스홀딩스", "KOSPI", (1, 2, 1, 2), 0, 1),
        krx_row(DAY, "12345", "짧다", "KOSPI", (1, 2, 1, 2), 0, 1),
    ]
    parsed = parse_daily(json.dumps({"OutBlock_1": rows}).encode(), "KOSPI", DAY)
    assert [row.code for row in parsed] == ["005930", "0126Z0"]


def test_history_is_not_available_per_ticker(krx):
    with pytest.raises(SourceError, match="no per-ticker history for 005930") as err:
        krx.fetch_history("005930", dt.date(2025, 1, 2), DAY)
    assert "--source naver" in str(err.value)
    assert krx.fetch_index("KOSPI", DAY, DAY) == []


def store(db, fake: FakeKrx, until: dt.date) -> None:
    rows = []
    for stamp, markets in fake.days.items():
        if stamp > until.strftime("%Y%m%d"):
            continue
        for row in (r for market in markets.values() for r in market):
            numbers = [int(row[k].replace(",", "")) for k in ("TDD_OPNPRC", "TDD_HGPRC",
                       "TDD_LWPRC", "TDD_CLSPRC", "ACC_TRDVOL")]  # fmt: skip
            rows.append((f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}", row["ISU_CD"], *numbers, None))
    with write_transaction(db):
        upsert_bars(db, rows, "naver")


def snapshot(db) -> dict[str, list]:
    tables = ("bars", "tickers", "index_bars", "sync_events")
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


def run(db, fake, calendar, day=DAY):
    provider = make_provider("krx-openapi", krx_config(fake), db)
    try:
        return sync(db, provider, [day], calendar)
    finally:
        provider.close()


def test_today_before_publication_fails_the_gates_and_writes_nothing(
    db, fake, sessions, calendar, monkeypatch
):
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T15:42:00")
    build_market(fake, sessions[:-1], n_kospi=12, n_kosdaq=8)  # KRX has published up to 11-27
    store(db, fake, PREVIOUS)
    before = snapshot(db)
    with pytest.raises(SyncGateFailed) as failed:
        run(db, fake, calendar)
    message = str(failed.value)
    assert failed.value.exit_code == 3 and isinstance(failed.value, DataNotReady)
    assert "coverage 0 of 20 tickers with bars on 2025-11-27 (0.0 %) < 95 %" in message
    assert "2025-11-28 is empty in KOSPI and KOSDAQ: not published yet" in message
    assert snapshot(db) == before


def test_yesterday_reconciled_the_next_morning(db, fake, sessions, calendar, monkeypatch):
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T08:30:00")
    build_market(fake, sessions[:-1], n_kospi=12, n_kosdaq=8)
    store(db, fake, dt.date(2025, 11, 26))
    report = run(db, fake, calendar, PREVIOUS)
    (day,) = report.dates
    assert day.bars == 20 and day.corporate_actions == [] and day.index_bars == 0
    markets = dict(
        db.execute("SELECT code, market FROM tickers WHERE code IN ('100130', '0019Z0')")
    )
    assert markets == {"100130": "KOSDAQ", "0019Z0": "KOSDAQ"}  # KOSDAQ GLOBAL is KOSDAQ
    assert [e.kind for e in read_events(db)] == ["sync"]  # no index data is not an error


def test_a_split_found_on_a_krx_date_is_left_for_another_provider(
    db, fake, sessions, calendar, monkeypatch
):
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T08:30:00")
    codes = build_market(fake, sessions[:-1], n_kospi=12, n_kosdaq=8)
    store(db, fake, dt.date(2025, 11, 26))
    split = next(r for r in fake.days["20251127"]["KOSPI"] if r["ISU_CD"] == codes[4])
    close = int(split["TDD_CLSPRC"].replace(",", ""))
    stored_before = int(next(r for r in fake.days["20251126"]["KOSPI"] if r["ISU_CD"] == codes[4])[
        "TDD_CLSPRC"].replace(",", ""))  # fmt: skip
    # a 2:1 split effective 11-27: KRX's base price is half of the stored 11-26 close
    split["CMPPREVDD_PRC"] = f"{close - stored_before // 2:,}"
    kept = db.execute("SELECT * FROM bars WHERE code = ? ORDER BY date", [codes[4]]).fetchall()
    report = run(db, fake, calendar, PREVIOUS)
    (day,) = report.dates
    assert day.bars == 19 and day.corporate_actions == []
    assert "no per-ticker history for " + codes[4] in day.corporate_action_failures[codes[4]]
    assert db.execute("SELECT * FROM bars WHERE code = ? ORDER BY date", [codes[4]]).fetchall() == (
        kept
    )
    (event,) = read_events(db, "corporate_action_failed")
    assert event.code == codes[4] and event.source == "krx-openapi"
    assert "--source naver" in event.detail["reason"]


def test_unapproved_service_and_wrong_key(fake, krx, db, stderr_logs):
    fake.approved = {KOSPI}
    with pytest.raises(CredentialsRejected) as err:
        krx.fetch_bars(DAY, ["005930"])
    assert str(err.value) == (
        "krx-openapi: credentials refused (HTTP 401 Unauthorized API Call for "
        f"127.0.0.1:{fake.url.rsplit(':', 1)[1]}{KOSDAQ}); check [data.krx-openapi] auth_key / "
        "SCANCTL_DATA_KRX_OPENAPI_AUTH_KEY; apply for the service at openapi.krx.co.kr (each "
        "one is approved separately)"
    )
    assert err.value.exit_code == 2 and isinstance(err.value, ConfigError)
    assert len(fake.seen(KOSDAQ)) == 1  # HTTP 401 is not retried
    wrong = make_provider("krx-openapi", krx_config(fake, auth_key="WRONG-KEY-0123456789"), db)
    with pytest.raises(CredentialsRejected, match="check \\[data.krx-openapi\\] auth_key") as err:
        wrong.fetch_bars(DAY, ["005930"])
    wrong.close()
    assert "WRONG-KEY-0123456789" not in str(err.value) and AUTH_KEY not in stderr_logs()
    assert breaker_state(db, "krx-openapi") is None


def test_an_error_object_in_a_200_reply(fake, krx):
    fake.script(KOSPI, "KOSPI:20251128", json_reply({"respMsg": "Unauthorized API Call",
                                                      "respCode": "401"}))  # fmt: skip
    with pytest.raises(CredentialsRejected, match="respCode 401 Unauthorized API Call") as err:
        krx.fetch_bars(DAY, ["005930"])
    assert err.value.exit_code == 2
    fake.script(KOSPI, "KOSPI:20251127", json_reply({"respMsg": f"quota {AUTH_KEY}",
                                                      "respCode": "500"}))  # fmt: skip
    with pytest.raises(SourceError, match="500 quota") as err:
        krx.fetch_bars(PREVIOUS, ["005930"])
    assert AUTH_KEY not in str(err.value) and MASK in str(err.value)


@pytest.mark.parametrize(
    "first",
    [
        Reply(delay_s=0.8),
        Reply(429, b"too many", headers={"Retry-After": "0"}),
        Reply(500, b"oops"),
        Reply(503, b"unavailable"),
    ],
    ids=["timeout", "429", "500", "503"],
)
def test_transient_failures_are_retried(fake, krx, sessions, first):
    codes = build_market(fake, sessions, n_kospi=3, n_kosdaq=2)
    fake.script(KOSDAQ, "KOSDAQ:20251128", first)
    batch = krx.fetch_bars(DAY, codes)
    assert len(batch.rows) == 5 and not batch.missing
    assert len(fake.seen(KOSDAQ)) == 2


@pytest.mark.parametrize(
    "reply",
    [Reply(body=BLOCK_PAGE, content_type="text/html"), Reply(403, b"Forbidden")],
    ids=["block-page", "403"],
)
def test_a_block_opens_the_breaker(fake, krx, sessions, reply):
    codes = build_market(fake, sessions, n_kospi=3, n_kosdaq=2)
    fake.script(KOSPI, "KOSPI:20251128", reply)
    with pytest.raises(SourceBlocked, match="blocked until 2025-11-29 18:00 KST"):
        krx.fetch_bars(DAY, codes)
    with pytest.raises(SourceBlocked):
        krx.fetch_bars(PREVIOUS, codes)
    assert len(fake.seen()) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"OutBlock_1":[{"BAS_DD":"20251128","ISU_CD":"005930"', "invalid JSON at character"),
        (b'{"OutBlock_1":[{"ISU_NM":"\xbb\xef\xbc\xba"}]}', "not UTF-8"),
        (b'{"OutBlock_2":[]}', "no OutBlock_1 list"),
    ],
    ids=["truncated", "garbled-euc-kr", "wrong-block"],
)
def test_bad_payloads_raise_payload_error(fake, krx, body, message):
    fake.script(KOSPI, "KOSPI:20251128", Reply(body=body))
    with pytest.raises(PayloadError, match=message):
        krx.fetch_bars(DAY, ["005930"])


def test_a_garbled_row_makes_its_code_missing(fake, krx, sessions):
    codes = build_market(fake, sessions, n_kospi=3, n_kosdaq=0)
    fake.days["20251128"]["KOSPI"][1]["TDD_HGPRC"] = "1,2,3x"
    fake.days["20251128"]["KOSPI"][2]["BAS_DD"] = "2025-11-28"
    batch = krx.fetch_bars(DAY, codes)
    assert len(batch.rows) == 1
    assert "TDD_HGPRC = '1,2,3x' is not a number" in batch.missing[codes[1]]
    assert "BAS_DD: invalid date '2025-11-28'" in batch.missing[codes[2]]


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=300)
    | st.lists(
        st.dictionaries(
            st.sampled_from(["BAS_DD", "ISU_CD", "TDD_CLSPRC", "CMPPREVDD_PRC", "ACC_TRDVOL"]),
            st.text(max_size=12) | st.integers(),
        ),
        max_size=4,
    ).map(lambda block: json.dumps({"OutBlock_1": block}).encode())
)
def test_any_reply_parses_or_raises_payload_error(content):
    try:
        rows = parse_daily(content, "KOSPI", DAY)
    except PayloadError:
        return
    for row in rows:
        assert len(row.code) == 6 and (row.bar is None) == (row.problem is not None)


def test_auth_key_never_reaches_logs(fake, krx, sessions, stderr_logs):
    codes = build_market(fake, sessions, n_kospi=2, n_kosdaq=2)
    fake.script(KOSPI, "KOSPI:20251128", Reply(502, AUTH_KEY.encode()), Reply(503, b""))
    batch = krx.fetch_bars(DAY, codes)
    assert len(batch.rows) == 4
    logs = stderr_logs()
    assert "retrying" in logs and "stk_bydd_trd" in logs and AUTH_KEY not in logs
