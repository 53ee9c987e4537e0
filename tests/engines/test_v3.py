"""Engine v3 (ENGINES.md §7): router, midterm, pullback, merge, records, parameters.

Inputs are hand-built: the indicator and scalar values a rule reads are set directly (not derived
from prices), so each threshold is hit exactly. Every expected value is worked out by hand in
the test (comments show the arithmetic); none is recomputed with the code under test.

The default `T` ticker passes every midterm check and every pullback check:
close 10000 > EMA20 9800 > EMA60 9000, slope +10, RSI14 60, R20 0.10, VMA5 0.9M < VMA20 1M,
turnover20 5e9, HIGH_AGE 5, PB_DEPTH 0.05, low_t = EMA20_t (touch on D), open 9900 and the
previous close 9950 below the close.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pytest

from scanctl.engines.base import EngineInput
from scanctl.engines.indicators import Indicators
from scanctl.engines.scalars import Scalars
from scanctl.engines.v3 import MidtermParams, PullbackParams, V3Params, route, run_v3
from scanctl.engines.v3.midterm import percentile_ranks
from scanctl.errors import ConfigError
from scanctl.market.condition import MarketCondition
from scanctl.market.universe import Universe
from scanctl.market.window import Window
from scanctl.store.tickers import TickerMaster

D = dt.date(2025, 6, 2)
L = 220  # the default lookback, so default parameters apply


# ----------------------------------------------------------------------------- builders


@dataclass
class T:
    """One hand-set ticker: the values on bar t (and t−1, t−2 where a rule reads them)."""

    code: str = "000010"
    value: float = 1e10  # traded value on D (tie-break key)
    member: bool = True
    market: str = "KOSPI"
    n_bars: int = L
    bar_on_date: bool = True
    close: float = 10000.0
    open: float = 9900.0
    prev_close: float = 9950.0
    volume: float = 1e6
    ema20: tuple = (9800.0, 9800.0, 9800.0)  # EMA20 on t, t−1, t−2
    lows: tuple = (9800.0, 9000.0, 9000.0)  # l on t, t−1, t−2 (touch on t only)
    ema60: float = 9000.0
    slope: float = 10.0  # EMA60_SLOPE20_t
    slope_pct: float | None = None  # EMA60_SLOPE20_PCT; None → slope / ema60
    rsi: float = 60.0
    r20: float = 0.10
    vma5: float = 9e5
    vma20: float = 1e6
    turnover: float = 5e9
    h20: float = 10500.0
    high_age: float = 5.0
    depth: float = 0.05
    dist: float = 0.02
    highs: tuple | None = None  # window highs of the last bars (oldest first), else close
    rsi_tema: float = 50.0
    macd_duration: int = 5
    up_days5: int = 2


def condition(status="ok", regime="neutral", risk="normal") -> MarketCondition:
    if status != "ok":
        return MarketCondition(status, "kospi_proxy_missing", None, None, None, ())
    return MarketCondition(
        "ok", None, "KOSPI", "KOSDAQ", "069500", (), final_regime=regime,
        short_term_risk_label=risk,
    )  # fmt: skip


def build(tickers: list[T], cond: MarketCondition | None = None, lookback: int = L) -> EngineInput:
    n = len(tickers)
    shape = (lookback, n)
    series = {name: np.full(shape, np.nan) for name in ("o", "h", "l", "c", "v", "value")}
    ind = {f.name: np.full(shape, np.nan) for f in dataclasses.fields(Indicators)}
    sc = {f.name: np.full(n, np.nan) for f in dataclasses.fields(Scalars)}
    for i, tk in enumerate(tickers):
        rows = slice(lookback - tk.n_bars, lookback)
        for name, level in (("o", tk.open), ("h", tk.close), ("l", tk.close), ("c", tk.close)):
            series[name][rows, i] = level
        series["v"][rows, i] = tk.volume
        series["value"][rows, i] = tk.value
        series["c"][-2, i] = tk.prev_close
        series["l"][-3:, i] = tk.lows[::-1]
        if tk.highs is not None:
            series["h"][-len(tk.highs) :, i] = tk.highs
        fills = {
            "EMA20": tk.ema20[0], "EMA60": tk.ema60, "EMA60_SLOPE20": tk.slope, "RSI14": tk.rsi,
            "VOL_MA5": tk.vma5, "VMA20": tk.vma20, "RSI_TEMA": tk.rsi_tema,
            "TEMA20_SLOPE20": 1.5, "OBV_SLOPE20": 2.5, "DEMA10_SLOPE20": 3.5,
        }  # fmt: skip
        for name, level in fills.items():
            ind[name][rows, i] = level
        ind["EMA20"][-3:, i] = tk.ema20[::-1]
        pct = tk.slope / tk.ema60 if tk.slope_pct is None else tk.slope_pct
        scalars = {
            "turnover20": tk.turnover, "R20": tk.r20, "EMA60_SLOPE20_PCT": pct, "H20": tk.h20,
            "HIGH_AGE": tk.high_age, "PB_DEPTH": tk.depth, "DIST_EMA20": tk.dist,
            "change_rate": 0.5, "ABOVE_CNT5": 3, "macd_duration": tk.macd_duration,
            "up_days5": tk.up_days5, "n_bars": tk.n_bars,
        }  # fmt: skip
        for name, level in scalars.items():
            sc[name][i] = level
    codes = np.array([tk.code for tk in tickers])
    n_bars = np.array([tk.n_bars for tk in tickers], dtype=np.int64)
    bar_on_date = np.array([tk.bar_on_date for tk in tickers])
    window = Window(
        date=D, codes=codes, open=series["o"], high=series["h"], low=series["l"],
        close=series["c"], volume=series["v"], value=series["value"], n_bars=n_bars,
        bar_on_date=bar_on_date, first_date=np.full(n, np.datetime64("2024-07-01")),
        last_date=np.full(n, np.datetime64(D)),
    )  # fmt: skip
    markets = np.array([tk.market for tk in tickers], dtype=object)
    member = np.array([tk.member for tk in tickers])
    universe = Universe(
        date=D, codes=codes, markets=markets, eligible=member,
        why=np.array([None if m else "rank" for m in member], dtype=object),
        market_rank=np.arange(1, n + 1),
        traded_value=np.where(bar_on_date, series["value"][-1], np.nan),
        member=member, kospi_limit=100, kosdaq_limit=100, unknown_security_types=0,
        unknown_security_member=np.zeros(n, dtype=bool),
    )  # fmt: skip
    master = TickerMaster(
        codes=codes, names=np.array([f"name{tk.code}" for tk in tickers], dtype=object),
        markets=markets, security_types=np.array(["stock"] * n, dtype=object),
        managed=np.zeros(n, dtype=bool), halted=np.zeros(n, dtype=bool),
    )  # fmt: skip
    int_fields = ("ABOVE_CNT5", "macd_duration", "up_days5", "n_bars")
    scalars_obj = Scalars(
        **{k: v.astype(np.int64) if k in int_fields else v for k, v in sc.items()}
    )
    return EngineInput(
        date=D, window=window, indicators=Indicators(**ind), scalars=scalars_obj, master=master,
        universe=universe, condition=cond or condition(),
    )  # fmt: skip


def params(pullback_enabled=True, **midterm_overrides) -> V3Params:
    pull = midterm_overrides.pop("pullback", {})
    return V3Params(
        pullback_enabled=pullback_enabled,
        midterm=MidtermParams(**midterm_overrides),
        pullback=PullbackParams(**pull),
    )


def run(tickers, cond=None, prm=None):
    return run_v3(build(tickers, cond), prm or V3Params())


def sub(result, name):
    return {s.name: s for s in result.subs}[name]


def check_passed(result, name: str, code: str, index: int = 0) -> bool:
    checks = {c.code: c for c in sub(result, name).checks.checks}
    return bool(checks[code].passed[index])


# ----------------------------------------------------------------------------- defaults


def test_default_ticker_passes_both_and_is_merged():
    result = run([T()])
    assert [p.ticker for p in result.picks] == ["000010"]
    pick = result.picks[0]
    assert (pick.engine, pick.sub_engine, pick.strategy, pick.rank) == (
        "v3",
        "midterm",
        "midterm",
        1,
    )
    assert pick.flags["sub_engines"] == ["midterm", "v2_lite"]
    assert pick.flags["v2_lite"]["rank"] == 1
    assert pick.flags["v2_lite"]["flags"]["touch_bar"] == 0
    assert sub(result, "v2_lite").picks[0].score is None
    assert sub(result, "v2_lite").picks[0].score_label == "눌림목"
    assert list(sub(result, "midterm").reasons) == [None]
    assert list(sub(result, "v2_lite").reasons) == [None]
    assert result.matched_count == 1


# ----------------------------------------------------------------------------- midterm checks

MIDTERM_CASES = [
    # (check code, overrides, passes)
    ("liquidity", {"turnover": 1e9}, True),
    ("liquidity", {"turnover": 999_999_999.0}, False),
    ("price", {"close": 2000.0, "ema20": (1960.0,) * 3, "ema60": 1800.0}, True),
    ("price", {"close": 1999.0, "ema20": (1960.0,) * 3, "ema60": 1800.0}, False),
    ("trend_alignment", {"close": 9800.0}, False),  # close = EMA20: not strictly above
    ("trend_alignment", {"close": 9801.0}, True),
    ("trend_alignment", {"ema60": 9800.0}, False),  # EMA20 = EMA60
    ("trend_alignment", {"ema60": 9799.0}, True),
    ("trend_slope", {"slope": 0.0}, False),
    ("trend_slope", {"slope": 1e-9}, True),
    ("rsi_band", {"rsi": 45.0}, True),
    ("rsi_band", {"rsi": 44.999}, False),
    ("rsi_band", {"rsi": 72.0}, True),
    ("rsi_band", {"rsi": 72.001}, False),
    ("return_band", {"r20": 0.03}, True),
    ("return_band", {"r20": 0.0299}, False),
    ("return_band", {"r20": 0.30}, True),
    ("return_band", {"r20": 0.3001}, False),
    # 1.12 · 10000 = 11200 (the double product is 11200.000000000002)
    ("overextended", {"close": 11200.0, "ema20": (10000.0,) * 3}, True),
    ("overextended", {"close": 11201.0, "ema20": (10000.0,) * 3}, False),
    # 1.12 · 1000 = 1120 exactly in double
    ("overextended", {"close": 1120.0 * 2, "ema20": (2000.0,) * 3, "ema60": 1900.0}, True),
    ("overextended", {"close": 2240.5, "ema20": (2000.0,) * 3, "ema60": 1900.0}, False),
]


@pytest.mark.parametrize(("code", "overrides", "passes"), MIDTERM_CASES)
def test_midterm_check_boundaries(code, overrides, passes):
    result = run([T(**overrides)])
    assert check_passed(result, "midterm", code) is passes
    midterm = sub(result, "midterm")
    assert midterm.reasons[0] == (None if passes else code)
    assert bool(midterm.matched[0]) is passes


def test_midterm_check_explain_values_and_stop_at_first_failure():
    result = run([T(rsi=80.0)])
    explained = sub(result, "midterm").checks.explain(0)
    assert [c["code"] for c in explained] == [
        "liquidity",
        "price",
        "trend_alignment",
        "trend_slope",
        "rsi_band",
    ]
    assert explained[-1] == {
        "code": "rsi_band",
        "passed": False,
        "values": {"RSI14": 80.0},
        "thresholds": {"rsi_min": 45.0, "rsi_max": 72.0},
    }
    assert explained[0]["values"] == {"turnover20": 5e9}


# ----------------------------------------------------------------------------- pullback checks


def _touch(offset: int, low: float) -> dict:
    """EMA20 = 10000 on every bar; only bar t−offset has ``low``, the others are far below."""
    lows = [5000.0, 5000.0, 5000.0]
    lows[offset] = low
    return {"ema20": (10000.0,) * 3, "lows": tuple(lows), "close": 10300.0}


PULLBACK_CASES = [
    ("liquidity", {"turnover": 1e9}, True),
    ("liquidity", {"turnover": 999_999_999.0}, False),
    ("price", {"close": 2000.0, "ema20": (1960.0,) * 3, "lows": (1960.0,) * 3, "ema60": 1800.0,
               "open": 1900.0, "prev_close": 1900.0},
     True),
    ("price", {"close": 1999.0, "ema20": (1960.0,) * 3, "lows": (1960.0,) * 3, "ema60": 1800.0,
               "open": 1900.0, "prev_close": 1900.0},
     False),
    ("trend_ema60", {"ema60": 10000.0, "ema20": (10001.0, 9800.0, 9800.0),
                     "lows": (10001.0, 0, 0)}, False),  # close = EMA60
    ("trend_ema60", {"ema60": 9999.0, "ema20": (10001.0, 9800.0, 9800.0),
                     "lows": (10001.0, 0, 0)}, True),
    ("trend_alignment", {"ema60": 9800.0}, False),
    ("trend_alignment", {"ema60": 9799.0}, True),
    ("trend_slope", {"slope": 0.0}, False),
    ("trend_slope", {"slope": 1e-9}, True),
    ("high_age", {"high_age": 9.0}, True),
    ("high_age", {"high_age": 10.0}, False),
    ("high_age", {"high_age": 0.0}, True),
    ("pullback_depth", {"depth": 0.03}, True),
    ("pullback_depth", {"depth": 0.0299}, False),
    ("pullback_depth", {"depth": 0.12}, True),
    ("pullback_depth", {"depth": 0.1201}, False),
    # 0.97 · 10000 = 9700 and 1.02 · 10000 = 10200 exactly in double, on each of t, t−1, t−2
    *[("ema20_touch", _touch(k, 9700.0), True) for k in range(3)],
    *[("ema20_touch", _touch(k, 9699.0), False) for k in range(3)],
    *[("ema20_touch", _touch(k, 10200.0), True) for k in range(3)],
    *[("ema20_touch", _touch(k, 10201.0), False) for k in range(3)],
    ("volume_contraction", {"vma5": 1e6}, False),  # VMA5 = VMA20: not strictly below
    ("volume_contraction", {"vma5": 999_999.0}, True),
    ("reversal_bar", {"open": 10000.0}, False),  # c_t = o_t
    ("reversal_bar", {"open": 9999.0}, True),
    ("reversal_bar", {"prev_close": 10000.0}, False),  # c_t = c_{t−1}
    ("reversal_bar", {"prev_close": 9999.0}, True),
]  # fmt: skip


@pytest.mark.parametrize(("code", "overrides", "passes"), PULLBACK_CASES)
def test_pullback_check_boundaries(code, overrides, passes):
    result = run([T(**overrides)])
    assert check_passed(result, "v2_lite", code) is passes
    pull = sub(result, "v2_lite")
    assert pull.reasons[0] == (None if passes else code)


@pytest.mark.parametrize(
    ("lows", "expected"),
    [
        ((9800.0, 9800.0, 9800.0), 0),  # all touch: t comes first
        ((9000.0, 9800.0, 9800.0), 1),  # t−1 before t−2
        ((9000.0, 9000.0, 9800.0), 2),
        ((9000.0, 9000.0, 9000.0), None),  # 9000 < 0.97 · 9800 = 9506
    ],
)
def test_touch_bar_is_first_of_t_t1_t2(lows, expected):
    result = run([T(lows=lows)])
    flags = sub(result, "v2_lite").explain_extra(0)["flags"]
    assert flags["touch_bar"] == expected
    assert flags["checks"]["ema20_touch"] is (expected is not None)


def test_high_window_other_than_20_reads_window_highs():
    # high_window 5: highs of the last 5 bars 10400, 10600, 10600, 10300, 10200 (oldest first);
    # H = 10600, latest bar with h = H is t−2 → HIGH_AGE 2; PB_DEPTH = 1 − 10000/10600 = 0.0566
    tk = T(highs=(10400.0, 10600.0, 10600.0, 10300.0, 10200.0), high_age=15.0, depth=0.5)
    prm = params(pullback={"high_window": 5})
    result = run_v3(build([tk]), prm)
    values = {c.code: c for c in sub(result, "v2_lite").checks.checks}
    assert values["high_age"].values["H20"][0] == 10600.0
    assert values["high_age"].values["HIGH_AGE"][0] == 2.0
    assert values["pullback_depth"].values["PB_DEPTH"][0] == pytest.approx(0.05660377358)
    assert list(sub(result, "v2_lite").reasons) == [None]


# ----------------------------------------------------------------------------- score


def _score_flags(**overrides) -> dict:
    """Midterm flags of a single evaluated ticker (N = 1 → pr = 1, C2 = 2)."""
    return sub(run([T(**overrides)]), "midterm").explain_extra(0)["flags"]


@pytest.mark.parametrize(
    ("ema20", "expected"),
    [
        (11000.0, 3.0),  # 11000/10000 − 1 = 0.10 → full
        (12000.0, 3.0),  # 0.20: capped at 3
        (10500.0, 1.5),  # 0.05 / 0.10 · 3
        (10100.0, 0.3),  # 0.01 / 0.10 · 3
    ],
)
def test_c1_alignment(ema20, expected):
    flags = _score_flags(close=ema20 + 100.0, ema20=(ema20,) * 3, ema60=10000.0)
    assert flags["C1"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rsi", "expected"),
    [(45.0, 0.0), (60.0, 2.0), (72.0, 0.4), (52.5, 1.0), (67.5, 1.0)],  # 2·(1 − |RSI−60|/15)
)
def test_c3_rsi_closeness(rsi, expected):
    assert _score_flags(rsi=rsi)["C3"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("vma5", "expected"),
    [(7e5, 0.0), (8e5, 0.0), (1.15e6, 1.0), (1.5e6, 2.0), (3e6, 2.0)],  # q = VMA5 / 1e6
)
def test_c4_volume(vma5, expected):
    assert _score_flags(vma5=vma5)["C4"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("r20", "expected"),
    [
        (0.03, 0.0),  # (0.03 − 0.03)/0.03
        (0.045, 0.5),  # (0.045 − 0.03)/0.03
        (0.06, 1.0),
        (0.10, 1.0),
        (0.15, 1.0),
        (0.225, 0.5),  # (0.30 − 0.225)/0.15
        (0.30, 0.0),
    ],
)
def test_c5_return_band(r20, expected):
    assert _score_flags(r20=r20)["C5"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rsi", "r20", "c3", "c5", "score", "label"),
    [
        # C1 = 3 (EMA20/EMA60 = 1.1), C2 = 2 (N = 1), C4 = 0 (q = 0.8), then C3 + C5:
        (60.0, 0.10, 2.0, 1.0, 8.0, "강한 매수"),
        (52.5, 0.10, 1.0, 1.0, 7.0, "매수 후보"),
        (45.0, 0.10, 0.0, 1.0, 6.0, "관심 종목"),
        (45.0, 0.045, 0.0, 0.5, 5.5, "후보 종목"),
    ],
)
def test_score_sum_and_label(rsi, r20, c3, c5, score, label):
    tk = T(close=11500.0, ema20=(11000.0,) * 3, ema60=10000.0, vma5=8e5, rsi=rsi, r20=r20)
    pick = run([tk]).picks[0]
    assert pick.score == pytest.approx(score)
    assert pick.score_label == label
    assert pick.details == pytest.approx(
        {"C1": 3.0, "C2": 2.0, "C3": c3, "C4": 0.0, "C5": c5, "pr": 1.0}
    )


# ----------------------------------------------------------------------------- percentile rank


def test_percentile_ranks_with_ties():
    values = np.array([1.0, 2.0, 2.0, 3.0])
    pr, size = percentile_ranks(values, np.ones(4, dtype=bool), np.zeros(4, dtype=bool))
    # N = 4: 1 → (0 + 0)/3; 2 → (1 + 0.5·1)/3; 3 → (3 + 0)/3
    assert pr.tolist() == pytest.approx([0.0, 0.5, 0.5, 1.0])
    assert size.tolist() == [4, 4, 4, 4]


def test_percentile_ranks_all_equal_and_single():
    pr, _ = percentile_ranks(np.array([5.0, 5.0, 5.0]), np.ones(3, bool), np.zeros(3, bool))
    assert pr.tolist() == [0.5, 0.5, 0.5]  # (0 + 0.5·2)/2
    pr, size = percentile_ranks(np.array([7.0]), np.ones(1, bool), np.zeros(1, bool))
    assert pr.tolist() == [1.0] and size.tolist() == [1]


def test_percentile_ranks_outsider_added_to_set():
    values = np.array([1.0, 2.0, 3.0, 2.0, 9.0])
    in_set = np.array([True, True, True, False, False])
    outside = ~in_set
    pr, size = percentile_ranks(values, in_set, outside)
    # outsider 2.0 among {1, 2, 3} + itself: L = 1, Eq = 2, N = 4 → (1 + 0.5)/3
    # outsider 9.0: L = 3, Eq = 1, N = 4 → 3/3
    assert pr.tolist() == pytest.approx([0.0, 0.5, 1.0, 0.5, 1.0])
    assert size.tolist() == [3, 3, 3, 4, 4]
    pr, size = percentile_ranks(np.array([4.0]), np.zeros(1, bool), np.ones(1, bool))
    assert pr.tolist() == [1.0] and size.tolist() == [1]  # empty set + itself: N = 1


def test_pr_is_over_all_evaluated_tickers_not_only_passing_ones():
    # three evaluated tickers; the one with the lowest slope fails rsi_band but still counts.
    tickers = [
        T(code="000001", slope_pct=0.001, rsi=90.0),
        T(code="000002", slope_pct=0.002),
        T(code="000003", slope_pct=0.003),
        T(code="000004", slope_pct=0.0025, member=False),  # outsider: pr as if added
    ]
    result = run(tickers)
    midterm = sub(result, "midterm")
    assert midterm.explain_extra(1)["flags"]["slope_percentile"] == pytest.approx(0.5)  # 1/2
    assert midterm.explain_extra(2)["flags"]["slope_percentile"] == pytest.approx(1.0)  # 2/2
    assert midterm.explain_extra(1)["flags"]["evaluated_set_size"] == 3
    outsider = midterm.explain_extra(3)
    assert outsider["flags"]["slope_percentile"] == pytest.approx(2 / 3)  # L = 2 of N = 4
    assert outsider["flags"]["evaluated_set_size"] == 4
    assert outsider["details"]["C2"] == pytest.approx(4 / 3)
    assert midterm.reasons[3] == "not_in_universe" and midterm.diagnostic_reasons[3] is None
    assert midterm.explain_extra(0)["score"] is None  # fails rsi_band: no score
    assert midterm.explain_extra(0)["flags"]["C1"] is None


# ----------------------------------------------------------------------------- routing


@pytest.mark.parametrize("regime", ["bull", "bear", "crash", "neutral"])
@pytest.mark.parametrize("risk", ["normal", "elevated", "stressed"])
def test_routing_by_regime_and_risk(regime, risk):
    result = run([T()], cond=condition(regime=regime, risk=risk))
    ran = regime == "neutral" and risk == "normal"
    routing = result.run_record["v3"]["routing"]
    assert routing["pullback_ran"] is ran
    assert routing["final_regime"] == regime
    assert routing["short_term_risk_label"] == risk
    pull = sub(result, "v2_lite")
    if ran:
        assert routing["why_not"] is None
        assert pull.reasons[0] is None
    else:
        expected = (
            f"final_regime={regime}" if regime != "neutral" else f"short_term_risk_label={risk}"
        )
        assert routing["why_not"] == expected
        assert pull.reasons[0] == "regime_gate"
        assert pull.diagnostic_reasons[0] is None  # the diagnostics pass
        assert not pull.evaluated[0] and not pull.matched[0]
        assert len(pull.picks) == 0
    # midterm always runs
    assert sub(result, "midterm").reasons[0] is None


def test_status_unknown_does_not_route_pullback():
    result = run([T(), T(code="000020", vma5=2e6)], cond=condition(status="unknown"))
    routing = result.run_record["v3"]["routing"]
    assert routing == {
        "final_regime": "unknown",
        "short_term_risk_label": "unknown",
        "pullback_ran": False,
        "why_not": "status=unknown",
    }
    pull = sub(result, "v2_lite")
    assert list(pull.reasons) == ["regime_gate", "regime_gate"]
    assert list(pull.diagnostic_reasons) == [None, "volume_contraction"]
    assert [p.sub_engine for p in result.picks] == ["midterm", "midterm"]
    assert all(p.flags["sub_engines"] == ["midterm"] for p in result.picks)
    assert all(p.flags["market_condition_status"] == "unknown" for p in result.picks)


def test_pullback_disabled():
    result = run([T()], prm=params(pullback_enabled=False))
    assert result.run_record["v3"]["routing"]["why_not"] == "pullback_enabled=false"
    assert sub(result, "v2_lite").reasons[0] == "regime_gate"


def test_route_order_of_why_not():
    cond = condition(status="unknown")
    assert route(cond, False) == (False, "status=unknown")
    assert route(condition(regime="bull", risk="elevated"), False) == (False, "final_regime=bull")
    assert route(condition(), True) == (True, None)


def test_regime_gate_keeps_earlier_reasons():
    tickers = [
        T(code="000001", bar_on_date=False),
        T(code="000002", n_bars=59),
        T(code="000003", member=False),
        T(code="000004", depth=0.5),
    ]
    pull = sub(run(tickers, cond=condition(regime="bull")), "v2_lite")
    assert list(pull.reasons) == [
        "no_bar_on_date",
        "insufficient_history",
        "not_in_universe",
        "regime_gate",
    ]
    assert list(pull.diagnostic_reasons) == [None, None, None, "pullback_depth"]


# ----------------------------------------------------------------------------- pre-reasons


def test_pre_reasons_and_min_bars_boundary():
    tickers = [
        T(code="000001", bar_on_date=False),
        T(code="000002", n_bars=59),  # fewer than min_bars 60
        T(code="000003", n_bars=60),  # exactly min_bars: evaluated
        T(code="000004", member=False, rsi=99.0),
    ]
    result = run(tickers)
    midterm = sub(result, "midterm")
    assert list(midterm.reasons) == [
        "no_bar_on_date",
        "insufficient_history",
        None,
        "not_in_universe",
    ]
    assert list(midterm.diagnostic_reasons) == [None, None, None, "rsi_band"]
    assert midterm.evaluated.tolist() == [False, False, True, False]
    assert midterm.explain_extra(0) == {
        "score": None,
        "score_label": None,
        "flags": None,
        "details": None,
    }
    counts = result.run_record["counts"]
    assert counts == {
        "universe_count": 3,
        "evaluated_count": 1,
        "candidates_count": 1,
        "matched_count": 1,
    }


# ----------------------------------------------------------------------------- selection


def test_top_n_cut_and_not_in_top_k():
    # scores differ only by C3: RSI 60 → 2, 56.25 → 1.5, 52.5 → 1 (pr ties are equal: 0.5 each)
    tickers = [
        T(code="000001", rsi=52.5, slope_pct=0.001),
        T(code="000002", rsi=60.0, slope_pct=0.001),
        T(code="000003", rsi=56.25, slope_pct=0.001),
    ]
    result = run(tickers, prm=params(top_n=2, pullback={"top_n": 1}))
    midterm = sub(result, "midterm")
    assert [(p.ticker, p.rank) for p in midterm.picks] == [("000002", 1), ("000003", 2)]
    assert list(midterm.reasons) == ["not_in_top_k", None, None]
    assert midterm.picks[0].score - midterm.picks[1].score == pytest.approx(0.5)
    pull = sub(result, "v2_lite")
    # all three match pullback with DIST_EMA20 0.02: ties → traded value (equal) → code
    assert [p.ticker for p in pull.picks] == ["000001"]
    assert list(pull.reasons) == [None, "not_in_top_k", "not_in_top_k"]


def test_midterm_tie_break_traded_value_then_code():
    tickers = [
        T(code="000003", value=5e9),
        T(code="000001", value=5e9),
        T(code="000002", value=9e9),
    ]
    result = run(tickers, cond=condition(regime="bull"))
    assert [p.ticker for p in result.picks] == ["000002", "000001", "000003"]
    scores = {p.score for p in result.picks}
    assert len(scores) == 1  # equal slopes → pr 0.5 each → identical scores


def test_pullback_order_by_dist_ema20_ascending():
    tickers = [
        T(code="000001", dist=0.03, rsi=90.0),  # pullback only (midterm fails rsi_band)
        T(code="000002", dist=0.01, rsi=90.0),
        T(code="000003", dist=0.02, rsi=90.0, value=2e10),
        T(code="000004", dist=0.02, rsi=90.0, value=3e10),
    ]
    result = run(tickers)
    assert [(p.ticker, p.rank) for p in result.picks] == [
        ("000002", 1),
        ("000004", 2),
        ("000003", 3),
        ("000001", 4),
    ]
    assert all(p.flags["sub_engines"] == ["v2_lite"] for p in result.picks)


def test_merge_storage_order_and_ranks():
    tickers = [
        T(code="000001", rsi=90.0, dist=0.001),  # pullback only, v2_lite rank 1
        T(code="000002", dist=0.01),  # both: midterm rank 1, v2_lite rank 2
        T(code="000003", vma5=2e6),  # midterm only (no volume contraction), midterm rank 2
    ]
    result = run(tickers)
    stored = [(p.ticker, p.sub_engine, p.rank) for p in result.picks]
    # 000003 has C4 = 2 (q = 2) vs 000002's C4 = 2·0.1/0.7: it ranks first
    assert stored == [
        ("000003", "midterm", 1),
        ("000002", "midterm", 2),
        ("000001", "v2_lite", 1),
    ]
    merged = result.picks[1]
    assert merged.flags["sub_engines"] == ["midterm", "v2_lite"]
    assert merged.flags["v2_lite"]["rank"] == 2
    assert merged.flags["v2_lite"]["flags"]["checks"]["reversal_bar"] is True
    assert [p.ticker for p in sub(result, "v2_lite").picks] == ["000001", "000002"]
    assert result.matched_count == 3
    assert result.run_record["counts"]["matched_count"] == 3
    assert result.run_record["v3"]["v2_lite"]["merged_count"] == 1
    assert sub(result, "midterm").explain_extra(0)["flags"]["sub_engines"] == ["v2_lite"]


# ----------------------------------------------------------------------------- records


def test_pick_record_fields():
    result = run([T()], cond=condition(regime="bull"))
    pick = result.picks[0]
    assert list(pick.to_record()) == [
        "ticker", "name", "market", "engine", "sub_engine", "rank", "score", "score_label",
        "strategy", "close", "volume", "change_rate", "traded_value", "indicators", "trend",
        "flags", "details",
    ]  # fmt: skip
    assert (pick.name, pick.market, pick.close, pick.volume) == (
        "name000010",
        "KOSPI",
        10000,
        1000000,
    )
    assert pick.traded_value == 1e10 and pick.change_rate == 0.5
    assert pick.indicators == {
        "EMA20": 9800.0, "EMA60": 9000.0, "RSI14": 60.0, "VMA5": 9e5, "VMA20": 1e6, "R20": 0.10,
        "turnover20": 5e9, "close": 10000.0,
    }  # fmt: skip
    assert pick.trend == {
        "TEMA20_SLOPE20": 1.5, "OBV_SLOPE20": 2.5, "DEMA10_SLOPE20": 3.5, "ABOVE_CNT5": 3,
        "EMA60_SLOPE20": 10.0, "EMA60_SLOPE20_PCT": 10.0 / 9000.0,
    }  # fmt: skip
    flags = pick.flags
    assert flags["trading_strategy"] == "midterm" and flags["label"] == pick.score_label
    assert (flags["target_profit"], flags["stop_loss"], flags["holding_period"]) == (
        0.10,
        -0.07,
        15,
    )
    assert flags["holding_period_text"] is None
    assert flags["risk_score"] == 0 and not any(flags["risk_flags"].values())
    assert flags["thresholds"]["max_close_to_ema20"] == 1.12
    assert flags["checks"] == dict.fromkeys(
        ["liquidity", "price", "trend_alignment", "trend_slope", "rsi_band", "return_band",
         "overextended"], True,
    )  # fmt: skip
    assert flags["evaluated_set_size"] == 1 and flags["slope_percentile"] == 1.0
    json.dumps([p.to_record() for p in result.picks], allow_nan=False)
    json.dumps(result.run_record, allow_nan=False)
    json.dumps(result.params, allow_nan=False)


def test_pullback_record_fields():
    result = run([T(rsi=90.0)])
    pick = result.picks[0]
    assert (pick.sub_engine, pick.strategy, pick.score, pick.score_label) == (
        "v2_lite",
        "v2_lite",
        None,
        "눌림목",
    )
    assert pick.indicators == {
        "EMA20": 9800.0, "EMA60": 9000.0, "VMA5": 9e5, "VMA20": 1e6, "H20": 10500.0,
        "HIGH_AGE": 5, "PB_DEPTH": 0.05, "DIST_EMA20": 0.02, "turnover20": 5e9, "close": 10000.0,
    }  # fmt: skip
    flags = pick.flags
    assert (flags["target_profit"], flags["stop_loss"], flags["holding_period"]) == (
        0.05,
        -0.02,
        14,
    )
    assert flags["touch_bar"] == 0 and flags["sub_engines"] == ["v2_lite"]
    assert len(flags["checks"]) == 10 and all(flags["checks"].values())
    assert pick.details["reversal_bar"] == {
        "close": 10000.0,
        "open": 9900.0,
        "prev_close": 9950.0,
    }
    assert pick.details["DIST_EMA20"] == 0.02


def test_risk_flags_informational():
    tk = T(rsi_tema=80.5, volume=3.1e6, vma5=1e6, macd_duration=2, up_days5=4)
    # vma5 = 1e6 = VMA20 fails volume_contraction: pullback does not pick; midterm does
    flags = run([tk]).picks[0].flags
    assert flags["risk_flags"] == {
        "rsi_overbought": True,  # 80.5 > 80
        "vol_spike": True,  # 3.1e6 > 3 · 1e6
        "momentum_weak": True,  # 2 < 3
        "price_exhaustion": True,  # 4 ≥ 4
    }
    assert flags["risk_score"] == 6


def test_run_record_and_params():
    result = run([T(), T(code="000002", rsi=90.0)])
    assert result.version == "v3"
    v3 = result.run_record["v3"]
    assert v3["midterm"] == {"evaluated_count": 2, "candidates_count": 1, "matched_count": 1}
    assert v3["v2_lite"] == {
        "ran": True,
        "evaluated_count": 2,
        "candidates_count": 2,
        "matched_count": 2,
        "merged_count": 1,
    }
    assert result.run_record["counts"]["candidates_count"] == 2
    assert result.params["pullback_enabled"] is True
    assert result.params["midterm"]["label_thresholds"] == [8.0, 7.0, 6.0]
    assert result.params["pullback"]["touch_low"] == 0.97


def test_empty_result():
    result = run([T(turnover=1.0)])
    assert result.picks == ()
    assert result.run_record["counts"]["matched_count"] == 0


def test_deterministic():
    tickers = [T(code=f"{i:06d}", rsi=50 + i % 7, dist=0.01 * (i % 3)) for i in range(30)]
    first, second = run(tickers), run(list(reversed(tickers)))

    def dump(result):
        return json.dumps([p.to_record() for p in result.picks], sort_keys=True)

    assert dump(first) == dump(run(tickers))
    # the column order of the input does not change the picks
    assert dump(second) == dump(first)


def test_window_lookback_must_match():
    with pytest.raises(ValueError, match="lookback 220"):
        run_v3(build([T()], lookback=100), V3Params())


# ----------------------------------------------------------------------------- parameters


def test_default_params_match_spec():
    prm = V3Params()
    m, p = prm.midterm, prm.pullback
    assert prm.pullback_enabled is True
    assert (m.lookback, m.min_bars, m.min_turnover_krw, m.min_price) == (220, 60, 1e9, 2000)
    assert (m.rsi_min, m.rsi_max, m.r20_min, m.r20_max, m.max_close_to_ema20) == (
        45, 72, 0.03, 0.30, 1.12,
    )  # fmt: skip
    assert (m.align_full, m.rsi_center, m.rsi_width) == (0.10, 60, 15)
    assert (m.vol_ratio_low, m.vol_ratio_high, m.r20_sweet_low, m.r20_sweet_high) == (
        0.8, 1.5, 0.06, 0.15,
    )  # fmt: skip
    assert (m.label_thresholds, m.top_n) == ((8.0, 7.0, 6.0), 10)
    assert (m.target_profit, m.stop_loss, m.holding_period) == (0.10, -0.07, 15)
    assert (p.lookback, p.min_bars, p.min_turnover_krw, p.min_price) == (220, 60, 1e9, 2000)
    assert (p.high_window, p.high_max_age, p.depth_min, p.depth_max) == (20, 9, 0.03, 0.12)
    assert (p.touch_bars, p.touch_low, p.touch_high, p.top_n) == (3, 0.97, 1.02, 10)
    assert (p.target_profit, p.stop_loss, p.holding_period) == (0.05, -0.02, 14)


@pytest.mark.parametrize(
    ("cls", "name", "value"),
    [
        (MidtermParams, "lookback", 59),  # < min_bars
        (MidtermParams, "min_bars", 20),
        (MidtermParams, "min_bars", 60.0),
        (MidtermParams, "min_turnover_krw", -1),
        (MidtermParams, "min_price", "2000"),
        (MidtermParams, "rsi_max", 40.0),
        (MidtermParams, "r20_max", float("nan")),
        (MidtermParams, "max_close_to_ema20", 0.0),
        (MidtermParams, "align_full", 0.0),
        (MidtermParams, "rsi_width", -1.0),
        (MidtermParams, "vol_ratio_high", 0.8),
        (MidtermParams, "r20_sweet_low", 0.03),
        (MidtermParams, "r20_sweet_high", 0.05),
        (MidtermParams, "label_thresholds", [6.0, 7.0, 8.0]),
        (MidtermParams, "label_thresholds", [8.0, 7.0]),
        (MidtermParams, "top_n", 0),
        (MidtermParams, "top_n", True),
        (MidtermParams, "target_profit", 0.0),
        (MidtermParams, "stop_loss", 0.07),
        (MidtermParams, "holding_period", 0),
        (PullbackParams, "high_window", 61),
        (PullbackParams, "high_max_age", -1),
        (PullbackParams, "depth_max", 0.01),
        (PullbackParams, "touch_bars", 0),
        (PullbackParams, "touch_low", 0.0),
        (PullbackParams, "touch_high", 0.9),
        (PullbackParams, "stop_loss", 0.02),
    ],
)
def test_params_validation_names_the_field(cls, name, value):
    with pytest.raises(ConfigError, match=rf"\] {name} must be"):
        cls(**{name: value})


def test_v3_params_validation():
    with pytest.raises(ConfigError, match="pullback_enabled"):
        V3Params(pullback_enabled="yes")
    with pytest.raises(ConfigError, match=r"\[engines.v3.pullback\] lookback must equal"):
        V3Params(pullback=PullbackParams(lookback=250))


def test_from_mapping():
    prm = V3Params.from_mapping(
        {"pullback_enabled": False}, {"top_n": 5, "min_price": 1000}, {"touch_bars": 2}
    )
    assert prm.pullback_enabled is False
    assert prm.midterm.top_n == 5 and prm.midterm.min_price == 1000.0
    assert prm.pullback.touch_bars == 2
    assert V3Params.from_mapping() == V3Params()
    # Config sections arrive as read-only mappings
    frozen = V3Params.from_mapping(
        MappingProxyType({}), MappingProxyType({"label_thresholds": [9, 8, 7]}), None
    )
    assert frozen.midterm.label_thresholds == (9.0, 8.0, 7.0)


@pytest.mark.parametrize(
    ("mappings", "section", "key"),
    [
        (({"enabled": True}, {}, {}), "engines.v3", "enabled"),
        (({"midterm": {}}, {}, {}), "engines.v3", "midterm"),
        (({}, {"top_k": 5}, {}), "engines.v3.midterm", "top_k"),
        (({}, {}, {"high_age": 5}), "engines.v3.pullback", "high_age"),
    ],
)
def test_from_mapping_rejects_unknown_keys(mappings, section, key):
    with pytest.raises(ConfigError, match=rf"\[{section}\] unknown key '{key}'"):
        V3Params.from_mapping(*mappings)
