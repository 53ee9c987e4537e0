"""The naver provider against the local fake Naver: listing pagination, EUC-KR charts, halted
days, alphanumeric codes, index bars, and payloads that are truncated, garbled or blocked."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.config import Config
from scanctl.providers.base import PayloadError, Provider, SourceBlocked, make_provider
from scanctl.providers.naver import parse_chart, parse_listing
from scanctl.providers.settings import DataConfig
from tests.providers.naver_server import (
    BLOCK_PAGE,
    JSON_TYPE,
    FakeNaver,
    Listed,
    Reply,
    build_market,
    chart_xml,
    compact,
    steady_bars,
)

DAY = dt.date(2025, 11, 28)
FIXTURE = Path(__file__).parent / "data" / "naver_sise_005930.xml"


def naver_config(fake: FakeNaver, **settings) -> DataConfig:
    table = {
        "base_url": fake.url,
        "listing_url": fake.url,
        "timeout_s": 0.5,
        "backoff_s": 0.01,
        "max_backoff_s": 0.02,
        "rate_per_s": 1_000,
        **settings,
    }
    return DataConfig.from_config(Config(sections={"data": {"naver": table}}))


@pytest.fixture
def naver(fake_naver, db) -> Provider:
    provider = make_provider("naver", naver_config(fake_naver), db)
    yield provider
    provider.close()


def test_recorded_chart_fixture_parses(sessions):
    # A chart reply as Naver sends it (EUC-KR bytes, Korean name attribute).
    content = FIXTURE.read_bytes()
    assert "삼성전자".encode("euc-kr") in content
    items = parse_chart(content, "005930")
    assert items[0] == ("2025-11-24", ["96400", "97500", "95500", "96700", "21536470"])
    assert items[-1][0] == "2025-11-28" and len(items) == 5


def test_listing_paginates_both_markets(fake_naver, sessions, naver):
    build_market(fake_naver, sessions, n_kospi=250, n_kosdaq=130)
    tickers = naver.fetch_tickers()
    assert len(tickers) == 380
    assert sum(t.market == "KOSPI" for t in tickers) == 250
    pages = sorted(q["_key"] for path, q in fake_naver.log if path.startswith("/api/stocks"))
    assert pages == ["KOSDAQ:1", "KOSDAQ:2", "KOSPI:1", "KOSPI:2", "KOSPI:3"]
    assert all(q["pageSize"] == "100" for path, q in fake_naver.log if path.startswith("/api"))
    assert tickers == sorted(tickers, key=lambda t: t.code)
    assert {t.name for t in tickers if t.code == "100000"} == {"테스트0전자"}


def test_listing_types_flags_and_alphanumeric_codes(fake_naver, sessions, naver):
    bars = steady_bars(sessions, 5_000)
    for stock in [
        Listed("005930", "삼성전자", bars=bars),
        Listed("005935", "삼성전자우", bars=bars),
        Listed("00104K", "CJ4우(전환)", bars=bars),
        Listed("0126Z0", "삼성에피스홀딩스", bars=bars),
        Listed("006800", "미래에셋대우", bars=bars),  # a common stock whose name ends in 우
        Listed("069500", "KODEX 200", end_type="etf", bars=bars),
        Listed("580001", "신한 레버리지 ETN", end_type="etn", bars=bars),
        Listed("438580", "하나30호스팩", market="KOSDAQ", bars=bars),
        Listed("123450", "정지된회사", market="KOSDAQ", trading=False, bars=bars),
        Listed("12345", "짧은코드", market="KOSDAQ", bars=bars),  # not 6 characters: skipped
    ]:
        fake_naver.add(stock)
    fake_naver.add(Listed("999990", "기타", end_type="reit", bars=bars))
    by_code = {t.code: t for t in naver.fetch_tickers()}
    assert "12345" not in by_code and len(by_code) == 10
    types = {code: t.security_type for code, t in by_code.items()}
    assert types == {
        "005930": "stock", "005935": "preferred", "00104K": "preferred", "0126Z0": "stock",
        "006800": "stock", "069500": "etf", "580001": "etn", "438580": "spac",
        "123450": "stock", "999990": "other",
    }  # fmt: skip
    assert by_code["123450"].halted and not by_code["005930"].halted
    assert by_code["438580"].market == "KOSDAQ"
    assert not any(t.managed for t in by_code.values())  # Naver cannot tell


def test_listing_with_missing_pages_is_refused(fake_naver, sessions, naver):
    build_market(fake_naver, sessions, n_kospi=250, n_kosdaq=10)
    empty = b'{"stocks": [], "totalCount": 250, "page": 3, "pageSize": 100}'
    fake_naver.script("/api/stocks/marketValue/KOSPI", "KOSPI:3", Reply(body=empty))
    with pytest.raises(PayloadError, match=r"listing KOSPI holds 200 distinct codes of the 250"):
        naver.fetch_tickers()


def test_listing_truncated_and_garbled(fake_naver, sessions, naver):
    build_market(fake_naver, sessions, n_kospi=5, n_kosdaq=5)
    good = fake_naver.reply_for("/api/stocks/marketValue/KOSPI", {"page": "1", "pageSize": "100"})
    fake_naver.script(
        "/api/stocks/marketValue/KOSPI",
        "KOSPI:1",
        Reply(body=good.body[:-40], content_type=JSON_TYPE),
    )
    with pytest.raises(PayloadError, match=r"listing KOSPI page 1: invalid JSON at character"):
        naver.fetch_tickers()
    with pytest.raises(PayloadError, match="not UTF-8"):
        parse_listing(b'{"stocks": [{"stockName": "\xff\xfe"}]}', "KOSPI", 1)
    with pytest.raises(PayloadError, match="'stocks' list"):
        parse_listing(b'{"items": []}', "KOSPI", 1)
    with pytest.raises(PayloadError, match="nested too deeply"):
        parse_listing(b"[" * 100_000, "KOSPI", 1)
    with pytest.raises(PayloadError, match="implausible totalCount 9,999,999"):
        parse_listing(b'{"stocks": [], "totalCount": 9999999}', "KOSPI", 1)


def test_bars_of_a_day_with_previous_close_halt_and_letters(fake_naver, sessions, naver):
    build_market(fake_naver, sessions, n_kospi=3, n_kosdaq=0)
    halted = steady_bars(sessions, 7_000)
    halted[-1] = (compact(DAY), "0", "0", "0", "7050", "0")
    fake_naver.add(Listed("00104K", "CJ4우(전환)", bars=halted))
    fake_naver.add(Listed("0126Z0", "삼성에피스홀딩스", bars=steady_bars(sessions, 331_000)))
    codes = sorted(fake_naver.stocks)
    done = []
    batch = naver.fetch_bars(DAY, codes, lambda d, t: done.append((d, t)))
    rows = {row[1]: row for row in batch.rows}
    assert set(rows) == set(codes) and not batch.missing
    assert rows["00104K"] == ("2025-11-28", "00104K", 7_050, 7_050, 7_050, 7_050, 0, None)
    last = len(sessions) - 1
    assert rows["0126Z0"][0] == "2025-11-28" and rows["0126Z0"][5] == 331_000 + last % 7 * 10
    previous = batch.previous["0126Z0"]
    assert previous.date == "2025-11-27" and previous.close == 331_000 + (last - 1) % 7 * 10
    assert done[-1] == (5, 5)
    counts = {int(q["count"]) for path, q in fake_naver.log if path == "/sise.nhn"}
    assert counts == {10}  # today's bar and the one before, with a small margin


def test_a_past_day_and_a_source_that_is_behind(fake_naver, sessions, naver):
    fake_naver.add(Listed("005930", "삼성전자", bars=steady_bars(sessions[:-1], 50_000)))
    past, today = naver.fetch_days([dt.date(2025, 11, 20), DAY], ["005930", "000660"])
    assert past.rows[0][0] == "2025-11-20" and past.previous["005930"].date == "2025-11-19"
    assert today.rows[0][0] == "2025-11-27"  # stamped with the source's own date
    assert "no bar on or before 2025-11-28" in today.missing["000660"]
    count = int(fake_naver.log[0][1]["count"])
    assert count >= 8 + 2  # 2025-11-20 … 11-28 and the session before


def test_history_and_index(fake_naver, sessions, naver):
    build_market(fake_naver, sessions, n_kospi=1, n_kosdaq=0)
    history = naver.fetch_history("100000", dt.date(2025, 11, 3), dt.date(2025, 11, 14))
    assert [row[0] for row in history] == [
        d.isoformat() for d in sessions if dt.date(2025, 11, 3) <= d <= dt.date(2025, 11, 14)
    ]
    index = naver.fetch_index("KOSPI", dt.date(2025, 11, 27), DAY)
    n = len(sessions) - 1
    assert index == [
        ("2025-11-27", "KOSPI", 2_500 + n - 1 + 0.15, 2_509 + n - 1 + 0.5, 2_491 + n - 1 + 0.25,
         2_500 + n - 1 + 0.75, 385_014),
        ("2025-11-28", "KOSPI", 2_500 + n + 0.15, 2_509 + n + 0.5, 2_491 + n + 0.25,
         2_500 + n + 0.75, 385_014),
    ]  # fmt: skip


def one_item(*fields: str) -> bytes:
    return chart_xml("005930", "삼성전자", [fields])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (one_item("20251128", "1", "2", "1", "2", "3")[:-30], "truncated"),
        (b"<protocol></protocol>", "no <chartdata> element"),
        (chart_xml("000660", "SK하이닉스", []), "the reply is for symbol '000660'"),
        (b'<chartdata symbol="005930"><item data="20251128|1|2" /></chartdata>', "3 fields"),
        (one_item("20251128", "1x0", "2", "1", "2", "3"), "'1x0' is not a whole number"),
        (one_item("20251128", "-5", "2", "1", "2", "3"), "'-5' is not a whole number"),
        (one_item("20251332", "1", "2", "1", "2", "3"), "invalid date '20251332'"),
        (one_item("20251128", "", "2", "1", "2", "3"), "'' is not a whole number"),
        (chart_xml("005930", "x", [("20251128", "1", "2", "1", "2", "3")] * 2), "is not after"),
        (b"<chartdata symbol=\"005930\"><item data='x' /></chartdata>", "malformed <item>"),
        (b'<chartdata symbol="005930" name="\xb5\xff\xfe">', "not EUC-KR"),
    ],
)
def test_bad_chart_payloads_raise_payload_error(fake_naver, naver, body, message):
    fake_naver.script("/sise.nhn", "005930", Reply(body=body))
    with pytest.raises(PayloadError, match=message):
        naver.fetch_history("005930", dt.date(2025, 11, 1), DAY)


@pytest.mark.parametrize(
    "first",
    [
        Reply(delay_s=0.8),  # beyond the 0.5 s read timeout
        Reply(429, b"too many", headers={"Retry-After": "0"}),
        Reply(502, b"bad gateway"),
        Reply(503, b"unavailable"),
    ],
    ids=["timeout", "429", "502", "503"],
)
def test_transient_failures_are_retried(fake_naver, sessions, naver, first):
    build_market(fake_naver, sessions, n_kospi=3, n_kosdaq=0)
    fake_naver.script("/sise.nhn", "100010", first)
    batch = naver.fetch_bars(DAY, sorted(fake_naver.stocks))
    assert len(batch.rows) == 3 and not batch.missing
    assert fake_naver.requests_for("/sise.nhn", "100010") == 2


def test_a_ticker_failing_every_attempt_is_missing(fake_naver, sessions, naver):
    build_market(fake_naver, sessions, n_kospi=3, n_kosdaq=0)
    fake_naver.script("/sise.nhn", "100010", *[Reply(500, b"oops")] * 3)
    batch = naver.fetch_bars(DAY, sorted(fake_naver.stocks))
    assert len(batch.rows) == 2
    assert batch.missing["100010"].endswith("failed after 3 attempt(s): HTTP 500")
    assert fake_naver.requests_for("/sise.nhn", "100010") == 3


def test_bad_payload_of_one_ticker_is_a_missing_row(fake_naver, sessions, naver):
    build_market(fake_naver, sessions, n_kospi=3, n_kosdaq=0)
    fake_naver.script("/sise.nhn", "100010", Reply(body=b"<protocol><chartdata symbol="))
    batch = naver.fetch_bars(DAY, sorted(fake_naver.stocks))
    assert len(batch.rows) == 2 and "no <chartdata>" in batch.missing["100010"]


def test_block_page_opens_the_breaker(fake_naver, sessions, naver, db):
    build_market(fake_naver, sessions, n_kospi=30, n_kosdaq=0)
    fake_naver.script("/sise.nhn", "100050", Reply(body=BLOCK_PAGE, content_type="text/html"))
    with pytest.raises(SourceBlocked, match="서비스 이용이 제한되었습니다"):
        naver.fetch_bars(DAY, sorted(fake_naver.stocks))
    sent = len(fake_naver.log)
    with pytest.raises(SourceBlocked, match="blocked until 2025-11-29 18:00 KST"):
        naver.fetch_tickers()
    assert len(fake_naver.log) == sent


def test_index_code_must_be_known(naver):
    with pytest.raises(ValueError, match="naver serves KOSPI, KOSDAQ"):
        naver.fetch_index("SPX", DAY, DAY)


GOOD_CHART = chart_xml("005930", "삼성전자", [("20251127", "1", "2", "1", "2", "3")])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.builds(lambda cut, junk: GOOD_CHART[:cut] + junk,
       st.integers(0, len(GOOD_CHART)), st.binary(max_size=20)))  # fmt: skip
def test_any_chart_bytes_parse_or_raise_payload_error(content):
    try:
        items = parse_chart(content, "005930")
    except PayloadError:
        return
    assert all(len(fields) == 5 and all(f.isdigit() for f in fields) for _, fields in items)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_any_listing_bytes_parse_or_raise_payload_error(content):
    try:
        total, rows, _ = parse_listing(content, "KOSPI", 1)
    except PayloadError:
        return
    assert total > 0 and all(len(row.code) == 6 for row in rows)
