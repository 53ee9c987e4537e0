"""ENGINES.md §4 (shared by v1 and v2): base risk, sub-scores, classifier, guidance, label, bonus,
name filter, and the shared parameter checks. Expected values are written by hand from the spec.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scanctl.engines import scoring as sc
from scanctl.errors import ConfigError
from tests.engines.builders import condition, make_input, ticker

SWING, POSITION, LONGTERM, WATCH = "스윙", "포지션", "장기", "관찰"


def bar_of(*tickers: dict) -> sc.BarT:
    return sc.BarT.of(make_input(list(tickers)))


class Limits:
    """Stands in for V1Params/V2Params where only the §4.1 parameters are read."""

    vol_spike_threshold = 3.0
    momentum_duration_min = 3


# --------------------------------------------------------------------------- §4.1


def risk_of(**fields: float) -> sc.RiskFlags:
    base = {"RSI_TEMA": 50.0, "volume": 100_000.0, "VOL_MA5": 100_000.0}
    inp = make_input([ticker("A", **{**base, **fields})])
    s = inp.scalars
    return sc.risk_flags(sc.BarT.of(inp), s.macd_duration, s.up_days5, Limits)


@pytest.mark.parametrize(
    ("fields", "flag", "expected"),
    [
        ({"RSI_TEMA": 80.0}, "rsi_overbought", False),  # > 80, strict
        ({"RSI_TEMA": 80.01}, "rsi_overbought", True),
        ({"volume": 300_000.0}, "vol_spike", False),  # v > 3.0·VOL_MA5, strict
        ({"volume": 300_001.0}, "vol_spike", True),
        ({"macd_duration": 3}, "momentum_weak", False),  # macd_duration < 3
        ({"macd_duration": 2}, "momentum_weak", True),
        ({"macd_duration": 3, "up_days5": 3}, "price_exhaustion", False),  # up_days5 ≥ 4
        ({"macd_duration": 3, "up_days5": 4}, "price_exhaustion", True),
    ],
)
def test_risk_flag_boundaries(fields, flag, expected):
    assert bool(getattr(risk_of(**fields), flag)[0]) is expected


def test_base_risk_points_sum_to_six():
    risk = risk_of(RSI_TEMA=85.0, volume=400_000.0, macd_duration=0, up_days5=5)
    assert risk.base_risk.tolist() == [6]  # 2 + 2 + 1 + 1
    assert risk_of(RSI_TEMA=85.0, macd_duration=5).base_risk.tolist() == [2]
    assert risk_of(macd_duration=1, up_days5=4).base_risk.tolist() == [2]
    assert risk.record(0) == dict.fromkeys(
        ("rsi_overbought", "vol_spike", "momentum_weak", "price_exhaustion"), True
    )


# --------------------------------------------------------------------------- §4.2


def test_sub_scores():
    t, f = True, False
    ok = {
        "cross": np.array([t, f, t]),
        "vol_expand": np.array([t, f, f]),
        "macd_ok": np.array([t, f, t]),
        "rsi_ok": np.array([t, f, f]),
        "tema_slope_ok": np.array([t, f, t]),
        "obv_slope_ok": np.array([t, f, f]),
        "above_cnt5_ok": np.array([t, f, t]),
        "dema_slope_ok": np.array([t, f, f]),
    }
    assert sc.momentum_score(ok).tolist() == [7, 0, 4]  # 3+2+1+1, 0, 3+1
    assert sc.trend_score(ok).tolist() == [8, 0, 4]


# --------------------------------------------------------------------------- §4.3


def classify(x, cross=False, vol_expand=False, momentum=0, trend=0, rsi=None):
    ok = {"cross": np.array([cross]), "vol_expand": np.array([vol_expand])}
    rsi_arr = None if rsi is None else np.array([rsi], dtype=float)
    out = sc.trading_strategy(
        np.array([x], dtype=float), ok, np.array([momentum]), np.array([trend]), rsi_arr
    )
    return out[0]


@pytest.mark.parametrize("rsi", [None, 50.0])  # the two top bands are the same in both columns
@pytest.mark.parametrize(
    ("x", "kwargs", "expected"),
    [
        # X ≥ 10: cross ∧ vol_expand ∧ momentum ≥ 6 → 스윙; else trend ≥ 5 → 포지션; else 스윙
        (10.0, {"cross": True, "vol_expand": True, "momentum": 6, "trend": 8}, SWING),
        (10.0, {"cross": True, "vol_expand": True, "momentum": 5, "trend": 6}, POSITION),
        (10.0, {"cross": True, "vol_expand": True, "momentum": 5, "trend": 4}, SWING),
        (10.0, {"cross": False, "vol_expand": True, "momentum": 6, "trend": 5}, POSITION),
        # 8 ≤ X < 10: cross ∧ trend ≥ 4 → 포지션; else vol_expand ∧ momentum ≥ 5 → 스윙; else 포지션
        (9.99, {"cross": True, "vol_expand": True, "momentum": 6, "trend": 8}, POSITION),
        (8.0, {"cross": True, "trend": 4}, POSITION),
        (8.0, {"cross": True, "vol_expand": True, "momentum": 5, "trend": 2}, SWING),
        (8.0, {"cross": False, "vol_expand": True, "momentum": 4, "trend": 8}, POSITION),
        (8.0, {"cross": False, "vol_expand": True, "momentum": 5, "trend": 8}, SWING),
    ],
)
def test_classifier_top_bands(x, kwargs, expected, rsi):
    assert classify(x, rsi=rsi, **kwargs) == expected


@pytest.mark.parametrize(
    ("x", "trend", "expected"),
    [
        (7.99, 2, LONGTERM),  # 6 ≤ X < 8: trend ≥ 2 → 장기
        (6.0, 2, LONGTERM),
        (6.0, 0, WATCH),
        (5.99, 8, WATCH),  # 4 ≤ X < 6: 관찰
        (4.0, 8, WATCH),
        (3.99, 8, WATCH),  # X < 4
        (math.nan, 8, WATCH),  # undefined X: every band test is false
    ],
)
def test_classifier_v1_lower_bands(x, trend, expected):
    assert classify(x, cross=True, vol_expand=True, momentum=7, trend=trend) == expected


@pytest.mark.parametrize(
    ("x", "trend", "rsi", "expected"),
    [
        (7.99, 4, 64.99, LONGTERM),  # 6 ≤ X < 8: trend ≥ 3 ∧ RSI_TEMA < 65 → 장기
        (6.0, 4, 65.0, WATCH),
        (6.0, 2, 50.0, WATCH),  # trend 2 < 3
        (5.99, 2, 64.99, LONGTERM),  # 4 ≤ X < 6: trend ≥ 2 ∧ RSI_TEMA < 65 → 장기
        (4.0, 2, 65.0, WATCH),
        (4.0, 0, 50.0, WATCH),
        (3.99, 8, 10.0, WATCH),  # X < 4
    ],
)
def test_classifier_v2_lower_bands_read_rsi_tema(x, trend, rsi, expected):
    assert classify(x, momentum=0, trend=trend, rsi=rsi) == expected


# --------------------------------------------------------------------------- §4.4, §4.5


def test_guidance_table():
    assert sc.guidance(SWING) == {
        "target_profit": 0.05,
        "stop_loss": -0.05,
        "holding_period": 10,
        "holding_period_text": "3~10일",
    }
    assert sc.guidance(POSITION) == {
        "target_profit": 0.10,
        "stop_loss": -0.07,
        "holding_period": 60,
        "holding_period_text": "2주~3개월",
    }
    assert sc.guidance(LONGTERM) == {
        "target_profit": 0.15,
        "stop_loss": -0.10,
        "holding_period": 120,
        "holding_period_text": "3개월 이상",
    }
    assert sc.guidance(WATCH) == dict.fromkeys(
        ("target_profit", "stop_loss", "holding_period", "holding_period_text")
    )
    assert all(type(sc.guidance(s)["holding_period"]) is int for s in (SWING, POSITION, LONGTERM))


def test_score_label_boundaries():
    x = np.array([10.0, 9.99, 8.0, 7.99, 6.0, 5.99, -1.0, math.nan])
    assert sc.score_label(x).tolist() == [
        "강한 매수",
        "매수 후보",
        "매수 후보",
        "관심 종목",
        "관심 종목",
        "후보 종목",
        "후보 종목",
        "후보 종목",
    ]


MARKETS = np.array(["KOSPI", "KOSDAQ", "KONEX", None], dtype=object)


@pytest.mark.parametrize(
    ("divergence", "bonus", "kospi", "kosdaq"),
    [
        ("kospi_up_kosdaq_down", [1.0, 0.0, 0.0, 0.0], [True, False, False, False], [False] * 4),
        ("kospi_down_kosdaq_up", [0.0, 1.0, 0.0, 0.0], [False] * 4, [False, True, False, False]),
        ("", [0.0] * 4, [False] * 4, [False] * 4),
    ],
)
def test_divergence_bonus_by_market(divergence, bonus, kospi, kosdaq):
    out = sc.divergence_bonus(MARKETS, condition(divergence_type=divergence), 1.0)
    assert out.value.tolist() == bonus
    assert out.kospi.tolist() == kospi
    assert out.kosdaq.tolist() == kosdaq


def test_divergence_bonus_needs_status_ok_and_uses_the_configured_amount():
    unknown = condition("unknown", divergence_type="kospi_up_kosdaq_down")
    assert sc.divergence_bonus(MARKETS, unknown, 1.0).value.tolist() == [0.0] * 4
    ok = condition(divergence_type="kospi_up_kosdaq_down")
    assert sc.divergence_bonus(MARKETS, ok, 2.5).value.tolist() == [2.5, 0.0, 0.0, 0.0]


def test_name_keyword_case_sensitive_substring_first_keyword_wins():
    names = np.array(
        ["KODEX 레버리지", "ABC short", "ABC SHORT", "채권레버리지", "삼성전자"], object
    )
    found = sc.name_keyword(names, ("인버스", "SHORT", "레버리지", "채권"))
    assert found.tolist() == ["레버리지", None, "SHORT", "레버리지", None]


# --------------------------------------------------------------------------- components


def components(**fields):
    base = {
        "close": 10_000.0,
        "volume": 100_000.0,
        "VOL_MA5": 100_000.0,
        "VMA20": 100_000.0,
        "TEMA20": 9_900.0,
        "RSI_TEMA": 50.0,
        "RSI_DEMA": 50.0,
        "MACD_OSC": -1.0,
        "TEMA20_SLOPE20": 0.0,
        "OBV_SLOPE20": 0.0,
    }
    inp = make_input([ticker("A", **{**base, **fields})])
    return sc.score_components(
        sc.BarT.of(inp),
        inp.scalars,
        sc.Weights(),
        vol_mults=(2.5, 1.2),
        macd_osc_min=0.0,
        rsi_threshold=58.0,
        dema_slope_ok=np.array([False]),
        dema_weight=2,
    )


@pytest.mark.parametrize(
    ("fields", "flag", "expected"),
    [
        ({"volume": 250_000.0}, "vol_expand", True),  # v ≥ 2.5·VOL_MA5 ∧ v ≥ 1.2·VMA20
        ({"volume": 249_999.0}, "vol_expand", False),
        ({"volume": 240_000.0, "VOL_MA5": 96_000.0, "VMA20": 200_000.0}, "vol_expand", True),
        ({"volume": 240_000.0, "VOL_MA5": 96_000.0, "VMA20": 200_001.0}, "vol_expand", False),
        ({"volume": 250_000.0, "VOL_MA5": 0.0}, "vol_expand", False),  # VOL_MA5 > 0
        ({"volume": 250_000.0, "VMA20": 0.0}, "vol_expand", False),  # VMA20 > 0
        ({"MACD_OSC": 0.0}, "macd_ok", False),  # MACD_OSC > macd_osc_min, strict
        ({"MACD_OSC": 1e-9}, "macd_ok", True),
        ({"macd_golden_cross": True}, "macd_ok", True),
        ({"macd_line_up": True}, "macd_ok", True),
        ({"RSI_TEMA": 55.0, "RSI_DEMA": 54.99}, "rsi_ok", True),  # RSI_TEMA > RSI_DEMA
        ({"RSI_TEMA": 58.0, "RSI_DEMA": 59.0}, "rsi_ok", False),  # near, but not > 58
        ({"RSI_TEMA": 58.01, "RSI_DEMA": 59.0}, "rsi_ok", True),
        ({"RSI_TEMA": 60.0, "RSI_DEMA": 63.0}, "rsi_ok", False),  # |Δ| < 3, strict
        ({"RSI_TEMA": 60.0, "RSI_DEMA": 62.99}, "rsi_ok", True),
        ({"TEMA20_SLOPE20": 0.001}, "tema_slope_ok", False),  # > 0.001 ∧ c > TEMA20
        ({"TEMA20_SLOPE20": 0.0011}, "tema_slope_ok", True),
        ({"TEMA20_SLOPE20": 0.0011, "TEMA20": 10_000.0}, "tema_slope_ok", False),
        ({"OBV_SLOPE20": 0.001}, "obv_slope_ok", False),
        ({"OBV_SLOPE20": 0.0011}, "obv_slope_ok", True),
        ({"ABOVE_CNT5": 3}, "above_cnt5_ok", True),
        ({"ABOVE_CNT5": 2}, "above_cnt5_ok", False),
        ({"cross": True}, "cross", True),
    ],
)
def test_score_component_boundaries(fields, flag, expected):
    comps = components(**fields)
    assert bool(comps.ok[flag][0]) is expected
    weights = {"cross": 3, "vol_expand": 2, "macd_ok": 1, "rsi_ok": 1}
    weights.update(tema_slope_ok=2, obv_slope_ok=2, above_cnt5_ok=2)
    assert comps.raw_score.tolist() == [weights[flag] if expected else 0.0]


def test_signal_counts_and_details():
    comps = components(cross=True, volume=250_000.0, ABOVE_CNT5=4, OBV_SLOPE20=1.0)
    assert (comps.signals_basic[0], comps.signals_additional[0], comps.signals_count[0]) == (
        2,
        2,
        4,
    )
    details = comps.details(0)
    assert details["cross"] == {"ok": True, "w": 3, "gain": 3}
    assert details["rsi_ok"] == {"ok": False, "w": 1, "gain": 0}
    assert details["total"] == 9.0  # 3 + 2 + 2 + 2


# --------------------------------------------------------------------------- weights


@pytest.mark.parametrize("bad", [True, math.inf, math.nan, "1", -1])
def test_weights_are_numbers_at_least_zero(bad):
    with pytest.raises(ConfigError, match=r"cross must be a number ≥ 0, got"):
        sc.Weights(cross=bad)
