"""Market condition of ENGINES.md §3 and the `[market]` params.

Rules are checked at both sides of every threshold on scalars (exact boundaries where the rule
reads its input directly) and through hand-built panels and index series. Expected values are
written by hand or computed here with plain Python (lists, `statistics`), never with the code
under test.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics

import numpy as np
import pytest

from scanctl.errors import ConfigError
from scanctl.market.condition import MarketCondition, market_condition
from scanctl.market.params import MarketParams, UniverseParams
from scanctl.market.regime_rules import (
    KrFeatures,
    divergence_of,
    effective_return_of,
    kr_features_of,
    kr_trend_regime_of,
    kr_trend_score_of,
    longterm_regime_of,
    midterm_hysteresis,
    midterm_step,
    risk_label_of,
    sentiment_of,
    short_term_risk_components,
    thresholds_for,
    us_trend_score_of,
    volume_trend_of,
)
from scanctl.market.universe import build_universe
from scanctl.market.window import evaluation_window
from scanctl.store.panel import Panel
from scanctl.store.tickers import IndexSeries, TickerMaster

DAY = dt.date(2024, 6, 28)
END = np.datetime64(DAY, "D")
ETFS = ("069500", "229200")


def index(code: str, closes, highs=None, lows=None, last: dt.date = DAY) -> IndexSeries:
    """An index series of consecutive calendar days ending on ``last``."""
    closes = np.array(closes, dtype=float)
    dates = np.datetime64(last, "D") - np.arange(len(closes))[::-1]
    highs = closes if highs is None else np.array(highs, dtype=float)
    lows = closes if lows is None else np.array(lows, dtype=float)
    return IndexSeries(code, dates, closes.copy(), highs, lows, closes)


def right_aligned(series: dict[str, list], codes: list[str], length: int, default: float):
    out = np.full((length, len(codes)), np.nan)
    for col, code in enumerate(codes):
        values = [np.nan if x is None else float(x) for x in series.get(code, [])]
        if values:
            out[length - len(values) :, col] = values
    return out


def make_panel(closes: dict[str, list], highs=None, lows=None, volumes=None) -> Panel:
    """Closes per code (oldest first, right-aligned on DAY; None = no bar); highs, lows and
    volumes optional per code (same alignment), default close / close / 1000."""
    length = max(len(series) for series in closes.values())
    codes = sorted(closes)
    close = right_aligned(closes, codes, length, np.nan)
    bar = ~np.isnan(close)

    def field(given, default):
        values = right_aligned(given or {}, codes, length, np.nan)
        return np.where(bar & np.isnan(values), default, np.where(bar, values, np.nan))

    high, low, volume = field(highs, close), field(lows, close), field(volumes, 1000.0)
    return Panel(
        dates=END - np.arange(length)[::-1],
        codes=np.array(codes, dtype="U6"),
        open=close.copy(),
        high=high,
        low=low,
        close=close,
        volume=volume,
        value=close * volume,
    )


def condition(
    closes: dict[str, list],
    indexes: dict[str, IndexSeries] | None = None,
    params: MarketParams | None = None,
    **fields,
) -> MarketCondition:
    """Run §3 on a hand-built market: every non-ETF code is a KOSPI stock in the base universe
    (limit 0); the ETFs are in the panel but not in the universe."""
    panel = make_panel({"000010": [50, 50]} | closes, **fields)
    codes = [str(code) for code in panel.codes]
    master = TickerMaster(
        codes=panel.codes,
        names=np.array(codes, dtype=object),
        markets=np.array(["KOSPI"] * len(codes), dtype=object),
        security_types=np.array(["etf" if c in ETFS else "stock" for c in codes], dtype=object),
        managed=np.zeros(len(codes), dtype=bool),
        halted=np.zeros(len(codes), dtype=bool),
    )
    window = evaluation_window(panel, DAY, 220)
    universe = build_universe(window, master, UniverseParams(kospi_limit=0))
    return market_condition(
        panel, window, master, universe, indexes or {}, DAY, params or MarketParams()
    )


FLAT = [100.0] * 70


def kr_indexes(kospi=FLAT, kosdaq=FLAT, **more) -> dict[str, IndexSeries]:
    return {"KOSPI": index("KOSPI", kospi), "KOSDAQ": index("KOSDAQ", kosdaq), **more}


# --- §3.1 series and status ----------------------------------------------------------------------


def test_indexes_are_preferred_and_the_etf_is_the_reference():
    result = condition({"069500": FLAT, "229200": FLAT}, kr_indexes())
    assert result.status == "ok" and result.reason is None
    assert (result.kospi_proxy, result.kosdaq_proxy, result.etf_reference) == (
        "KOSPI",
        "KOSDAQ",
        "069500",
    )


def test_short_or_stale_indexes_fall_back_to_the_etfs():
    indexes = {
        "KOSPI": index("KOSPI", [100.0] * 64),  # 64 bars: not present
        "KOSDAQ": index("KOSDAQ", FLAT, last=DAY - dt.timedelta(days=1)),  # no bar on D
    }
    result = condition({"069500": [100.0] * 65, "229200": FLAT}, indexes)
    assert result.status == "ok"
    assert (result.kospi_proxy, result.kosdaq_proxy) == ("069500", "229200")


@pytest.mark.parametrize(
    ("closes", "indexes", "reason", "series"),
    [
        # 069500 has 64 bars (still the E reference: a bar on D and a previous bar).
        ({"069500": [100.0] * 64, "229200": FLAT}, {}, "kospi_proxy", (None, "229200", "069500")),
        # 069500 has 70 bars but none on D.
        ({"069500": FLAT + [None], "229200": FLAT}, {}, "kospi_proxy", (None, "229200", None)),
        ({"069500": FLAT}, {}, "kosdaq_proxy", ("069500", None, "069500")),
        ({"229200": FLAT + [None]}, kr_indexes(kosdaq=[100.0] * 64), "kosdaq_proxy", None),
        ({}, {}, "kospi_proxy", (None, None, None)),  # both missing: P is checked first
    ],
)
def test_missing_proxy_gives_unknown(closes, indexes, reason, series):
    result = condition(closes, indexes)
    assert (result.status, result.reason) == ("unknown", f"{reason}_missing")
    if series is not None:
        assert (result.kospi_proxy, result.kosdaq_proxy, result.etf_reference) == series
    assert result.thresholds is None
    assert result.final_regime == result.market_sentiment == "unknown"
    assert result.short_term_risk_score is None and result.market_divergence is None
    record = result.to_record()
    assert record["thresholds"] is None
    assert record["sentiment"]["kospi_return"] is None
    assert record["regimes"]["longterm_regime"] == "unknown"
    assert record["regimes"]["midterm"] == {
        "r20": None,
        "a10": None,
        "r5": None,
        "prev_midterm_regime": None,
    }
    assert record["trend"]["kr_features"] is None


def test_disabled_fills_only_status_and_series():
    spy = index("SPY", [400.0, 300.0], last=DAY - dt.timedelta(days=1))
    result = condition({"069500": FLAT}, kr_indexes(SPY=spy), MarketParams(enable=False))
    assert (result.status, result.reason) == ("disabled", None)
    assert result.us_series == ("SPY",) and result.risk_components is None
    assert (result.kospi_proxy, result.kosdaq_proxy, result.etf_reference) == (
        "KOSPI",
        "KOSDAQ",
        "069500",
    )
    assert result.longterm_regime == result.midterm_regime == result.final_regime == "unknown"
    assert result.short_term_risk_label == result.kr_trend_regime == "unknown"
    assert result.thresholds is None and result.global_trend_score is None


def test_reference_is_p_without_an_etf_bar_on_d_or_a_previous_bar():
    kospi = FLAT[:-1] + [101.0]
    for etf in ([100.0, None], [103.0]):
        result = condition({"069500": etf}, kr_indexes(kospi=kospi))
        assert result.etf_reference == "KOSPI"
        assert result.daily_return_raw == pytest.approx(101.0 / 100.0 - 1, rel=1e-15)
    result = condition({"069500": [100.0, None, 103.0]}, kr_indexes(kospi=kospi))
    assert result.etf_reference == "069500"  # previous bar = the last one before D
    assert result.daily_return_raw == pytest.approx(103.0 / 100.0 - 1, rel=1e-15)


def test_us_series_use_only_bars_before_d():
    # SPY crashes on D itself (ignored); on D−1 it was up, so the SPY term is 0.
    spy = index("SPY", [400.0, 404.0, 200.0])
    vix = index("VIX", [20.0, 20.0, 60.0])  # the jump on D is ignored too
    result = condition({}, kr_indexes(SPY=spy, VIX=vix))
    assert result.us_series == ("SPY", "VIX")
    assert result.risk_components.spy == 0 and result.risk_components.vix == 0
    # Dropping on D−1 counts.
    spy = index("SPY", [400.0, 390.0, 500.0])
    assert condition({}, kr_indexes(SPY=spy)).risk_components.spy == 1


@pytest.mark.parametrize(
    ("age_days", "max_staleness", "present"),
    [(1, 7, True), (7, 7, True), (8, 7, False), (3, 3, True), (4, 3, False), (1, 0, False)],
)
def test_us_staleness(age_days, max_staleness, present):
    spy = index("SPY", [400.0, 300.0], last=DAY - dt.timedelta(days=age_days))
    params = MarketParams(us_max_staleness_days=max_staleness)
    result = condition({}, kr_indexes(SPY=spy), params)
    assert result.us_series == (("SPY",) if present else ())
    assert result.risk_components.spy == int(present)


def test_a_us_series_needs_two_bars_before_d():
    result = condition({}, kr_indexes(SPY=index("SPY", [400.0, 300.0])))  # one bar before D
    assert result.us_series == ()


def test_index_rows_with_bad_prices_are_not_bars():
    closes = FLAT[:-2] + [float("nan"), 100.0]  # 69 valid bars remain
    assert condition({}, kr_indexes(kospi=closes)).kospi_proxy == "KOSPI"
    closes = [100.0] * 63 + [0.0, 100.0]  # 64 valid bars
    assert condition({}, kr_indexes(kospi=closes)).status == "unknown"


# --- §3.2 sentiment, breadth, volume trend and thresholds -----------------------------------


def test_sentiment_inputs_from_the_proxy_bars():
    closes = [100.0] * 65 + [102.0, 101.0, 103.0, 100.0, 101.5]
    highs = [100.0] * 65 + [103.0, 104.0, 104.0, 103.0, 102.5]
    lows = [100.0] * 65 + [100.0, 100.5, 101.0, 99.0, 99.0]
    indexes = {"KOSPI": index("KOSPI", closes, highs, lows), "KOSDAQ": index("KOSDAQ", FLAT)}
    result = condition({}, indexes)
    assert result.kospi_return == pytest.approx(101.5 / 100.0 - 1, rel=1e-15)
    assert result.low_return == pytest.approx(99.0 / 100.0 - 1, rel=1e-15)
    ranges = [(h - lo) / c for h, lo, c in zip(highs[-5:], lows[-5:], closes[-5:], strict=True)]
    assert result.volatility == pytest.approx(sum(ranges) / 5, rel=1e-14)
    assert result.effective_return == result.kospi_return  # no ETF: E = P, case 3
    assert result.market_sentiment == "bull" and result.sentiment_score == 2


def test_breadth_over_base_members_with_a_previous_bar():
    stocks = {
        "000001": [100.0, 110.0],
        "000002": [50.0, 45.0],
        "000003": [20.0, None, 21.0],  # previous bar two days back
        "000004": [30.0],  # no bar before D: not counted
        "000005": [30.0, None],  # no bar on D: not a member
        "069500": [10.0, 50.0],  # an ETF: not in the universe
    }
    result = condition(stocks, kr_indexes())
    # 000010 (the helper's stock, 50 → 50) is a member too.
    returns = [110.0 / 100.0 - 1, 45.0 / 50.0 - 1, 21.0 / 20.0 - 1, 50.0 / 50.0 - 1]
    assert result.universe_return_count == 4
    assert result.universe_return == pytest.approx(sum(returns) / 4, rel=1e-12)


def test_undefined_breadth_is_null():
    result = condition({"000010": [50.0]}, kr_indexes())
    assert result.universe_return is None and result.universe_return_count == 0
    assert result.to_record()["sentiment"]["universe_return"] is None


@pytest.mark.parametrize(
    ("volumes", "ratio", "trend"),
    [
        ({"000001": [100] * 5 + [131]}, 1.31, "high"),
        ({"000001": [100] * 5 + [130]}, 1.3, "normal"),
        ({"000001": [100] * 5 + [70]}, 0.7, "normal"),
        ({"000001": [100] * 5 + [69]}, 0.69, "low"),
        # Ratios 1.5 and 1.2: their mean 1.35 is high.
        ({"000001": [100, 200, 100, 200, 100, 210], "000002": [10] * 5 + [12]}, 1.35, "high"),
    ],
)
def test_volume_trend_over_members_with_six_bars(volumes, ratio, trend):
    closes = {code: [10.0] * 6 for code in volumes} | {"000010": [50.0] * 5}  # 5 bars: skipped
    result = condition(closes, kr_indexes(), volumes=volumes)
    assert result.volume_trend_count == len(volumes)
    assert result.volume_trend_ratio == pytest.approx(ratio, rel=1e-12)
    assert result.volume_trend == trend
    expected_mult = {"high": 1.6 - 0.2, "normal": 1.6, "low": 1.6 + 0.2}[trend]  # neutral row
    assert result.thresholds.vol_ma5_mult == pytest.approx(expected_mult, rel=1e-15)


def test_volume_trend_undefined_is_normal():
    result = condition({"000010": [50.0] * 5}, kr_indexes())
    assert result.volume_trend_ratio is None and result.volume_trend_count == 0
    assert result.volume_trend == "normal"


@pytest.mark.parametrize(
    ("effective", "sentiment"),
    [
        (0.0101, "bull"),
        (0.010, "neutral"),
        (0.0, "neutral"),
        (-0.010, "neutral"),
        (-0.0101, "bear"),
        (-0.025, "bear"),
        (-0.0251, "crash"),
    ],
)
def test_sentiment_thresholds(effective, sentiment):
    assert sentiment_of(effective) == sentiment


@pytest.mark.parametrize(
    ("kospi", "low", "universe", "raw", "expected"),
    [
        # Case 1: P below −2.5 %: the minimum of P, low and breadth (when defined).
        (-0.026, -0.03, -0.05, 0.0, -0.05),
        (-0.026, -0.03, None, 0.0, -0.03),
        (-0.026, -0.03, float("nan"), 0.0, -0.03),
        (-0.03, -0.028, -0.01, 0.0, -0.03),
        (-0.026, -0.03, -0.01, 0.05, -0.03),  # case 1 before case 2
        # Exactly −2.5 % is not case 1.
        (-0.025, -0.06, -0.09, 0.001, -0.025),
        # Case 2: abs(raw) ≥ 0.02.
        (0.001, -0.01, -0.05, 0.02, 0.02),
        (0.001, -0.01, -0.05, -0.02, -0.02),
        (0.001, -0.01, -0.05, 0.0199, 0.001),
        (0.001, -0.01, -0.05, -0.0199, 0.001),
        (-0.025, -0.06, -0.09, 0.02, 0.02),
        # Case 3: P.
        (0.015, 0.0, 0.0, 0.0, 0.015),
    ],
)
def test_effective_return_cases(kospi, low, universe, raw, expected):
    assert effective_return_of(kospi, low, universe, raw) == expected


def test_effective_return_from_data():
    # Case 1: P −3 %, its low −4 %, breadth −10 % → −10 %: crash.
    kospi = index("KOSPI", FLAT + [97.0], lows=FLAT + [96.0])
    result = condition({"000010": [50.0, 45.0]}, {"KOSPI": kospi, "KOSDAQ": index("KOSDAQ", FLAT)})
    assert result.effective_return == pytest.approx(45.0 / 50.0 - 1, rel=1e-15)
    assert result.market_sentiment == "crash" and result.sentiment_score == -2
    # Case 2: P +0.5 % but the ETF +2.5 % → bull; case 3 with the ETF at +1 % → neutral.
    kospi_up = FLAT[:-1] + [100.5]
    result = condition({"069500": [100.0, 102.5]}, kr_indexes(kospi=kospi_up))
    assert result.effective_return == pytest.approx(102.5 / 100.0 - 1, rel=1e-15)
    assert result.market_sentiment == "bull"
    result = condition({"069500": [100.0, 101.0]}, kr_indexes(kospi=kospi_up))
    assert result.effective_return == pytest.approx(100.5 / 100.0 - 1, rel=1e-15)
    assert result.market_sentiment == "neutral" and result.sentiment_score == 0


@pytest.mark.parametrize(
    ("sentiment", "row"),
    [
        ("bull", (65.0, 2, -5.0, 1.5, 0.030, 0.025)),
        ("neutral", (58.0, 3, 0.0, 1.6, 0.025, 0.025)),
        ("bear", (45.0, 4, 5.0, 2.0, 0.015, 0.025)),
        ("crash", (40.0, 999, 999.0, 999.0, 0.001, 0.001)),
    ],
)
def test_threshold_table_and_adjustments(sentiment, row):
    rsi, signals, macd, mult, gap, ext = row

    def values(volatility, volume_trend):
        t = thresholds_for(sentiment, volatility, volume_trend)
        return (
            t.rsi_threshold,
            t.min_signals,
            t.macd_osc_min,
            t.vol_ma5_mult,
            t.gap_max,
            t.ext_from_tema20_max,
        )

    assert values(0.03, "normal") == row
    assert values(0.04, "normal") == row  # not > 0.04
    assert values(0.0401, "normal") == (rsi + 2, signals + 1, macd, mult, gap, ext)
    assert values(0.02, "normal") == row  # not < 0.02
    assert values(0.0199, "normal") == (rsi - 1, signals, macd, mult, gap, ext)
    assert values(0.03, "high") == (rsi, signals, macd, mult - 0.2, gap, ext)
    assert values(0.03, "low") == (rsi, signals, macd, mult + 0.2, gap, ext)
    assert values(0.05, "low") == (rsi + 2, signals + 1, macd, mult + 0.2, gap, ext)


@pytest.mark.parametrize(
    ("ratio", "trend"),
    [(None, "normal"), (1.3001, "high"), (1.3, "normal"), (0.7, "normal"), (0.6999, "low")],
)
def test_volume_trend_thresholds(ratio, trend):
    assert volume_trend_of(ratio) == trend


# --- §3.3 long-term regime -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r60", "vol20", "regime"),
    [
        (0.0801, 0.0299, "bull"),
        (0.08, 0.01, "neutral"),
        (0.09, 0.03, "neutral"),
        (-0.0801, 0.01, "bear"),
        (-0.08, 0.01, "neutral"),
        (0.0, 0.0501, "bear"),
        (0.0, 0.05, "neutral"),
        (0.09, 0.0501, "bear"),
        (-0.2, 0.1, "bear"),  # the crash rule is unreachable
        (0.0, 0.09, "bear"),
    ],
)
def test_longterm_thresholds(r60, vol20, regime):
    assert longterm_regime_of(r60, vol20) == regime


def random_walk(seed: int, length: int, sigma: float = 0.015) -> list[float]:
    rng = random.Random(seed)
    closes = [100.0]
    for _ in range(length - 1):
        closes.append(closes[-1] * (1 + rng.gauss(0.0005, sigma)))
    return closes


def test_longterm_midterm_and_kr_features_from_data():
    kospi, kosdaq = random_walk(1, 130), random_walk(2, 90)
    result = condition({}, kr_indexes(kospi=kospi, kosdaq=kosdaq))
    c = kospi
    returns20 = [c[k] / c[k - 1] - 1 for k in range(len(c) - 20, len(c))]
    assert result.r60 == pytest.approx(c[-1] / c[-61] - 1, rel=1e-12)
    assert result.vol20 == pytest.approx(statistics.pstdev(returns20), rel=1e-9)
    assert result.longterm_regime == reference_longterm(c[-1] / c[-61] - 1, returns20)
    assert result.r20 == pytest.approx(c[-1] / c[-21] - 1, rel=1e-12)
    assert result.a10 == pytest.approx(statistics.fmean(returns20[-10:]), rel=1e-9, abs=1e-15)
    assert result.r5 == pytest.approx(c[-1] / c[-6] - 1, rel=1e-12)
    f = result.kr_features
    sma = statistics.fmean
    expected = {
        "r20": c[-1] / c[-21] - 1,
        "r60": c[-1] / c[-61] - 1,
        "dd20": c[-1] / max(c[-21:]) - 1,
        "dd60": c[-1] / max(c[-61:]) - 1,
        "ma20_slope": (sma(c[-20:]) - sma(c[-25:-5])) / sma(c[-25:-5]),
        "ma60_slope": (sma(c[-60:]) - sma(c[-65:-5])) / sma(c[-65:-5]),
        "kospi_r20": c[-1] / c[-21] - 1,
        "kospi_r60": c[-1] / c[-61] - 1,
        "kosdaq_r20": kosdaq[-1] / kosdaq[-21] - 1,
        "kosdaq_r60": kosdaq[-1] / kosdaq[-61] - 1,
    }
    for name, value in expected.items():
        assert getattr(f, name) == pytest.approx(value, rel=1e-9, abs=1e-15), name


def test_drawdowns_reach_back_to_t_minus_20_and_t_minus_60():
    # P: the 20-bar high is c_{t−20} = 120 and the 60-bar high is c_{t−60} = 150; otherwise 100.
    kospi = [100.0] * 70
    kospi[-61], kospi[-21] = 150.0, 120.0
    features = kr_features_of(np.array(kospi), np.array(FLAT))
    assert features.dd20 == 100.0 / 120.0 - 1
    assert features.dd60 == 100.0 / 150.0 - 1
    # One bar further back each: 150 leaves the 60-bar window, 120 the 20-bar one.
    kospi = [100.0] * 70
    kospi[-62], kospi[-22] = 150.0, 120.0
    features = kr_features_of(np.array(kospi), np.array(FLAT))
    assert (features.dd20, features.dd60) == (0.0, 100.0 / 120.0 - 1)


def reference_longterm(r60: float, returns20: list[float]) -> str:
    vol20 = statistics.pstdev(returns20)
    if r60 > 0.08 and vol20 < 0.03:
        return "bull"
    return "bear" if r60 < -0.08 or vol20 > 0.05 else "neutral"


# --- §3.4 mid-term regime --------------------------------------------------------------------


@pytest.mark.parametrize("prev", [None, "crash", "neutral", "bull", "bear"])
@pytest.mark.parametrize(
    ("r20", "r5", "crash"),
    [(-0.1001, 0.0, True), (-0.10, 0.0, False), (0.0, -0.0501, True), (0.0, -0.05, False)],
)
def test_midterm_crash_rule_comes_first(prev, r20, r5, crash):
    result = midterm_step(r20, 0.01, r5, prev)
    assert (result == "crash") is crash


@pytest.mark.parametrize(
    ("prev", "r20", "a10", "regime"),
    [
        # prev bull: 1st test bullC ∨ (r20 > 0.02 ∧ a10 > −0.0005) → bull.
        ("bull", 0.05, 0.002, "bull"),
        ("bull", 0.0201, -0.0004, "bull"),
        ("bull", 0.02, 0.002, "neutral"),
        ("bull", 0.03, -0.0005, "neutral"),
        # 2nd test bearC ∧ r20 < −0.06 → bear.
        ("bull", -0.0601, -0.0011, "bear"),
        ("bull", -0.06, -0.002, "neutral"),
        ("bull", -0.07, -0.001, "neutral"),
        # prev bear: 1st test bearC ∨ (r20 < −0.02 ∧ a10 < 0.0005) → bear.
        ("bear", -0.05, -0.002, "bear"),
        ("bear", -0.0201, 0.0004, "bear"),
        ("bear", -0.02, -0.002, "neutral"),
        ("bear", -0.03, 0.0005, "neutral"),
        # 2nd test bullC ∧ r20 > 0.06 → bull.
        ("bear", 0.0601, 0.0011, "bull"),
        ("bear", 0.06, 0.002, "neutral"),
        ("bear", 0.07, 0.001, "neutral"),
        # prev neutral: bullC ∧ r20 > 0.06 → bull; bearC ∧ r20 < −0.06 → bear.
        ("neutral", 0.0601, 0.0011, "bull"),
        ("neutral", 0.06, 0.002, "neutral"),
        ("neutral", 0.07, 0.001, "neutral"),
        ("neutral", -0.0601, -0.0011, "bear"),
        ("neutral", -0.06, -0.002, "neutral"),
        ("neutral", -0.07, -0.001, "neutral"),
        ("neutral", 0.05, 0.002, "neutral"),
        # none or crash: bullC → bull; bearC → bear.
        (None, 0.0401, 0.0011, "bull"),
        (None, 0.04, 0.002, "neutral"),
        (None, 0.05, 0.001, "neutral"),
        (None, -0.0401, -0.0011, "bear"),
        (None, -0.04, -0.002, "neutral"),
        (None, -0.05, -0.001, "neutral"),
        ("crash", 0.0401, 0.0011, "bull"),
        ("crash", -0.0401, -0.0011, "bear"),
        ("crash", 0.03, 0.0, "neutral"),
    ],
)
def test_midterm_hysteresis_table(prev, r20, a10, regime):
    assert midterm_step(r20, a10, 0.0, prev) == regime


def geometric(start: float, growth: list[tuple[float, int]]) -> list[float]:
    closes = [start]
    for rate, days in growth:
        for _ in range(days):
            closes.append(closes[-1] * (1 + rate))
    return closes


def test_hysteresis_keeps_bull_from_earlier_sessions():
    # 60 bars of +1 %/day (bull), then 39 of +0.15 %/day: at D r20 ≈ 0.030 and a10 = 0.0015,
    # which holds a bull but cannot start one.
    closes = np.array(geometric(100.0, [(0.01, 60), (0.0015, 39)]))
    assert midterm_hysteresis(closes, 60) == ("bull", "bull")
    assert midterm_hysteresis(closes, 5) == ("neutral", "neutral")  # R(s_j0) = mid(·, none)
    assert midterm_hysteresis(closes, 0) == ("neutral", None)  # m = j0: no prev


def test_sessions_with_fewer_than_21_bars_are_neutral_and_feed_the_recursion():
    # 65 bars of +0.25 %/day: r20 ≈ 0.051 with a10 = 0.0025: bull from none, not from neutral.
    closes = np.array(geometric(100.0, [(0.0025, 64)]))
    assert midterm_hysteresis(closes, 60) == ("neutral", "neutral")  # j0 = 4: 16 neutral first
    assert midterm_hysteresis(closes, 44) == ("bull", "bull")  # j0 = 20: mid(s_20, none)


def reference_mid(bars: list[float], prev: str | None) -> str:
    """mid(s, prev) written from §3.4 on the bars dated ≤ s."""
    if len(bars) < 21:
        return "neutral"
    r20 = bars[-1] / bars[-21] - 1
    a10 = statistics.fmean(bars[k] / bars[k - 1] - 1 for k in range(len(bars) - 10, len(bars)))
    r5 = bars[-1] / bars[-6] - 1
    if r20 < -0.10 or r5 < -0.05:
        return "crash"
    bull = r20 > 0.04 and a10 > 0.001
    bear = r20 < -0.04 and a10 < -0.001
    if prev == "bull":
        tests = [(bull or (r20 > 0.02 and a10 > -0.0005), "bull"), (bear and r20 < -0.06, "bear")]
    elif prev == "bear":
        tests = [(bear or (r20 < -0.02 and a10 < 0.0005), "bear"), (bull and r20 > 0.06, "bull")]
    elif prev == "neutral":
        tests = [(bull and r20 > 0.06, "bull"), (bear and r20 < -0.06, "bear")]
    else:
        tests = [(bull, "bull"), (bear, "bear")]
    return next((label for ok, label in tests if ok), "neutral")


def reference_recursion(closes: list[float], depth: int) -> tuple[str, str | None]:
    m = len(closes) - 1
    j0 = max(0, m - depth)
    regimes = {j0: reference_mid(closes[: j0 + 1], None)}
    for j in range(j0 + 1, m + 1):
        regimes[j] = reference_mid(closes[: j + 1], regimes[j - 1])
    return regimes[m], regimes.get(m - 1)


def test_recursion_matches_a_reference_on_random_walks():
    seen = set()
    for seed in range(40):
        closes = random_walk(seed, 140, sigma=0.02)
        for depth in (0, 1, 10, 60, 200):
            expected = reference_recursion(closes, depth)
            assert midterm_hysteresis(np.array(closes), depth) == expected, (seed, depth)
            seen.add(expected[0])
    assert seen == {"bull", "bear", "neutral", "crash"}


def test_midterm_regime_from_data_is_the_final_regime():
    closes = geometric(100.0, [(0.01, 60), (0.0015, 39)])
    result = condition({}, kr_indexes(kospi=closes))
    assert (result.midterm_regime, result.prev_midterm_regime) == ("bull", "bull")
    assert result.final_regime == "bull"
    result = condition({}, kr_indexes(kospi=closes), MarketParams(midterm_hysteresis_sessions=0))
    assert (result.midterm_regime, result.prev_midterm_regime) == ("neutral", None)
    assert result.to_record()["regimes"]["midterm"]["prev_midterm_regime"] is None


# --- §3.5 short-term risk --------------------------------------------------------------------


def risk(daily=0.0, drop=0.0, high=100.0, low=100.0, spy=None, vix_last=None, vix_prev=None):
    return short_term_risk_components(daily, drop, high, low, spy, vix_last, vix_prev)


@pytest.mark.parametrize(
    ("daily", "drop", "points"),
    [
        (-0.0151, 0.0, 2),
        (-0.015, -0.015, 1),
        (0.0, -0.0201, 2),
        (0.0, -0.02, 0),
        (-0.0101, -0.0101, 1),
        (-0.01, -0.01, 0),
        (0.01, 0.0, 0),
    ],
)
def test_risk_kr_daily(daily, drop, points):
    assert risk(daily=daily, drop=drop).kr_daily == points


@pytest.mark.parametrize(("high", "points"), [(104.01, 1), (103.99, 0), (100.0, 0)])
def test_risk_kr_range(high, points):
    assert risk(high=high, low=100.0).kr_range == points


@pytest.mark.parametrize(("spy", "points"), [(-0.0151, 1), (-0.015, 0), (0.02, 0), (None, 0)])
def test_risk_spy(spy, points):
    assert risk(spy=spy).spy == points


@pytest.mark.parametrize(
    ("last", "prev", "points"),
    [
        (22.1, 20.0, 1),  # +10.5 %
        (21.9, 20.0, 0),
        (30.1, 30.0, 1),  # above 30
        (30.0, 30.0, 0),
        (31.0, 35.0, 1),  # falling but above 30
        (None, None, 0),
    ],
)
def test_risk_vix(last, prev, points):
    assert risk(vix_last=last, vix_prev=prev).vix == points


@pytest.mark.parametrize(
    ("components", "score", "label"),
    [
        ({}, 0, "normal"),
        ({"daily": -0.0101}, 1, "normal"),
        ({"daily": -0.02}, 2, "elevated"),
        ({"daily": -0.02, "high": 105.0}, 3, "stressed"),
        (
            {"daily": -0.02, "high": 105.0, "spy": -0.02, "vix_last": 40, "vix_prev": 20},
            3,
            "stressed",
        ),
    ],
)
def test_risk_score_is_clamped_and_labelled(components, score, label):
    result = risk(**components)
    assert result.score == score
    assert risk_label_of(result.score) == label


def test_short_term_risk_from_data():
    kospi = index("KOSPI", FLAT + [98.0], highs=FLAT + [103.0], lows=FLAT + [97.0])
    spy = index("SPY", [400.0, 410.0, 400.0], last=DAY - dt.timedelta(days=1))
    vix = index("VIX", [20.0, 25.0], last=DAY - dt.timedelta(days=1))
    result = condition(
        {}, {"KOSPI": kospi, "KOSDAQ": index("KOSDAQ", FLAT), "SPY": spy, "VIX": vix}
    )
    # daily −2 % → 2; 103/97 − 1 ≈ 6.2 % → 1; SPY 400/410 − 1 ≈ −2.4 % → 1; VIX +25 % → 1.
    assert (result.risk_components.kr_daily, result.risk_components.kr_range) == (2, 1)
    assert (result.risk_components.spy, result.risk_components.vix) == (1, 1)
    assert (result.short_term_risk_score, result.short_term_risk_label) == (3, "stressed")


# --- §3.6 trend scores ------------------------------------------------------------------------


ZERO = KrFeatures(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("field", "value", "points"),
    [
        ("r20", 0.0401, 1.0),
        ("r20", 0.04, 0.0),
        ("r20", -0.0401, -1.0),
        ("r20", -0.04, 0.0),
        ("r60", 0.0801, 1.0),
        ("r60", 0.08, 0.0),
        ("r60", -0.0801, -1.0),
        ("r60", -0.08, 0.0),
        ("kosdaq_r20", 0.0401, 0.5),
        ("kosdaq_r20", 0.04, 0.0),
        ("kosdaq_r20", -0.0401, -0.5),
        ("kosdaq_r20", -0.04, 0.0),
        ("kosdaq_r60", 0.0801, 0.5),
        ("kosdaq_r60", 0.08, 0.0),
        ("kosdaq_r60", -0.0801, -0.5),
        ("kosdaq_r60", -0.08, 0.0),
        ("dd20", -0.0501, -1.0),
        ("dd20", -0.05, 0.0),
        ("dd20", -0.1001, -2.0),
        ("dd20", -0.10, -1.0),
        ("dd60", -0.1501, -1.0),
        ("dd60", -0.15, 0.0),
        ("ma20_slope", 1e-9, 1.0),
        ("ma20_slope", 0.0, 0.0),
        ("ma20_slope", -1e-9, 0.0),
        ("ma60_slope", 1e-9, 1.0),
        ("ma60_slope", 0.0, 0.0),
        ("ma60_slope", -1e-9, -0.5),
    ],
)
def test_kr_trend_terms(field, value, points):
    features = KrFeatures(**(vars(ZERO) | {field: value}))
    assert kr_trend_score_of(features) == points


@pytest.mark.parametrize(
    ("score", "regime"), [(2.0, "bull"), (1.5, "neutral"), (-1.5, "neutral"), (-2.0, "bear")]
)
def test_kr_trend_regime(score, regime):
    assert kr_trend_regime_of(score) == regime


def closes_with_r60(r60_last: float, length: int = 61) -> np.ndarray:
    """``length`` closes at 100 whose last is ``r60_last``; so R60 = r60_last / 100 − 1."""
    return np.array([100.0] * (length - 1) + [r60_last])


@pytest.mark.parametrize(
    ("spy", "qqq", "expected"),
    [
        (None, None, None),
        (closes_with_r60(120.0, 60), None, None),  # 60 bars: no R60, unavailable
        (closes_with_r60(108.01), None, 1.0),
        (closes_with_r60(107.99), None, 0.0),
        (closes_with_r60(91.99), None, -1.0),
        (closes_with_r60(92.01), None, 0.0),
        (None, closes_with_r60(110.01), 1.0),
        (None, closes_with_r60(109.99), 0.0),
        (None, closes_with_r60(89.99), -1.0),
        (None, closes_with_r60(90.01), 0.0),
        (closes_with_r60(108.01), closes_with_r60(89.99), 0.0),
        (closes_with_r60(108.01), closes_with_r60(120.0, 60), 1.0),  # QQQ too short: 0
    ],
)
def test_us_trend_r60_terms(spy, qqq, expected):
    assert us_trend_score_of(spy, qqq) == expected


def test_us_trend_sma_bonus_needs_200_bars():
    rising = np.linspace(100.0, 110.0, 200)  # SMA50 > SMA200; R60 ≈ +2.8 % (no R60 point)
    falling = rising[::-1]
    assert us_trend_score_of(rising, None) == 0.5
    assert us_trend_score_of(rising[1:], None) == 0.0  # 199 bars
    assert us_trend_score_of(np.full(200, 100.0), None) == 0.0  # SMA50 = SMA200: not >
    assert us_trend_score_of(falling, None) == 0.0  # R60 ≈ −2.9 %: no point either
    assert us_trend_score_of(rising, rising) == 1.0


def test_global_trend_score():
    # Flat P and Q: every KR feature is 0, so the KR score is 0.
    spy = index("SPY", [100.0] * 60 + [110.0], last=DAY - dt.timedelta(days=1))
    result = condition({}, kr_indexes(SPY=spy))
    assert result.kr_trend_score == 0.0 and result.kr_trend_regime == "neutral"
    assert result.us_trend_score == 1.0
    assert result.global_trend_score == pytest.approx(0.4 * 0.0 + 0.6 * 1.0, rel=1e-15)
    # P trending up: R20 > 0.04, R60 > 0.08, MA20 and MA60 slopes > 0; no US → KR alone.
    kospi = geometric(100.0, [(0.005, 69)])
    result = condition({}, kr_indexes(kospi=kospi))
    assert result.kr_trend_score == 4.0 and result.kr_trend_regime == "bull"
    assert result.us_trend_score is None and result.global_trend_score == 4.0
    result = condition({}, kr_indexes(kospi=kospi, SPY=spy))
    assert result.global_trend_score == pytest.approx(0.4 * 4.0 + 0.6 * 1.0, rel=1e-15)


# --- §3.7 divergence -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "kq", "divergence", "kind"),
    [
        (0.03, -0.0201, True, "kospi_up_kosdaq_down"),
        (0.03, -0.0199, False, ""),
        (-0.0201, 0.03, True, "kospi_down_kosdaq_up"),
        (-0.0199, 0.03, False, ""),
        (0.10, 0.01, False, ""),  # same sign
        (-0.10, -0.01, False, ""),
        (0.0, 0.06, False, ""),  # zero has no sign
        (-0.06, 0.0, False, ""),
    ],
)
def test_divergence(k, kq, divergence, kind):
    assert divergence_of(k, kq) == (divergence, kind)


def test_divergence_from_data():
    kospi, kosdaq = FLAT[:-1] + [103.0], FLAT[:-1] + [97.0]
    result = condition({}, kr_indexes(kospi=kospi, kosdaq=kosdaq))
    assert (result.market_divergence, result.divergence_type) == (True, "kospi_up_kosdaq_down")
    result = condition({}, kr_indexes(kospi=kosdaq, kosdaq=kospi))
    assert (result.market_divergence, result.divergence_type) == (True, "kospi_down_kosdaq_up")
    result = condition({}, kr_indexes(kospi=FLAT[:-1] + [101.9], kosdaq=kosdaq))  # gap 0.049
    assert (result.market_divergence, result.divergence_type) == (False, "")


# --- §3.8 record --------------------------------------------------------------------------------


def test_record_structure_is_plain_json():
    spy = index("SPY", [100.0] * 200 + [110.0], last=DAY - dt.timedelta(days=1))
    result = condition({"069500": FLAT}, kr_indexes(SPY=spy))
    record = result.to_record()
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert list(record) == [
        "version",
        "status",
        "reason",
        "series",
        "sentiment",
        "thresholds",
        "regimes",
        "short_term_risk",
        "trend",
        "divergence",
    ]
    assert record["version"] == "scanctl-mc-1"
    assert record["series"] == {
        "kospi_proxy": "KOSPI",
        "kosdaq_proxy": "KOSDAQ",
        "etf_reference": "069500",
        "us": ["SPY"],
    }
    assert set(record["sentiment"]) == {
        "kospi_return",
        "low_return",
        "volatility",
        "universe_return",
        "universe_return_count",
        "daily_return_raw",
        "effective_return",
        "market_sentiment",
        "sentiment_score",
        "volume_trend_ratio",
        "volume_trend_count",
        "volume_trend",
    }
    assert record["thresholds"] == {
        "rsi_threshold": 57.0,  # neutral, flat P: volatility 0 < 0.02
        "min_signals": 3,
        "macd_osc_min": 0.0,
        "vol_ma5_mult": 1.6,
        "gap_max": 0.025,
        "ext_from_tema20_max": 0.025,
    }
    assert record["regimes"] == {
        "longterm_regime": "neutral",
        "longterm": {"r60": 0.0, "vol20": 0.0},
        "midterm_regime": "neutral",
        "midterm": {"r20": 0.0, "a10": 0.0, "r5": 0.0, "prev_midterm_regime": "neutral"},
        "final_regime": "neutral",
    }
    assert record["short_term_risk"] == {
        "short_term_risk_score": 0,
        "short_term_risk_label": "normal",
        "components": {"kr_daily": 0, "kr_range": 0, "spy": 0, "vix": 0},
    }
    features = record["trend"].pop("kr_features")
    assert list(features) == [
        "R20",
        "R60",
        "DD20",
        "DD60",
        "MA20_SLOPE",
        "MA60_SLOPE",
        "KOSPI_R20",
        "KOSPI_R60",
        "KOSDAQ_R20",
        "KOSDAQ_R60",
    ]
    assert set(features.values()) == {0.0}
    # SPY: R60 = +10 % → +1; SMA50 > SMA200 → +0.5.
    assert record["trend"] == {
        "kr_trend_score": 0.0,
        "kr_trend_regime": "neutral",
        "us_trend_score": 1.5,
        "global_trend_score": pytest.approx(0.6 * 1.5, rel=1e-15),
    }
    assert record["divergence"] == {"market_divergence": False, "divergence_type": ""}


def test_window_of_another_date_is_rejected():
    panel = make_panel({"000010": [50.0, 50.0]})
    master = TickerMaster(
        codes=panel.codes,
        names=np.array(["x"], dtype=object),
        markets=np.array(["KOSPI"], dtype=object),
        security_types=np.array(["stock"], dtype=object),
        managed=np.zeros(1, dtype=bool),
        halted=np.zeros(1, dtype=bool),
    )
    window = evaluation_window(panel, DAY - dt.timedelta(days=1), 220)
    universe = build_universe(window, master, UniverseParams())
    with pytest.raises(ValueError, match="not the scan date"):
        market_condition(panel, window, master, universe, {}, DAY, MarketParams())


# --- [market] parameters (ENGINES.md §9.2) -----------------------------------------------------


def test_market_param_defaults_follow_the_spec():
    params = MarketParams()
    assert params.enable is True
    assert (params.kospi_index, params.kospi_etf) == ("KOSPI", "069500")
    assert (params.kosdaq_index, params.kosdaq_etf) == ("KOSDAQ", "229200")
    assert (params.us_spy, params.us_qqq, params.us_vix) == ("SPY", "QQQ", "VIX")
    assert (params.us_max_staleness_days, params.midterm_hysteresis_sessions) == (7, 60)


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("enable", "no", "'no'"),
        ("kospi_index", "", "''"),
        ("kosdaq_index", 5, "5"),
        ("kospi_etf", "69500", "'69500'"),
        ("kosdaq_etf", "2292000", "'2292000'"),
        ("us_spy", None, "None"),
        ("us_max_staleness_days", -1, "-1"),
        ("midterm_hysteresis_sessions", -2, "-2"),
        ("midterm_hysteresis_sessions", 60.0, "60.0"),
    ],
)
def test_invalid_market_params_name_field_and_value(field, value, shown):
    with pytest.raises(ConfigError) as error:
        MarketParams(**{field: value})
    message = str(error.value)
    assert message.startswith(f"[market] {field} must be ")
    assert message.endswith(f"got {shown}")


def test_market_params_from_mapping():
    params = MarketParams.from_mapping({"enable": False, "us_max_staleness_days": 3})
    assert (params.enable, params.us_max_staleness_days) == (False, 3)
    assert params.to_record()["kospi_etf"] == "069500"
    with pytest.raises(ConfigError, match="unknown key 'kospi'"):
        MarketParams.from_mapping({"kospi": "KOSPI"})
