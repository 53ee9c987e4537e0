"""The offline demo market: determinism, the ticker mix, bar validity, the market tail, the
store round trip. Expected values come from independent references (tick table, price band,
EMAs), never from the generator's own helpers."""

from __future__ import annotations

import datetime as dt
import re
import time

import numpy as np
import pandas as pd
import pytest

from scanctl.errors import BadInput
from scanctl.providers.demo import (
    DemoMarket,
    generate_demo_market,
    open_demo_market,
    write_demo_market,
)
from scanctl.store.db import open_db
from scanctl.store.panel import read_panel

LAST = dt.date(2025, 11, 28)


def weekdays(count: int) -> list[dt.date]:
    return [day.date() for day in pd.bdate_range(end=LAST, periods=count)]


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    return generate_demo_market(weekdays(150), n_tickers=120, seed=7)


def tick_of(price: int) -> int:
    """The KRX tick table of 2023, written out."""
    if price < 2_000:
        return 1
    if price < 5_000:
        return 5
    if price < 20_000:
        return 10
    if price < 50_000:
        return 50
    if price < 200_000:
        return 100
    if price < 500_000:
        return 500
    return 1_000


def by_code(market: DemoMarket) -> dict[str, int]:
    return {ticker.code: col for col, ticker in enumerate(market.tickers)}


def index_closes(market: DemoMarket, code: str) -> np.ndarray:
    return np.array([row[5] for row in market.index_rows if row[1] == code])


def test_same_seed_same_market_other_seed_other_market(market: DemoMarket) -> None:
    again = generate_demo_market(weekdays(150), n_tickers=120, seed=7)
    for name in ("open", "high", "low", "close", "volume", "value", "has_bar"):
        assert np.array_equal(getattr(again, name), getattr(market, name)), name
    assert again.tickers == market.tickers
    assert again.index_rows == market.index_rows
    assert list(again.bar_rows()) == list(market.bar_rows())
    other = generate_demo_market(weekdays(150), n_tickers=120, seed=8)
    assert not np.array_equal(other.close, market.close)
    assert other.index_rows != market.index_rows


def test_arrays_are_read_only_int64(market: DemoMarket) -> None:
    assert market.close.dtype == np.int64 and market.close.shape == (150, 120)
    with pytest.raises(ValueError):
        market.close[0, 0] = 1


def test_ticker_mix(market: DemoMarket) -> None:
    tickers = {ticker.code: ticker for ticker in market.tickers}
    assert len(tickers) == 120
    assert all(re.fullmatch(r"[0-9A-Z]{6}", code) for code in tickers)
    assert any(re.search(r"[A-Z]", code) for code in tickers)
    kodex200, kosdaq150 = tickers["069500"], tickers["229200"]
    assert (kodex200.name, kodex200.market, kodex200.security_type) == ("KODEX 200", "KOSPI", "etf")
    assert (kosdaq150.name, kosdaq150.market, kosdaq150.security_type) == (
        "KODEX 코스닥150",
        "KOSDAQ",
        "etf",
    )
    types = {ticker.security_type for ticker in market.tickers}
    assert types == {"stock", "preferred", "etf", "etn", "spac", "reit"}
    etf_names = [t.name for t in market.tickers if t.security_type == "etf"]
    assert all(
        name.startswith(("KODEX", "TIGER", "ACE", "SOL", "RISE", "PLUS")) for name in etf_names
    )
    assert any(word in name for name in etf_names for word in ("인버스", "레버리지", "2X"))
    for ticker in market.tickers:
        if ticker.security_type == "spac":
            assert re.search(r"스팩\d+호$", ticker.name)
        if ticker.security_type == "preferred":
            common = tickers[ticker.code[:5] + "0"]
            assert ticker.code.endswith("5") and ticker.name == common.name + "우"
            assert ticker.market == common.market
    assert any(ticker.managed for ticker in market.tickers)
    assert {ticker.market for ticker in market.tickers} == {"KOSPI", "KOSDAQ"}
    assert len({ticker.name for ticker in market.tickers}) == 120


def test_halted_tickers_have_no_recent_bars(market: DemoMarket) -> None:
    halted = [col for col, ticker in enumerate(market.tickers) if ticker.halted]
    assert halted
    for col in halted:
        assert not market.has_bar[-2:, col].any()
        assert market.has_bar[:, col].any()
    # Brief halts: a gap between two bars of a ticker that is not flagged halted.
    gaps = [
        col
        for col, ticker in enumerate(market.tickers)
        if not ticker.halted
        and np.any(np.diff(market.has_bar[:, col].astype(int)) == 1)
        and market.has_bar[0, col]
    ]
    assert gaps


def test_every_bar_is_a_valid_bar(market: DemoMarket) -> None:
    has = market.has_bar
    o, h, low, c = market.open[has], market.high[has], market.low[has], market.close[has]
    assert np.all(low <= np.minimum(o, c))
    assert np.all(np.maximum(o, c) <= h)
    assert np.all(low >= 500)
    assert np.all(market.volume[has] > 0) and np.all(market.value[has] > 0)
    for name in ("open", "high", "low", "close", "volume", "value"):
        assert not getattr(market, name)[~has].any(), name
    for price in np.concatenate([o, h, low, c]).tolist():
        assert price % tick_of(price) == 0, price
    ratio = market.value[has] / (c * market.volume[has])
    assert ratio.min() > 0.8 and ratio.max() < 1.2 and abs(np.median(ratio) - 1) < 0.02


def test_closes_stay_within_the_daily_price_limit(market: DemoMarket) -> None:
    for col in range(market.close.shape[1]):
        closes = market.close[market.has_bar[:, col], col]
        prev, now = closes[:-1], closes[1:]
        assert np.all(10 * now <= 13 * prev) and np.all(10 * now >= 7 * prev), col


def test_sessions_and_index_rows(market: DemoMarket) -> None:
    days = weekdays(150)
    assert market.sessions == tuple(days) and market.sessions[-1] == LAST
    assert len(market.index_rows) == 2 * len(days)
    for code in ("KOSPI", "KOSDAQ"):
        rows = [row for row in market.index_rows if row[1] == code]
        assert [row[0] for row in rows] == [day.isoformat() for day in days]
        for _, _, o, h, low, c, volume in rows:
            assert low <= min(o, c) <= max(o, c) <= h
            assert all(round(x, 2) == x for x in (o, h, low, c)) and volume > 0
    assert list(market.index_bar_rows()) == market.index_rows


def test_short_histories_exist(market: DemoMarket) -> None:
    bars = market.has_bar.sum(axis=0)
    assert np.any((bars > 0) & (bars < 21))
    assert np.any((bars >= 21) & (bars < 60))
    for col, ticker in enumerate(market.tickers):
        first = int(np.argmax(market.has_bar[:, col]))
        if first > 0:
            assert ticker.listed_on == market.sessions[first].isoformat()
        else:
            assert ticker.listed_on <= market.sessions[0].isoformat()


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_kospi_ends_in_a_steady_moderate_uptrend(seed: int) -> None:
    market = generate_demo_market(weekdays(150), n_tickers=60, seed=seed)
    kospi = [row for row in market.index_rows if row[1] == "KOSPI"]
    closes = np.array([row[5] for row in kospi])
    assert 0.08 <= closes[-1] / closes[-81] - 1 <= 0.16
    r20 = closes[-61:] / closes[-81:-20] - 1  # every 20-session return over the last 80
    assert r20.min() >= 0.015 and r20.max() <= 0.05
    assert closes[-1] > closes[-2]
    ranges = [(row[3] - row[4]) / row[5] for row in kospi[-80:]]
    assert max(ranges) < 0.02
    # KOSPI follows the market factor: the stocks' mean daily return moves with it.
    stocks = [col for col, t in enumerate(market.tickers) if t.security_type == "stock"]
    c = market.close[:, stocks].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        moves = np.where(
            market.has_bar[1:, stocks] & market.has_bar[:-1, stocks], c[1:] / c[:-1] - 1, np.nan
        )
    assert np.corrcoef(np.nanmean(moves, axis=1), closes[1:] / closes[:-1] - 1)[0, 1] > 0.5


def test_final_session_has_trend_and_pullback_candidates(market: DemoMarket) -> None:
    full = [
        col
        for col, t in enumerate(market.tickers)
        if t.security_type == "stock" and market.has_bar[:, col].all()
    ]
    close = pd.DataFrame(market.close[:, full].astype(float))
    high = pd.DataFrame(market.high[:, full].astype(float))
    ema20 = close.ewm(span=20, adjust=False).mean().iloc[-1]
    ema60 = close.ewm(span=60, adjust=False).mean().iloc[-1]
    last, r20 = close.iloc[-1], close.iloc[-1] / close.iloc[-21] - 1
    trending = (last > ema20) & (ema20 > ema60) & r20.between(0.03, 0.30)
    assert trending.sum() >= 1
    h20 = high.iloc[-20:]
    high_age = np.array([19 - int(np.flatnonzero(h20[c] == h20[c].max())[-1]) for c in h20])
    depth = 1 - last / h20.max()
    up_bar = (last > close.iloc[-2]) & (market.close[-1, full] > market.open[-1, full])
    pulled_back = (high_age <= 9) & depth.between(0.03, 0.12) & up_bar & (ema20 > ema60)
    assert pulled_back.sum() >= 1


def test_bad_input_is_rejected() -> None:
    with pytest.raises(BadInput, match="strictly ascending"):
        generate_demo_market([])
    with pytest.raises(BadInput, match="strictly ascending"):
        generate_demo_market([LAST, LAST - dt.timedelta(days=1)])
    with pytest.raises(BadInput, match="--tickers must be 40"):
        generate_demo_market(weekdays(10), n_tickers=10)


def test_tiny_markets_are_valid() -> None:
    for count in (1, 2, 30):
        market = generate_demo_market(weekdays(count), n_tickers=40, seed=1)
        assert market.close.shape == (count, 40)
        assert market.has_bar[-1].sum() > 30


def test_written_store_matches_the_market(db, market: DemoMarket) -> None:
    counts = write_demo_market(db, market)
    n_bars = int(market.has_bar.sum())
    assert counts == {"tickers": 120, "bars": n_bars, "index_bars": 300}
    assert db.execute("SELECT count(*) FROM tickers").fetchone()[0] == 120
    assert db.execute("SELECT count(*), min(source), max(source) FROM bars").fetchone() == (
        n_bars,
        "demo",
        "demo",
    )
    assert db.execute("SELECT count(DISTINCT index_code), count(*) FROM index_bars").fetchone() == (
        2,
        300,
    )
    row = db.execute("SELECT name, market, security_type FROM tickers WHERE code = '069500'")
    assert row.fetchone() == ("KODEX 200", "KOSPI", "etf")
    panel = read_panel(db, LAST, 150)
    assert panel.codes.tolist() == [ticker.code for ticker in market.tickers]
    assert np.array_equal(panel.has_bar, market.has_bar)
    assert np.array_equal(panel.close[market.has_bar], market.close[market.has_bar])
    assert write_demo_market(db, market) == counts  # rewriting replaces, never duplicates
    assert db.execute("SELECT count(*) FROM bars").fetchone()[0] == n_bars


def test_default_size_market(tmp_path) -> None:
    started = time.perf_counter()
    market = generate_demo_market(weekdays(400))
    generated = time.perf_counter()
    db = open_db(tmp_path / "demo.db")
    counts = write_demo_market(db, market)
    written = time.perf_counter()
    markets = [ticker.market for ticker in market.tickers]
    assert len(markets) == 2700 and 900 <= markets.count("KOSPI") <= 1000
    assert counts["bars"] == int(market.has_bar.sum()) > 1_000_000
    assert written > generated > started
    db.conn.close()


def test_the_walk_block_size_changes_nothing(market: DemoMarket) -> None:
    # 7-session blocks: the 80-session tail, the patterns and the last bar straddle blocks.
    stream = open_demo_market(weekdays(150), n_tickers=120, seed=7, block_sessions=7)
    blocks = list(stream.blocks())
    assert [block.start for block in blocks] == list(range(0, 150, 7))
    for name in ("open", "high", "low", "close", "volume", "value", "has_bar"):
        walked = np.concatenate([getattr(block, name) for block in blocks])
        assert np.array_equal(walked, getattr(market, name)), name
    assert stream.tickers == market.tickers and stream.index_rows == market.index_rows


def test_a_stream_writes_what_the_market_writes(tmp_path, market: DemoMarket) -> None:
    stream = open_demo_market(weekdays(150), n_tickers=120, seed=7, block_sessions=20)
    stores = []
    for name, source in (("held", market), ("streamed", stream)):
        db = open_db(tmp_path / f"{name}.db")
        write_demo_market(db, source)
        stores.append(
            [
                db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in ("bars", "bar_blocks", "index_bars")
            ]
        )
        db.conn.close()
    assert stores[0] == stores[1]
    assert len(stores[0][1]) == 150  # a block per session
