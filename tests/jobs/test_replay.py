"""A replayed year (issue 11 item 9): the documented cron line, driven day after day with a
pinned clock against a loopback Naver serving a deterministic market as it stood on each day.

The weekdays replayed, all in 2024-01-01 … 2026-12-31, come from the KRX calendar: every
late-close day and its neighbours, every weekday closure with the weekday before and after it,
and ``RANDOM_DAYS`` more drawn with a fixed seed; on one of those the provider is down for the
whole day, and the next session is replayed too. Contiguous weekdays form a block; the blocks,
in date order, are dealt into ``CHUNKS`` tests (so pytest-xdist spreads them), each walking its
own store forward in time. Before a block the store holds every bar before it and results for
the sessions its first catch-up window reaches, as the days before it would have left them. For
each weekday D the test runs, in process, ``scan --version all --sync --catch-up`` at D 15:42 KST
(crontab.example) and ``status --json`` at D 18:00, and asserts the unattended guarantees
(README "Running unattended")."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import random
import sqlite3
import time

import pytest

from scanctl.market.calendar import KrxCalendar
from scanctl.providers.demo import generate_demo_market
from scanctl.store.bars import upsert_bars, upsert_index_bars, upsert_tickers
from scanctl.store.db import open_db, write_transaction
from tests.conftest import run_cli
from tests.jobs.test_crontab import cron_command
from tests.providers.naver_server import (
    JSON_TYPE,
    FakeNaver,
    Listed,
    Reply,
    chart_xml,
    listing_json,
)

VERSIONS = ("v2", "v3")
FIRST_DAY, LAST_DAY = dt.date(2024, 1, 1), dt.date(2026, 12, 31)
FIRST_SESSION = dt.date(2022, 7, 1)  # the market starts here: lookback before the first day
CATCH_UP = 5  # [scan] catch_up_sessions, default
RANDOM_DAYS = 60
SEED = 20261202
CHUNKS = 6


def weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    days = (first + dt.timedelta(n) for n in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


def late_close(calendar: KrxCalendar, day: dt.date) -> bool:
    checked = calendar.check(day)
    return checked.is_session and checked.close.strftime("%H:%M") != "15:30"


class Plan:
    """What the replay walks: the days, the provider's down day and the blocks, derived once
    from the calendar and the seed."""

    def __init__(self, calendar: KrxCalendar) -> None:
        every = weekdays(FIRST_DAY, LAST_DAY)
        index = {day: n for n, day in enumerate(every)}

        def around(day: dt.date) -> set[dt.date]:
            n = index[day]
            return set(every[max(n - 1, 0) : n + 2])

        self.late = [day for day in every if late_close(calendar, day)]
        self.closed = [day for day in every if not calendar.check(day).is_session]
        special: set[dt.date] = set()
        for day in self.late + self.closed:
            special |= around(day)
        # random regular sessions away from the special days; the first is the down day,
        # replayed with the session after it (whose catch-up heals it)
        rng = random.Random(SEED)
        ordinary = [
            day
            for n, day in enumerate(every[:-1])
            if not special & around(day) and calendar.next_session(day) == every[n + 1]
        ]
        drawn = sorted(rng.sample(ordinary, RANDOM_DAYS))
        self.down = drawn[rng.randrange(RANDOM_DAYS)]
        self.after_down = calendar.next_session(self.down)
        self.days = sorted(special | set(drawn) | {self.after_down})
        self.random = drawn
        blocks: list[list[dt.date]] = []
        for day in self.days:
            if blocks and index[day] == index[blocks[-1][-1]] + 1:
                blocks[-1].append(day)
            else:
                blocks.append([day])
        self.blocks = blocks

    def chunk(self, n: int) -> list[list[dt.date]]:
        """The ``n``-th of ``CHUNKS`` runs of consecutive blocks, of about equal weekdays."""
        share = len(self.days) / CHUNKS
        chunks: list[list[list[dt.date]]] = [[] for _ in range(CHUNKS)]
        done = 0
        for block in self.blocks:
            chunks[min(int(done / share), CHUNKS - 1)].append(block)
            done += len(block)
        return chunks[n]


class DatedNaver(FakeNaver):
    """The fake Naver serving only the bars dated on or before ``until`` (what the real one has
    at that moment), listing the stocks with such a bar; ``down`` answers 503 to everything."""

    def __init__(self) -> None:
        super().__init__()
        self.until = "00000000"
        self.down = False
        self.dates: dict[str, list[str]] = {}

    def add_dated(self, stock: Listed) -> None:
        self.add(stock)
        self.dates[stock.code] = [bar[0] for bar in stock.bars]

    def _upto(self, rows: list, dates: list[str]) -> list:
        return rows[: bisect.bisect_right(dates, self.until)]

    def reply_for(self, path: str, query: dict[str, str]) -> Reply:
        if self.down:
            return Reply(503, b"service unavailable", content_type="text/plain")
        if path == "/sise.nhn":
            symbol, count = query.get("symbol", ""), int(query.get("count", "10"))
            if symbol in self.indexes:
                rows = self.indexes[symbol]
                items = self._upto(rows, [row[0] for row in rows])[-count:]
                return Reply(body=chart_xml(symbol, symbol, items, precision=2))
            stock = self.stocks.get(symbol)
            if stock is None:
                return Reply(body=chart_xml(symbol, "", []))
            items = self._upto(stock.bars, self.dates[symbol])[-count:]
            return Reply(body=chart_xml(symbol, stock.name, items))
        if path.startswith("/api/stocks/marketValue/"):
            market = path.rsplit("/", 1)[-1]
            page, size = int(query.get("page", "1")), int(query.get("pageSize", "20"))
            listed = []
            for stock in self.stocks.values():
                bars = self._upto(stock.bars, self.dates[stock.code])
                if stock.market == market and bars:
                    listed.append(Listed(stock.code, stock.name, market, stock.end_type, bars=bars))
            chunk = listed[(page - 1) * size : page * size]
            return Reply(body=listing_json(chunk, len(listed), page, size), content_type=JSON_TYPE)
        return super().reply_for(path, query)


def compact(iso: str) -> str:
    return iso.replace("-", "")


@pytest.fixture(scope="module")
def market():
    calendar = KrxCalendar()
    sessions = calendar.sessions_in_range(FIRST_SESSION, LAST_DAY)
    return calendar, Plan(calendar), generate_demo_market(sessions, n_tickers=40, seed=11)


def serve(market) -> DatedNaver:
    fake = DatedNaver()
    bars: dict[str, list] = {}
    for day, code, *values in market.bar_rows():
        bars.setdefault(code, []).append((compact(day), *map(str, values[:5])))
    for ticker in market.tickers:
        end_type = ticker.security_type if ticker.security_type in ("etf", "etn") else "stock"
        board = ticker.market if ticker.market in ("KOSPI", "KOSDAQ") else "KOSPI"
        fake.add_dated(Listed(ticker.code, ticker.name, board, end_type, bars=bars[ticker.code]))
    for day, index, *values in market.index_bar_rows():
        fake.indexes.setdefault(index, []).append(
            (compact(day), *(f"{v:.2f}" for v in values[:4]), str(int(values[4] or 0)))
        )
    return fake


def query(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_plan_covers_what_the_issue_names(market):
    """Every late-close day, every weekday next to a closure, the random days and the down day
    with the session after it are replayed, each in exactly one chunk."""
    calendar, plan, _ = market
    assert plan.late == [dt.date(2024, 11, 14), dt.date(2025, 11, 13), dt.date(2026, 11, 19)]
    days = set(plan.days)
    for day in plan.closed:
        before = max(d for d in weekdays(day - dt.timedelta(7), day) if d < day)
        after = min(d for d in weekdays(day, day + dt.timedelta(7)) if d > day)
        assert {day, before, after} <= days | {dt.date(2023, 12, 29), dt.date(2027, 1, 1)}
    assert len(plan.random) == RANDOM_DAYS and set(plan.random) <= days
    assert plan.down in plan.random and plan.after_down in days
    chunked = [day for n in range(CHUNKS) for block in plan.chunk(n) for day in block]
    assert chunked == plan.days  # each day once, in date order
    assert all(plan.chunk(n) for n in range(CHUNKS))


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_replayed_days_deliver_every_session_once(chunk, market, tmp_path, server, monkeypatch):
    started = time.perf_counter()
    calendar, plan, demo = market
    scan_part = cron_command().split(";")[0]  # then the line publishes the page (`report`)
    assert scan_part.split()[1:] == ["scan", "--version", "all", "--sync", "--catch-up",
                                     ">>", "/var/log/scanctl/scan.log", "2>&1"]  # fmt: skip
    blocks = plan.chunk(chunk)
    down_day, after_down = plan.down, plan.after_down

    server.expect_request("/hook").respond_with_data("{}", content_type="application/json")
    fake = serve(demo)
    config = tmp_path / "config.toml"
    db_path = tmp_path / "scanctl.db"
    seeded = [0]  # demo.sessions[:seeded[0]] are in the store

    def seed(before: dt.date) -> None:
        """Every bar, ticker and index bar dated before ``before``, added to what the store
        holds (the blocks walk forward in time)."""
        stop = bisect.bisect_left(demo.sessions, before)
        first = demo.sessions[seeded[0]].isoformat()
        db = open_db(db_path)
        with write_transaction(db):
            upsert_tickers(db, demo.tickers)
            upsert_bars(db, list(demo.bar_rows(seeded[0], stop)), "naver")
            upsert_index_bars(
                db, [r for r in demo.index_rows if first <= r[0] < before.isoformat()]
            )
        db.conn.close()
        seeded[0] = max(seeded[0], stop)

    def at(day: dt.date, clock: str) -> None:
        monkeypatch.setenv("SCANCTL_NOW", f"{day.isoformat()}T{clock}")
        fake.until = compact(day.isoformat())

    def daily(day: dt.date) -> list[dict]:
        posts = [json.loads(req.data) for req, _ in server.log if req.path == "/hook"]
        return [p for p in posts if p["kind"] == "daily" and p["date"] == day.isoformat()]

    figures = {"sessions": 0, "holidays": 0, "messages": 0, "catch_ups": 0, "late_closes": 0}
    with fake:
        config.write_text(
            f'[data.naver]\nbase_url = "{fake.url}"\nlisting_url = "{fake.url}"\n'
            "rate_per_s = 1000\nbackoff_s = 0\n"
            "[notify]\nbackoff_s = 0\nmin_matched = 0\n"  # a message every session, picks or not
            '[notify.channels.hook]\ntype = "webhook"\n'
            f'webhook_url = "{server.url_for("/hook")}"\ndaily = true\n'
        )
        head = ("--db", str(db_path), "--config", str(config))
        for days in blocks:
            # the store as the days before the block left it: bars, and results for the
            # sessions the first run's catch-up window reaches
            seed(days[0])
            window = calendar.sessions_in_range(days[0] - dt.timedelta(30), days[0])
            window = [s for s in window if s < days[0]][-CATCH_UP:]
            at(days[0], "07:00:00")
            filled = run_cli(*head, "backfill", "--from", window[0].isoformat(),
                             "--to", window[-1].isoformat(), "--version", "all")  # fmt: skip
            assert filled.returncode == 0, filled.stderr
            for day in days:
                session = calendar.check(day).is_session
                posts_before = len(server.log)
                fake.down = day == down_day
                at(day, "15:42:00")
                result = run_cli(*head, "scan", "--version", "all", "--sync", "--catch-up",
                                 "--json")  # fmt: skip
                fake.down = False
                doc = json.loads(result.stdout) if result.stdout.strip() else {}
                runs = query(
                    db_path,
                    "SELECT scanner_version, status, trigger FROM scan_runs WHERE date = ?",
                    day.isoformat(),
                )
                at(day, "18:00:00")
                state = run_cli(*head, "status", "--json")
                checks = {c["name"]: c for c in json.loads(state.stdout)["checks"]}
                where = f"{day}: scan {result.returncode} {result.stderr[-800:]}"

                if not session:
                    figures["holidays"] += 1
                    assert result.returncode == 0, where
                    assert doc["status"] == "skipped", where
                    # a run recorded as skipped, no results, no picks, no message
                    assert sorted(runs) == [(v, "skipped", "cron") for v in VERSIONS], where
                    picks = query(db_path, "SELECT count(*) FROM scan_rank WHERE date = ?",
                                  day.isoformat())  # fmt: skip
                    assert picks == [(0,)] and len(server.log) == posts_before, where
                    assert state.returncode == 0, checks
                    continue
                if day == down_day:
                    assert result.returncode == 3, where
                    # recorded as failed runs, no picks, no daily message
                    assert sorted(runs) == [(v, "failed", "cron") for v in VERSIONS], where
                    picks = query(db_path, "SELECT count(*) FROM scan_rank WHERE date = ?",
                                  day.isoformat())  # fmt: skip
                    assert picks == [(0,)] and daily(day) == [], where
                    assert state.returncode == 1
                    assert not checks["results"]["ok"] and not checks["data"]["ok"], checks
                    assert {n for n, c in checks.items() if not c["ok"]} == {"results", "data"}
                    continue
                figures["sessions"] += 1
                assert result.returncode == 0, where
                assert doc["date"] == day.isoformat() and doc["status"] == "ok", where
                expected_catch_up = [down_day.isoformat()] if day == after_down else []
                assert doc["caught_up"] == expected_catch_up, where
                figures["catch_ups"] += len(doc["caught_up"])
                assert sorted(runs) == [(v, "ok", "cron") for v in VERSIONS], where
                sent = daily(day)
                assert len(sent) == 1, (where, doc.get("notification"), len(server.log))
                (message,) = sent
                figures["messages"] += 1
                assert message["data"].get("caught_up", []) == expected_catch_up, message
                started_at = query(
                    db_path,
                    "SELECT min(started_at) FROM scan_runs WHERE date = ? AND trigger = 'cron'",
                    day.isoformat(),
                )[0][0]
                if day in plan.late:  # the 15:42 run waited for 16:30 + 10 minutes
                    figures["late_closes"] += 1
                    assert calendar.check(day).close.strftime("%H:%M") == "16:30"
                    assert started_at >= f"{day.isoformat()}T16:40", started_at
                else:
                    assert started_at < f"{day.isoformat()}T15:43", started_at
                if day == after_down:
                    healed = query(
                        db_path,
                        "SELECT scanner_version, status, trigger FROM scan_runs WHERE date = ?",
                        down_day.isoformat(),
                    )
                    # the down day's failed runs stay in the history; its results now exist
                    assert sorted(healed) == sorted(
                        [(v, "failed", "cron") for v in VERSIONS]
                        + [(v, "ok", "catchup") for v in VERSIONS]
                    )
                    bars = query(db_path, "SELECT count(*) FROM bars WHERE date = ?",
                                 down_day.isoformat())  # fmt: skip
                    assert bars[0][0] > 0
                    assert daily(down_day) == []  # named by this day's message instead
                assert state.returncode == 0, {n: c for n, c in checks.items() if not c["ok"]}
                assert all(c["ok"] for c in checks.values())

    replayed = [day for block in blocks for day in block]
    figures["runtime_s"] = round(time.perf_counter() - started, 1)
    every_daily = [
        json.loads(req.data)
        for req, _ in server.log
        if req.path == "/hook" and json.loads(req.data)["kind"] == "daily"
    ]
    print(f"\nreplay chunk {chunk}: {len(blocks)} blocks, {len(replayed)} weekdays"
          f" {replayed[0]} … {replayed[-1]}, provider down {down_day}: {figures}")  # fmt: skip
    n_sessions = sum(calendar.check(day).is_session for day in replayed)
    down = int(down_day in replayed)
    assert figures["sessions"] == n_sessions - down  # every session but the down day
    assert figures["holidays"] == len(replayed) - n_sessions
    assert figures["messages"] == len(every_daily) == figures["sessions"]
    assert figures["catch_ups"] == down
    assert figures["late_closes"] == len(set(plan.late) & set(replayed))
