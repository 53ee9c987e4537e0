"""`sync` end to end on real SQLite files: naver over a local fake server for the source's
behaviour (happy path, stale data at 15:42, blocks, failures, a 2:1 split) and an in-process
provider for each gate on both sides of its threshold."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import pytest

from scanctl.config import Config
from scanctl.errors import BadInput, DataNotReady
from scanctl.providers.base import DayBars, PreviousClose, SourceBlocked, make_provider
from scanctl.providers.breaker import breaker_state, reset_breaker
from scanctl.providers.gates import SyncGateFailed
from scanctl.providers.settings import DataConfig, DataSettings
from scanctl.providers.sync import resolve_dates, run_sync, sync, sync_for_scan
from scanctl.store.bars import TickerRow, upsert_bars, upsert_tickers
from scanctl.store.db import write_transaction
from scanctl.store.sources import read_sync_events as read_events
from tests.providers.naver_server import (
    BLOCK_PAGE,
    FakeNaver,
    Listed,
    Reply,
    build_market,
    chart_xml,
    compact,
    steady_bars,
)

DAY = dt.date(2025, 11, 28)
PREVIOUS = dt.date(2025, 11, 27)


def naver_config(fake: FakeNaver, **naver) -> DataConfig:
    table = {
        "base_url": fake.url,
        "listing_url": fake.url,
        "timeout_s": 0.5,
        "backoff_s": 0.01,
        "max_backoff_s": 0.02,
        "rate_per_s": 1_000,
        **naver,
    }
    return DataConfig.from_config(Config(sections={"data": {"naver": table}}))


def run(db, fake, dates, calendar, settings: DataSettings | None = None, **naver):
    provider = make_provider("naver", naver_config(fake, **naver), db)
    try:
        return sync(db, provider, dates, calendar, settings=settings)
    finally:
        provider.close()


def store_bars(db, stocks: Sequence[Listed], until: dt.date, source: str = "naver") -> None:
    """The stocks' bars up to ``until`` as an earlier sync would have stored them."""
    last = compact(until)
    rows = [
        (f"{b[0][:4]}-{b[0][4:6]}-{b[0][6:]}", s.code, *map(int, b[1:]), None)
        for s in stocks
        for b in s.bars
        if b[0] <= last
    ]
    with write_transaction(db):
        upsert_bars(db, rows, source)


def snapshot(db) -> dict[str, list]:
    tables = ("bars", "tickers", "index_bars", "sync_events")
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


@pytest.fixture
def market(fake_naver, sessions, db):
    stocks = build_market(fake_naver, sessions, n_kospi=40, n_kosdaq=20)
    store_bars(db, stocks, PREVIOUS)
    return stocks


def test_happy_path_writes_tickers_bars_indexes_and_a_log_row(db, fake_naver, market, calendar):
    halted = market[3]
    halted.bars[-1] = (compact(DAY), "0", "0", "0", halted.bars[-2][4], "0")
    fake_naver.add(Listed("0126Z0", "삼성에피스홀딩스", bars=steady_bars([PREVIOUS, DAY], 331_000)))
    progress = []
    provider = make_provider("naver", naver_config(fake_naver), db)
    report = sync(db, provider, [DAY], calendar, lambda d, t: progress.append((d, t)))
    provider.close()
    (day,) = report.dates
    assert (day.date, day.bars, day.baseline, day.index_bars) == ("2025-11-28", 61, 60, 2)
    assert (
        day.gates[0].message == "coverage 61 of 60 tickers with bars on 2025-11-27 (101.7 %) ≥ 95 %"
    )
    assert report.tickers == 61 and progress[-1] == (61, 61)
    stored = dict(db.execute("SELECT code, close FROM bars WHERE date = '2025-11-28'").fetchall())
    assert len(stored) == 61 and stored["0126Z0"] == int(fake_naver.stocks["0126Z0"].bars[-1][4])
    flat = db.execute(
        "SELECT open, high, low, close, volume FROM bars WHERE date = '2025-11-28' AND code = ?",
        [halted.code],
    ).fetchone()
    assert flat == (int(halted.bars[-2][4]),) * 4 + (0,)
    assert db.execute("SELECT count(*) FROM tickers").fetchone() == (61,)
    assert db.execute("SELECT name FROM tickers WHERE code = '0126Z0'").fetchone() == (
        "삼성에피스홀딩스",
    )
    assert db.execute("SELECT count(*) FROM index_bars WHERE date = '2025-11-28'").fetchone() == (
        2,
    )
    kind, detail = db.execute("SELECT kind, detail FROM sync_events").fetchone()
    assert kind == "sync" and json.loads(detail)["bars"] == 61
    assert db.execute("SELECT DISTINCT source FROM bars WHERE date = '2025-11-28'").fetchall() == [
        ("naver",)
    ]


def test_first_sync_measures_coverage_against_the_listing(db, fake_naver, sessions, calendar):
    build_market(fake_naver, sessions, n_kospi=10, n_kosdaq=10)
    report = run(db, fake_naver, [DAY], calendar)
    assert report.dates[0].gates[0].message == (
        "coverage 20 of 20 listed tickers (no earlier bars stored) (100.0 %) ≥ 95 %"
    )


def test_yesterdays_data_at_1542_fails_and_writes_nothing(
    db, fake_naver, market, calendar, monkeypatch
):
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T15:42:00")
    for stock in market:
        stock.bars.pop()  # the source still serves 2025-11-27 as its latest bar
    before = snapshot(db)
    with pytest.raises(SyncGateFailed) as failed:
        run(db, fake_naver, [DAY], calendar)
    assert failed.value.exit_code == 3 and isinstance(failed.value, DataNotReady)
    assert str(failed.value) == (
        "data sync 2025-11-28: coverage 0 of 60 tickers with bars on 2025-11-27 (0.0 %) < 95 %; "
        "0 of 60 rows are dated 2025-11-28 (0.0 %) < 95 %; 60 are dated 2025-11-27: the source "
        "has not published 2025-11-28 yet; nothing written for 2025-11-28 "
        "(retry later with `scanctl data sync --date 2025-11-28`)"
    )
    assert snapshot(db) == before


def test_before_the_close_nothing_is_fetched(db, fake_naver, market, calendar, monkeypatch):
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T15:35:00")
    with pytest.raises(DataNotReady, match=r"closes at 15:30 KST; .* from 15:40 KST \(now 15:35\)"):
        run(db, fake_naver, [DAY], calendar)
    assert fake_naver.log == []
    forced = sync_for_scan(db, naver_config(fake_naver), DAY, force=True)  # scan --sync --force
    assert forced.dates[0].bars == 60


def test_future_dates_are_refused_and_holidays_skipped(db, fake_naver, market, calendar):
    with pytest.raises(BadInput, match="--date 2025-12-01: in the future"):
        run(db, fake_naver, [dt.date(2025, 12, 1)], calendar)
    report = run(db, fake_naver, [dt.date(2025, 10, 3)], calendar)
    assert report.dates == [] and report.skipped[0][0] == "2025-10-03"
    assert fake_naver.log == []


def test_split_2_for_1_refetches_and_replaces_history(
    db, fake_naver, sessions, market, calendar, stderr_logs
):
    split = fake_naver.add(Listed("005930", "삼성전자", bars=steady_bars(sessions, 50_000)))
    store_bars(db, [split], PREVIOUS)  # the store holds the pre-split prices
    # Naver restates the history after the 2:1 split: every earlier price halved, volume doubled.
    split.bars = [
        (d, *(str(int(p) // 2) for p in (o, h, low, c)), str(int(v) * 2))
        for d, o, h, low, c, v in split.bars
    ]
    report = run(db, fake_naver, [DAY], calendar)
    (action,) = report.dates[0].corporate_actions
    assert (action.code, action.previous_date) == ("005930", "2025-11-27")
    assert action.ratio == pytest.approx(0.5)
    assert (action.first, action.last, action.bars) == ("2025-10-01", "2025-11-28", len(sessions))
    stored = db.execute("SELECT date, close, volume FROM bars WHERE code = '005930' ORDER BY date")
    assert [(r[1], r[2]) for r in stored] == [(int(b[4]), int(b[5])) for b in split.bars]
    (event,) = read_events(db, "corporate_action")
    assert (event.date, event.code, event.source) == ("2025-11-28", "005930", "naver")
    detail = event.detail
    assert detail["stored_close"] == 2 * detail["source_close"] and detail["ratio"] == 0.5
    assert (detail["first"], detail["last"]) == ("2025-10-01", "2025-11-28")
    assert "corporate action: stored history replaced" in stderr_logs()
    assert "code=005930" in stderr_logs()
    # the other tickers' histories are untouched
    assert db.execute("SELECT count(*) FROM bars WHERE date < '2025-11-28'").fetchone()[0] == (
        61 * (len(sessions) - 1)
    )


def test_failed_history_refetch_keeps_the_stored_history(
    db, fake_naver, sessions, market, calendar
):
    split = fake_naver.add(Listed("005930", "삼성전자", bars=steady_bars(sessions, 50_000)))
    store_bars(db, [split], PREVIOUS)
    split.bars = [(d, *(str(int(p) // 2) for p in rest[:4]), rest[4]) for d, *rest in split.bars]
    before = db.execute("SELECT * FROM bars WHERE code = '005930'").fetchall()
    fake_naver.script(
        "/sise.nhn",
        "005930",
        Reply(body=chart_xml("005930", "삼성전자", split.bars)),  # the day's fetch
        Reply(body=b'<protocol><chartdata symbol="005930">'),  # the history: truncated
    )
    report = run(db, fake_naver, [DAY], calendar)
    day = report.dates[0]
    assert "truncated" in day.corporate_action_failures["005930"] and day.bars == 60
    assert db.execute("SELECT * FROM bars WHERE code = '005930'").fetchall() == before
    kinds = [r[0] for r in db.execute("SELECT kind FROM sync_events WHERE code = '005930'")]
    assert kinds == ["corporate_action_failed"]


def test_too_many_disagreements_fail_the_gate(db, fake_naver, market, calendar):
    for stock in market[:3]:
        stock.bars = [(d, *(str(int(p) // 2) for p in r[:4]), r[4]) for d, *r in stock.bars]
    before = snapshot(db)
    settings = DataSettings(corporate_action_max=2)
    with pytest.raises(SyncGateFailed, match=r"3 of 60 tickers disagree .* \(at most 2\)"):
        run(db, fake_naver, [DAY], calendar, settings=settings)
    assert snapshot(db) == before


def test_failing_tickers_count_against_coverage(db, fake_naver, market, calendar):
    for stock in market[:4]:
        fake_naver.script("/sise.nhn", stock.code, *[Reply(503, b"busy")] * 2)
    before = snapshot(db)
    with pytest.raises(SyncGateFailed) as failed:
        run(db, fake_naver, [DAY], calendar, max_attempts=2)
    assert "coverage 56 of 60 tickers with bars on 2025-11-27 (93.3 %) < 95 %" in str(failed.value)
    assert "4 tickers got no row from the source (e.g. 100000: naver: GET 127.0.0.1" in str(
        failed.value
    )
    assert "HTTP 503" in str(failed.value) and snapshot(db) == before
    # three failures are within the threshold: 57 of 60 = 95.0 %
    for stock in market[:3]:
        fake_naver.script("/sise.nhn", stock.code, *[Reply(503, b"busy")] * 2)
    assert run(db, fake_naver, [DAY], calendar, max_attempts=2).dates[0].bars == 57


def test_a_block_writes_nothing_and_the_next_run_is_refused(db, fake_naver, market, calendar):
    fake_naver.script(
        "/sise.nhn", market[10].code, Reply(body=BLOCK_PAGE, content_type="text/html")
    )
    before = snapshot(db)
    with pytest.raises(SourceBlocked) as blocked:
        run(db, fake_naver, [DAY], calendar)
    assert blocked.value.exit_code == 3
    assert snapshot(db) == before
    state = breaker_state(db, "naver")
    assert state.blocked_until.isoformat() == "2025-11-29T18:00:00+09:00"
    sent = len(fake_naver.log)
    with pytest.raises(SourceBlocked) as refused:
        run(db, fake_naver, [DAY], calendar)
    assert len(fake_naver.log) == sent
    assert "`scanctl data sync --source naver --reset-breaker` reopens it now" in str(refused.value)
    reset_breaker(db, "naver")
    assert run(db, fake_naver, [DAY], calendar).dates[0].bars == 60


def test_a_range_writes_each_date_and_stops_at_a_failed_one(
    db, fake_naver, sessions, calendar, stderr_logs
):
    stocks = build_market(fake_naver, sessions, n_kospi=15, n_kosdaq=5)
    store_bars(db, stocks, dt.date(2025, 11, 25))
    stocks[0].bars[-1] = (compact(DAY), "100", "90", "80", "95", "10")  # high < open on the 28th
    days = resolve_dates(calendar, DAY, dt.date(2025, 11, 26))
    assert days == [dt.date(2025, 11, 26), PREVIOUS, DAY]
    with pytest.raises(SyncGateFailed) as failed:
        run(db, fake_naver, days, calendar)
    message = str(failed.value)
    assert "ohlc: 1 rows with high < max(open, close) or low > min(open, close)" in message
    assert message.endswith("; already written: 2025-11-26, 2025-11-27")
    assert [d.date for d in failed.value.report.dates] == ["2025-11-26", "2025-11-27"]
    written = db.execute("SELECT date, count(*) FROM bars WHERE date > '2025-11-25' GROUP BY date")
    assert written.fetchall() == [("2025-11-26", 20), ("2025-11-27", 20)]
    charts = [q for path, q in fake_naver.log if path == "/sise.nhn" and q["symbol"] != "KOSPI"]
    assert len([q for q in charts if q["symbol"] != "KOSDAQ"]) == 20  # each ticker asked once
    assert "sync gate failed" in stderr_logs()
    # allowing one bad row writes the date without it
    report = run(db, fake_naver, [DAY], calendar, settings=DataSettings(invalid_max=1))
    assert report.dates[0].bars == 19 and report.dates[0].dropped_invalid == 1


def test_flags_naver_cannot_tell_are_kept(db, fake_naver, market, calendar):
    code = market[0].code
    with write_transaction(db):
        upsert_tickers(db, [TickerRow(code, "옛이름", "KOSPI", "stock", managed=True)])
    run(db, fake_naver, [DAY], calendar)
    row = db.execute("SELECT name, managed FROM tickers WHERE code = ?", [code]).fetchone()
    assert row == (market[0].name, 1)


def test_run_sync_and_sync_for_scan_use_the_configuration(db, fake_naver, market):
    config = naver_config(fake_naver)
    assert sync_for_scan(db, config, DAY).dates[0].bars == 60
    assert run_sync(db, config, [DAY], source="naver").dates[0].bars == 60


def test_resolve_dates_defaults_to_the_last_session(calendar, monkeypatch):
    now = dt.datetime(2025, 11, 29, 10, 0)  # a Saturday
    assert resolve_dates(calendar, now=now) == [DAY]
    with pytest.raises(BadInput, match="--from 2025-11-28 is after --date 2025-11-27"):
        resolve_dates(calendar, PREVIOUS, DAY)


# ---- each gate on both sides, through `sync`, with an in-process provider --------------------


class ListProvider:
    """A provider that returns fixed rows (no HTTP): the gates are the subject here."""

    name = "fake"
    ticker_fields = frozenset({"name", "market", "security_type", "managed", "halted"})

    def __init__(self, codes: Sequence[str], rows: list, previous: dict | None = None) -> None:
        self.codes, self.rows, self.previous = list(codes), rows, previous or {}

    def fetch_tickers(self) -> list[TickerRow]:
        return [TickerRow(code, f"종목{code}", "KOSDAQ", "stock") for code in self.codes]

    def fetch_days(self, days, codes, progress=None) -> list[DayBars]:
        return [DayBars(days[0], self.rows, self.previous)]

    def fetch_bars(self, day, codes, progress=None) -> DayBars:
        return self.fetch_days([day], codes)[0]

    def fetch_history(self, code, start, end):
        raise AssertionError("no history expected")

    def fetch_index(self, index_code, start, end):
        return []

    def close(self) -> None:
        pass


CODES = [f"{n:05d}A" for n in range(1_000)]  # alphanumeric codes throughout


def row(code: str, day: str = "2025-11-28", close: int = 1_000):
    return (day, code, close, close + 10, close - 10, close, 500, None)


@pytest.fixture
def thousand(db):
    with write_transaction(db):
        upsert_bars(db, [row(code, "2025-11-27") for code in CODES], "fake")
    return db


@pytest.mark.parametrize(("answered", "passed"), [(950, True), (949, False)])
def test_coverage_gate_through_sync(thousand, calendar, answered, passed):
    provider = ListProvider(CODES, [row(code) for code in CODES[:answered]])
    if passed:
        assert sync(thousand, provider, [DAY], calendar).dates[0].bars == 950
        return
    with pytest.raises(SyncGateFailed, match=r"coverage 949 of 1,000 tickers .* \(94.9 %\) < 95 %"):
        sync(thousand, provider, [DAY], calendar)
    assert thousand.execute("SELECT count(*) FROM bars WHERE date = '2025-11-28'").fetchone() == (
        0,
    )
    assert thousand.execute("SELECT count(*) FROM tickers").fetchone() == (0,)


@pytest.mark.parametrize(("on_day", "passed"), [(950, True), (949, False)])
def test_stamped_gate_through_sync(thousand, calendar, on_day, passed):
    rows = [row(code) for code in CODES[:on_day]] + [row(c, "2025-11-27") for c in CODES[on_day:]]
    settings = DataSettings(coverage_min=0.5)
    provider = ListProvider(CODES, rows)
    if passed:
        assert sync(thousand, provider, [DAY], calendar, settings=settings).dates[0].bars == 950
        return
    with pytest.raises(SyncGateFailed, match=r"949 of 1,000 rows are dated 2025-11-28 \(94.9 %\)"):
        sync(thousand, provider, [DAY], calendar, settings=settings)
    assert thousand.execute("SELECT count(*) FROM bars WHERE date = '2025-11-28'").fetchone() == (
        0,
    )


@pytest.mark.parametrize(
    ("bad", "gate"),
    [
        (("2025-11-28", CODES[0], 0, 10, 0, 5, 500, None), "price: 1 rows with a price ≤ 0"),
        (("2025-11-28", CODES[0], 100, 90, 80, 95, 500, None), "ohlc: 1 rows"),
        (("2025-11-28", CODES[0], 100, 110, 90, 95, -1, None), "volume: 1 rows with a negative"),
    ],
)
def test_row_gates_through_sync_both_sides(thousand, calendar, bad, gate):
    rows = [bad] + [row(code) for code in CODES[1:]]
    with pytest.raises(SyncGateFailed, match=gate):
        sync(thousand, ListProvider(CODES, rows), [DAY], calendar)
    assert thousand.execute("SELECT count(*) FROM bars WHERE date = '2025-11-28'").fetchone() == (
        0,
    )
    report = sync(
        thousand, ListProvider(CODES, rows), [DAY], calendar, settings=DataSettings(invalid_max=1)
    )
    assert report.dates[0].bars == 999 and report.dates[0].dropped_invalid == 1
    bad_row = "SELECT count(*) FROM bars WHERE code = ? AND date = '2025-11-28'"
    assert thousand.execute(bad_row, [CODES[0]]).fetchone() == (0,)  # the bad row is not written


@pytest.mark.parametrize(("source_close", "found"), [(1_005, 0), (995, 0), (1_006, 1), (994, 1)])
def test_corporate_action_tolerance_both_sides(thousand, calendar, source_close, found):
    # stored close 1,000; tolerance 0.5 %: 1,005 and 995 agree, 1,006 and 994 do not
    previous = {CODES[0]: PreviousClose(None, source_close)}
    provider = ListProvider(CODES, [row(code) for code in CODES], previous)
    provider.fetch_history = lambda code, start, end: [
        row(code, d.isoformat()) for d in (dt.date(2025, 11, 27), DAY)
    ]
    report = sync(thousand, provider, [DAY], calendar)
    assert len(report.dates[0].corporate_actions) == found
