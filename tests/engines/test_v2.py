"""Engine v2 (ENGINES.md §6) on hand-built inputs; every expected value is worked out by hand.

Under the neutral condition of the builders (rsi_threshold 58, min_signals 3, macd_osc_min 0,
soft vol multiplier 1.6, gap_max = ext max = 0.025, RSI ceiling 83):

* BASE passes all 10 checks: S = 15 (all eight flags), extra risk 2 (vol_ratio 2.6 ≥ 2.5),
  m = 2.0, adjusted risk trunc(2 × 2.0) = 4, A = V = 11.
* PLAIN passes with S = 6 (tema_slope_ok, obv_slope_ok, above_cnt5_ok), no basic signal, no
  risk: V = 6. Its soft count is 4 (cond_gc + the three additional). With the weights of
  `only_tema(x)` its S, A and V are exactly x (for x ≥ 4).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from scanctl.engines.v2 import V2Params, regime_gate, resolve, run_v2
from scanctl.errors import ConfigError
from tests.engines.builders import condition, index_of, make_input, thresholds, ticker

BASE = {
    "name": "베타화학",
    "close": 10_000.0,
    "volume": 260_000.0,
    "EMA60": 9_000.0,
    "TEMA20": 9_900.0,
    "DEMA10": 9_800.0,
    "RSI_TEMA": 60.0,
    "RSI_DEMA": 55.0,
    "VOL_MA5": 100_000.0,
    "VMA20": 100_000.0,
    "MACD_LINE": 2.0,
    "MACD_SIGNAL": 1.0,
    "MACD_OSC": 1.0,
    "TEMA20_SLOPE20": 5.0,
    "OBV_SLOPE20": 1_000.0,
    "DEMA10_SLOPE20": 1.0,
    "ATR14": 200.0,
    "OBV": 1e6,
    "ABOVE_CNT5": 5,
    "cross": True,
    "crossed_recently": True,
    "macd_line_up": True,
    "macd_duration": 5,
    "up_days5": 2,
    "gap_now": 0.01,
    "ext_pct": 0.0101,
    "turnover20": 2e9,
    "ATR_PCT": 0.02,
    "vol_ratio": 2.6,
    "change_rate": -0.5,
}
PLAIN = {
    **BASE,
    "cross": False,
    "macd_line_up": False,
    "MACD_LINE": 1.0,
    "MACD_SIGNAL": 2.0,
    "MACD_OSC": -1.0,
    "RSI_TEMA": 50.0,
    "volume": 100_000.0,
    "vol_ratio": 1.0,
    "DEMA10_SLOPE20": 0.0,
}
BULL = thresholds(rsi_threshold=65.0, min_signals=2, macd_osc_min=-5.0, vol_ma5_mult=1.5)


def only_tema(x: float) -> dict:
    """Weights under which PLAIN scores exactly x."""
    weights = dict.fromkeys(("cross", "volume", "macd", "rsi", "obv_slope", "above_cnt5"), 0)
    return {**weights, "tema_slope": x, "dema_slope": 0}


def run(tickers, cond=None, **params):
    inp = make_input(tickers, cond if cond is not None else condition())
    return inp, run_v2(inp, V2Params(**params))


def codes(result):
    return [pick.ticker for pick in result.picks]


def outcome(fields, cond=None, base=BASE, **params):
    """'matched' (a candidate: passed every check) or the reason of one ticker."""
    _, result = run([ticker("X", base, fields)], cond, **params)
    sub = result.subs[0]
    return "matched" if sub.matched[0] else sub.reasons[0]


def flags(fields, cond=None, base=BASE, **params):
    _, result = run([ticker("X", base, fields)], cond, **params)
    return result.subs[0].explain_extra(0)["flags"]


def test_base_ticker_is_picked_with_the_full_record():
    _, result = run([ticker("A", BASE)])
    pick = result.picks[0]
    assert (pick.score, pick.engine, pick.rank, pick.change_rate) == (
        11.0,
        "v2",
        1,
        -0.5,
    )
    assert (pick.score_label, pick.strategy) == ("강한 매수", "스윙")
    f = pick.flags
    assert (f["raw_score"], f["base_risk_score"], f["additional_risk_6plus"]) == (15.0, 0, 2)
    assert (f["risk_score"], f["risk_multiplier"], f["adjusted_risk_score"]) == (2, 2.0, 4)
    assert (f["adjusted_score"], f["effective_score"], f["short_term_adjust"]) == (11.0, 11.0, 0.0)
    assert f["horizons"] == ["swing", "position", "longterm"]
    assert (f["signals_basic"], f["signals_additional"], f["signals_count"]) == (4, 3, 7)
    assert (f["min_signals_required"], f["scorer_signals_ok"], f["low_score_filtered"]) == (
        3,
        True,
        False,
    )
    assert f["soft"] == {
        "cond_gc": True,
        "cond_macd": True,
        "cond_rsi": True,
        "cond_vol": True,
        "signals_basic": 4,
        "signals_additional": 3,
        "signals_count": 7,
        "crossed_recently": True,
        "trend_ok": True,
        "is_bull": False,
    }
    assert (f["momentum_score"], f["trend_score"], f["low_score_reason"]) == (7, 8, None)
    assert f["thresholds"]["gap_max"] == 0.025 and f["thresholds"]["soft_vol_mult"] == 1.6
    assert f["thresholds"]["vol_ma5_mult"] == 2.5 and f["thresholds"]["rsi_ceiling"] == 83.0
    assert pick.details["dema_slope_ok"] == {"ok": True, "w": 2, "gain": 2}
    assert pick.details["total"] == 15.0
    json.dumps([[p.to_record() for p in result.picks], result.run_record, result.params])


def test_plain_ticker_scores_six():
    f = flags({}, base=PLAIN)
    assert (
        f["raw_score"],
        f["adjusted_score"],
        f["signals_basic"],
        f["soft"]["signals_count"],
    ) == (
        6.0,
        6.0,
        0,
        4,
    )
    assert flags({}, base=PLAIN, weights=only_tema(4.3))["adjusted_score"] == 4.3


# --------------------------------------------------------------------------- §6.3 checks


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "TIGER 3X"}, "name_filter"),
        ({"name": "KODEX 레버리지"}, "name_filter"),
        ({"name": "금리인하수혜"}, "name_filter"),  # bare 금리 is a v2 keyword
        ({"name": "우량회사채"}, "name_filter"),
        ({"name": "ABC SHORT"}, "matched"),  # SHORT is a v1 keyword only
        ({"turnover20": 1e9}, "matched"),
        ({"turnover20": 999_999_999.0}, "liquidity"),
        ({"close": 2_000.0, "TEMA20": 1_980.0, "DEMA10": 1_960.0}, "matched"),
        ({"close": 1_999.0, "TEMA20": 1_980.0, "DEMA10": 1_960.0}, "price"),
        ({"EMA60": 20_000.0}, "matched"),  # no EMA60 filter in v2
        ({"RSI_TEMA": 83.0}, "matched"),  # ≤ 58 + 25
        ({"RSI_TEMA": 83.01}, "rsi_ceiling"),
        ({"RSI_TEMA": 70.0, "volume": 300_000.0}, "overheat"),
        ({"RSI_TEMA": 69.99, "volume": 300_000.0}, "matched"),
        ({"RSI_TEMA": 70.0, "volume": 299_999.0}, "matched"),
        ({"gap_now": 0.002}, "matched"),
        ({"gap_now": 0.00199}, "gap_ext"),
        ({"gap_now": 0.025}, "matched"),  # market gap_max
        ({"gap_now": 0.02501}, "gap_ext"),
        ({"ext_pct": 0.025}, "matched"),
        ({"ext_pct": 0.02501}, "gap_ext"),
        ({"ATR_PCT": 0.5}, "matched"),  # use_atr_filter is false by default
        ({"TEMA20_SLOPE20": 0.0}, "trend_gate"),  # soft count 5, TEMA20_SLOPE20 > 0 fails
        ({"TEMA20_SLOPE20": 1e-9}, "matched"),
        ({"RSI_TEMA": 81.0, "macd_duration": 2}, "matched"),  # base risk 3 < 4
        ({"RSI_TEMA": 81.0, "macd_duration": 2, "up_days5": 4}, "risk"),  # 2 + 1 + 1
    ],
)
def test_hard_filter_boundaries(fields, expected):
    assert outcome(fields) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"TEMA20_SLOPE20": 0.0005}, "matched"),  # cond_gc, obv, above: 3 soft signals
        ({"TEMA20_SLOPE20": 0.0005, "OBV_SLOPE20": 0.0005}, "signals"),  # 2
        ({"OBV_SLOPE20": 0.0}, "trend_gate"),  # soft 3, OBV_SLOPE20 > 0 fails
        ({"OBV_SLOPE20": 1e-9}, "matched"),
        ({"ABOVE_CNT5": 3}, "matched"),
        ({"ABOVE_CNT5": 2}, "trend_gate"),  # soft 3 (gc, tema, obv)
    ],
)
def test_soft_signal_and_trend_boundaries(fields, expected):
    assert outcome(fields, base=PLAIN) == expected


def test_atr_filter_when_enabled():
    for value, expected in (
        (0.01, "matched"),
        (0.00999, "atr"),
        (0.04, "matched"),
        (0.04001, "atr"),
    ):
        assert outcome({"ATR_PCT": value}, use_atr_filter=True) == expected


def test_dema_slope_required_in_the_trend_gate():
    assert outcome({"DEMA10_SLOPE20": 0.0}) == "matched"  # optional (default)
    assert outcome({"DEMA10_SLOPE20": 0.0}, require_dema_slope="required") == "trend_gate"
    assert outcome({"DEMA10_SLOPE20": 1e-9}, require_dema_slope="required") == "matched"


def test_is_bull_trend_rule_two_of_four():
    bull = condition(market_sentiment="bull", thresholds=BULL)
    flat = {"TEMA20_SLOPE20": 0.0, "OBV_SLOPE20": 0.0, "ABOVE_CNT5": 2}  # votes: ABOVE, TEMA>DEMA
    assert outcome(flat, bull) == "matched"
    assert outcome({**flat, "ABOVE_CNT5": 1}, bull) == "trend_gate"
    assert outcome({**flat, "TEMA20": 9_800.0}, bull) == "trend_gate"  # TEMA20 = DEMA10
    assert outcome(flat) == "trend_gate"  # neutral: the strict rule


@pytest.mark.parametrize(
    ("cond", "is_bull"),
    [
        (condition(market_sentiment="bull"), True),
        (condition(final_regime="bull"), True),
        (condition(global_trend_score=1.0), False),  # > bull_trend_score_min, strict
        (condition(global_trend_score=1.01), True),
        (condition(global_trend_score=None), False),
        (condition("unknown", market_sentiment="bull"), False),
    ],
)
def test_is_bull(cond, is_bull):
    assert resolve(V2Params(), cond).is_bull is is_bull
    assert flags({}, cond)["soft"]["is_bull"] is is_bull


def test_status_unknown_uses_static_thresholds():
    unknown = condition("unknown")
    eff = resolve(V2Params(), unknown)
    assert (eff.rsi_threshold, eff.rsi_ceiling, eff.min_signals, eff.soft_vol_mult) == (
        58.0,
        83.0,
        3,
        2.5,
    )
    assert (eff.gap_max, eff.ext_from_tema20_max, eff.macd_osc_min) == (0.015, 0.015, 0.0)
    assert outcome({"gap_now": 0.02}) == "matched"
    assert outcome({"gap_now": 0.02}, unknown) == "gap_ext"
    assert outcome({"RSI_TEMA": 83.0}, unknown) == "matched"  # rsi_upper_limit 83
    assert outcome({"RSI_TEMA": 83.01}, unknown) == "rsi_ceiling"
    assert flags({"volume": 200_000.0})["soft"]["cond_vol"] is True  # market 1.6
    assert flags({"volume": 200_000.0}, unknown)["soft"]["cond_vol"] is False  # config 2.5


# --------------------------------------------------------------------------- §6.4, §6.5


@pytest.mark.parametrize(
    ("fields", "flag", "ok"),
    [
        ({"cross": False}, "cross", False),
        ({"volume": 250_000.0}, "vol_expand", True),
        ({"volume": 249_999.0}, "vol_expand", False),
        ({"volume": 200_000.0}, "vol_expand", False),  # config 2.5, never the market's 1.6
        ({"volume": 250_000.0, "VMA20": 208_334.0}, "vol_expand", False),
        ({"macd_line_up": False, "MACD_OSC": 0.0}, "macd_ok", False),
        ({"macd_line_up": False, "MACD_OSC": 1e-9}, "macd_ok", True),
        ({"macd_line_up": False, "MACD_OSC": -1.0, "macd_golden_cross": True}, "macd_ok", True),
        ({"RSI_TEMA": 58.0, "RSI_DEMA": 59.0}, "rsi_ok", False),
        ({"RSI_TEMA": 58.01, "RSI_DEMA": 59.0}, "rsi_ok", True),
        ({"RSI_TEMA": 60.0, "RSI_DEMA": 63.0}, "rsi_ok", False),
        ({"TEMA20_SLOPE20": 0.001}, "tema_slope_ok", False),
        ({"TEMA20_SLOPE20": 0.0011}, "tema_slope_ok", True),
        ({"TEMA20": 10_000.0}, "tema_slope_ok", False),
        ({"OBV_SLOPE20": 0.001}, "obv_slope_ok", False),
        ({"OBV_SLOPE20": 0.0011}, "obv_slope_ok", True),
        ({"ABOVE_CNT5": 3}, "above_cnt5_ok", True),
        ({"ABOVE_CNT5": 2}, "above_cnt5_ok", False),
        ({"DEMA10_SLOPE20": 0.001}, "dema_slope_ok", False),  # > 0.001
        ({"DEMA10_SLOPE20": 0.0011, "DEMA10": 20_000.0}, "dema_slope_ok", True),  # no price test
    ],
)
def test_score_component_boundaries(fields, flag, ok):
    weight = {"cross": 3, "vol_expand": 2, "macd_ok": 1, "rsi_ok": 1}.get(flag, 2)
    f = flags(fields)
    assert (f[flag], f["raw_score"]) == (ok, 15.0 if ok else 15.0 - weight)


def test_score_reads_market_macd_osc_min_and_rsi_threshold():
    bull = condition(thresholds=BULL)
    off = {"macd_line_up": False}
    assert flags({**off, "MACD_OSC": -4.99}, bull)["macd_ok"] is True  # > −5
    assert flags({**off, "MACD_OSC": -5.0}, bull)["macd_ok"] is False
    assert flags({**off, "MACD_OSC": -1.0}, condition("unknown"))["macd_ok"] is False  # 0.0
    assert flags({"RSI_TEMA": 64.0, "RSI_DEMA": 65.0}, bull)["rsi_ok"] is False
    assert flags({"RSI_TEMA": 65.01, "RSI_DEMA": 66.0}, bull)["rsi_ok"] is True


@pytest.mark.parametrize(
    ("fields", "flag", "expected"),
    [
        ({"crossed_recently": False, "TEMA20": 9_800.0}, "cond_gc", False),  # TEMA20 = DEMA10
        ({"crossed_recently": True, "TEMA20": 9_800.0}, "cond_gc", True),
        ({"crossed_recently": False}, "cond_gc", True),  # TEMA20 > DEMA10
        ({"TEMA20_SLOPE20": 0.0}, "cond_gc", False),
        ({"MACD_LINE": 1.0, "MACD_SIGNAL": 1.0, "MACD_OSC": 0.0}, "cond_macd", False),
        ({"MACD_LINE": 1.0, "MACD_SIGNAL": 1.0, "MACD_OSC": 1e-9}, "cond_macd", True),
        ({"MACD_LINE": 1.01, "MACD_SIGNAL": 1.0, "MACD_OSC": -1.0}, "cond_macd", True),
        ({"volume": 160_000.0}, "cond_vol", True),  # ≥ 1.6 × VOL_MA5
        ({"volume": 159_999.0}, "cond_vol", False),
        ({"VOL_MA5": 0.0}, "cond_vol", False),
        ({"RSI_TEMA": 58.01, "RSI_DEMA": 59.0}, "cond_rsi", True),
        ({"RSI_TEMA": 58.0, "RSI_DEMA": 59.0}, "cond_rsi", False),
    ],
)
def test_soft_conditions(fields, flag, expected):
    assert flags(fields)["soft"][flag] is expected


@pytest.mark.parametrize(
    ("fields", "extra"),
    [
        ({"RSI_TEMA": 75.0}, 3),
        ({"RSI_TEMA": 74.99}, 2),
        ({"RSI_TEMA": 70.0}, 2),
        ({"RSI_TEMA": 69.99}, 0),
        ({"vol_ratio": 3.0}, 3),
        ({"vol_ratio": 2.99}, 2),
        ({"vol_ratio": 2.5}, 2),
        ({"vol_ratio": 2.49}, 0),
        ({"ext_pct": 0.08}, 3),
        ({"ext_pct": 0.0799}, 2),
        ({"ext_pct": 0.05}, 2),
        ({"ext_pct": 0.0499}, 0),
        ({"RSI_TEMA": 70.0, "vol_ratio": 2.5}, 6),  # 2 + 2 + 2 of 3 → 2
        ({"RSI_TEMA": 70.0, "ext_pct": 0.05}, 6),
        ({"RSI_TEMA": 70.0, "vol_ratio": 2.5, "ext_pct": 0.05}, 8),
        ({"RSI_TEMA": 75.0, "vol_ratio": 3.0, "ext_pct": 0.08}, 11),
    ],
)
def test_extra_risk_terms(fields, extra):
    f = flags({"RSI_DEMA": 99.0, **fields}, base=PLAIN)  # RSI_DEMA high: rsi_ok off, S = 6
    assert (f["raw_score"], f["additional_risk_6plus"]) == (6.0, extra)
    assert f["risk_score"] == extra  # base risk 0


def test_extra_risk_only_when_s_is_at_least_6():
    hot = {"RSI_TEMA": 75.0, "RSI_DEMA": 99.0}
    assert flags(hot, base=PLAIN, weights=only_tema(5.99))["additional_risk_6plus"] == 0
    assert flags(hot, base=PLAIN, weights=only_tema(6.0))["additional_risk_6plus"] == 3


@pytest.mark.parametrize(
    ("s", "m"),
    [(8.0, 2.0), (7.99, 1.5), (6.0, 1.5), (5.99, 1.0), (4.0, 1.0)],
)
def test_risk_multiplier_bands(s, m):
    f = flags({"macd_duration": 1}, base=PLAIN, weights=only_tema(s))  # base risk 1
    assert (f["raw_score"], f["risk_multiplier"]) == (s, m)
    assert f["adjusted_risk_score"] == int(m)  # trunc(1 × m)


def test_adjusted_risk_truncates():
    f = flags({"macd_duration": 1, "up_days5": 4, "RSI_TEMA": 81.0, "RSI_DEMA": 99.0}, base=PLAIN)
    # base 2 + 1 + 1 = 4 → excluded (risk), but the flags are still computed:
    # extra 3 (RSI ≥ 75), risk_total 7, m 1.5 → trunc(10.5) = 10, A = 6 − 10 < 4 → 0
    assert (f["base_risk_score"], f["risk_score"], f["adjusted_risk_score"]) == (4, 7, 10)
    assert f["adjusted_score"] == 0.0 and f["low_score_filtered"] is True


@pytest.mark.parametrize(
    ("fields", "adjusted", "filtered", "reason"),
    [
        ({"macd_duration": 2}, 5.0, False, None),  # S 6, base 1: trunc(1.5) = 1
        ({"macd_duration": 2, "up_days5": 4}, 0.0, True, "기본 신호 부족 (0개)"),  # A = 3
        # S 7 (macd_ok), base 2: trunc(3.0) = 3 → A = 4, not < 4
        ({"macd_line_up": True, "macd_duration": 2, "up_days5": 4}, 4.0, False, None),
        # S 7, base 3 (spike 2 + weak 1): trunc(4.5) = 4 → A = 3, 1 basic signal
        (
            {"macd_line_up": True, "volume": 300_001.0, "VMA20": 1e6, "macd_duration": 2},
            0.0,
            True,
            "기본 신호 부족 (1개)",
        ),
        # + rsi_ok: S 8, base 3: trunc(6.0) = 6 → A = 2 with 2 basic signals: kept
        (
            {
                "macd_line_up": True,
                "RSI_TEMA": 56.0,
                "volume": 300_001.0,
                "VMA20": 1e6,
                "macd_duration": 2,
            },
            2.0,
            False,
            None,
        ),
    ],
)
def test_low_score_rule(fields, adjusted, filtered, reason):
    f = flags(fields, base=PLAIN)
    assert (f["adjusted_score"], f["low_score_filtered"], f["low_score_reason"]) == (
        adjusted,
        filtered,
        reason,
    )


def test_base_risk_excludes_before_extra_risk():
    # base risk 3 passes check 10 even with extra risk 3; the extra risk only lowers A
    risky = {"RSI_TEMA": 81.0, "RSI_DEMA": 99.0, "macd_duration": 2}
    _, result = run([ticker("X", PLAIN, risky)])
    f = result.subs[0].explain_extra(0)["flags"]
    assert result.subs[0].matched[0] and result.subs[0].reasons[0] == "cutoff"
    assert (f["base_risk_score"], f["risk_score"], f["adjusted_score"]) == (3, 6, 0.0)


def test_classifier_reads_rsi_tema():
    f = flags({}, base=PLAIN)  # V = 6, trend 6
    assert (f["label"], f["trading_strategy"], f["trend_score"]) == ("관심 종목", "장기", 6)
    f = flags({"RSI_TEMA": 65.0, "RSI_DEMA": 99.0}, base=PLAIN)
    assert f["trading_strategy"] == "관찰"
    f = flags({}, base=PLAIN, weights={**only_tema(1), "obv_slope": 2, "above_cnt5": 2})  # V 5
    assert (f["label"], f["trading_strategy"]) == ("후보 종목", "장기")


@pytest.mark.parametrize(
    ("divergence", "market", "score", "kospi", "kosdaq"),
    [
        ("kospi_up_kosdaq_down", "KOSPI", 12.0, True, False),
        ("kospi_up_kosdaq_down", "KOSDAQ", 11.0, False, False),
        ("kospi_down_kosdaq_up", "KOSDAQ", 12.0, False, True),
    ],
)
def test_divergence_bonus(divergence, market, score, kospi, kosdaq):
    _, result = run([ticker("X", BASE, market=market)], condition(divergence_type=divergence))
    f = result.picks[0].flags
    assert (result.picks[0].score, f["kospi_bonus"], f["kosdaq_bonus"]) == (score, kospi, kosdaq)
    assert (f["adjusted_score"], f["effective_score"]) == (11.0, score)


# --------------------------------------------------------------------------- §6.2 gate


def test_gate_closed_in_bear():
    tickers = [
        ticker("NOBAR", BASE, bar_on_date=False),
        ticker("OUT", BASE, member=False, turnover20=1.0),
        ticker("LIQ", BASE, turnover20=1.0),
        ticker("OK", BASE),
    ]
    _, result = run(tickers, condition(final_regime="bear"))
    sub = result.subs[0]
    assert result.picks == ()
    assert sub.reasons.tolist() == [
        "no_bar_on_date",
        "not_in_universe",
        "regime_gate",
        "regime_gate",
    ]
    assert sub.diagnostic_reasons.tolist() == [None, "liquidity", "liquidity", None]
    assert not sub.evaluated.any() and not sub.matched.any()
    assert result.run_record["v2"]["gate"] == {"open": False, "why": "bear"}
    assert result.run_record["counts"]["evaluated_count"] == 0
    assert sub.explain_extra(3)["score"] == 11.0  # computed for explain


@pytest.mark.parametrize(
    ("regime", "longterm", "is_open", "why"),
    [
        ("bear", "bull", False, "bear"),
        ("crash", "neutral", False, "crash"),
        ("crash", "bear", False, "crash"),
        ("crash", "bull", True, "crash_longterm_bull"),
        ("neutral", "bear", True, "regime_ok"),
        ("bull", "neutral", True, "regime_ok"),
    ],
)
def test_regime_gate(regime, longterm, is_open, why):
    cond = condition(final_regime=regime, longterm_regime=longterm)
    assert regime_gate(cond) == (is_open, why)
    _, result = run([ticker("X", BASE)], cond)
    assert len(result.picks) == (1 if is_open else 0)


def test_no_gate_with_status_unknown():
    assert regime_gate(condition("unknown", final_regime="bear")) == (True, "status_not_ok")


# --------------------------------------------------------------------------- §6.6


@pytest.mark.parametrize(
    ("regime", "risk", "v", "expected"),
    [
        ("bull", 0, 6.0, ["swing", "position", "longterm"]),
        ("bull", 0, 5.99, ["position", "longterm"]),
        ("bull", 0, 5.0, ["position", "longterm"]),
        ("bull", 0, 4.99, ["position"]),
        ("bull", 0, 4.3, ["position"]),
        ("bull", 0, 4.29, "cutoff"),
        ("neutral", 0, 6.0, ["swing", "position", "longterm"]),
        ("neutral", 0, 5.99, ["position"]),
        ("neutral", 0, 4.5, ["position"]),
        ("neutral", 0, 4.49, "cutoff"),
        ("crash", 0, 6.0, ["longterm"]),
        ("crash", 0, 5.99, "cutoff"),
        ("neutral", 1, 6.5, ["swing", "position", "longterm"]),  # − 0.5
        ("neutral", 1, 6.49, ["position"]),
        ("neutral", 1, 5.0, ["position"]),
        ("neutral", 1, 4.99, "cutoff"),
        ("neutral", 2, 7.0, ["swing", "position", "longterm"]),  # − 1.0
        ("neutral", 2, 6.99, ["position"]),
        ("neutral", 3, 7.0, ["swing", "position", "longterm"]),  # 2+ → 1.0
        ("neutral", 3, 6.99, ["position"]),
    ],
)
def test_cutoffs_by_regime_and_short_term_adjust(regime, risk, v, expected):
    cond = condition(final_regime=regime, longterm_regime="bull", short_term_risk_score=risk)
    _, result = run([ticker("X", PLAIN)], cond, weights=only_tema(v))
    f = result.subs[0].explain_extra(0)["flags"]
    assert f["adjusted_score"] == v
    if expected == "cutoff":
        assert result.picks == () and result.subs[0].reasons[0] == "cutoff"
        assert f["horizons"] == []
    else:
        assert result.picks[0].flags["horizons"] == expected
    assert result.run_record["v2"]["regime"] == regime


@pytest.mark.parametrize(
    ("risk", "kept", "n_picks"),
    [
        (0, {"swing": 20, "position": 15, "longterm": 20}, 20),
        (1, {"swing": 15, "position": 10, "longterm": 20}, 20),
        (2, {"swing": 10, "position": 5, "longterm": 15}, 15),
        (3, {"swing": 5, "position": 3, "longterm": 10}, 10),
    ],
)
def test_caps_by_short_term_risk_score(risk, kept, n_picks):
    eight = {**PLAIN, "DEMA10_SLOPE20": 1.0}  # V = 8: qualifies everywhere (neutral)
    tickers = [ticker(f"T{k:02d}", eight, traded_value=1e10 - k) for k in range(25)]
    _, result = run(tickers, condition(short_term_risk_score=risk), top_k=30)
    record = result.run_record["v2"]
    assert record["qualified"] == {"swing": 25, "position": 25, "longterm": 25}
    assert record["kept"] == kept and record["caps"] == kept
    assert len(result.picks) == n_picks
    assert set(result.subs[0].reasons[n_picks:].tolist()) == {"horizon_cap"}


def test_selection_reasons_and_horizons():
    eight = {**PLAIN, "DEMA10_SLOPE20": 1.0}
    tickers = [ticker(f"T{k:02d}", eight, traded_value=1e10 - k) for k in range(12)]
    tickers.append(ticker("P", PLAIN, traded_value=1.0))  # V 6 − 1 = 5: position only
    tickers.append(ticker("L", PLAIN, OBV_SLOPE20=0.0005, traded_value=1.0))  # V 4 − 1 = 3
    inp, result = run(tickers, condition(short_term_risk_score=3))
    sub = result.subs[0]
    assert codes(result) == ["T00", "T01", "T02", "T03", "T04"]
    assert sub.reasons.tolist() == [None] * 5 + ["not_in_top_k"] * 5 + ["horizon_cap"] * 3 + [
        "cutoff"
    ]
    horizons = [sub.explain_extra(i)["flags"]["horizons"] for i in range(12)]
    assert horizons[:3] == [["swing", "position", "longterm"]] * 3
    assert horizons[3:5] == [["swing", "longterm"]] * 2
    assert horizons[5:10] == [["longterm"]] * 5
    assert horizons[10:] == [[], []]
    record = result.run_record["v2"]
    assert record["qualified"] == {"swing": 12, "position": 13, "longterm": 12}
    assert record["kept"] == {"swing": 5, "position": 3, "longterm": 10}
    assert record["kept_codes"] == {
        "swing": [f"T{k:02d}" for k in range(5)],
        "position": ["T00", "T01", "T02"],
        "longterm": [f"T{k:02d}" for k in range(10)],
    }
    assert (record["short_term_risk_score"], record["short_term_adjust"]) == (3, 1.0)
    assert record["cutoffs"] == {"swing": 6.0, "position": 4.5, "longterm": 6.0}
    assert result.run_record["counts"] == {
        "universe_count": 14,
        "evaluated_count": 14,
        "candidates_count": 14,
        "matched_count": 5,
    }
    assert sub.explain_extra(index_of(inp, "L"))["flags"]["effective_score"] == 3.0


def test_status_unknown_no_cutoffs_first_top_k_candidates():
    tickers = [ticker(f"T{k}", PLAIN, traded_value=1e10 - k) for k in range(6)]
    tickers.append(ticker("LOW", PLAIN, OBV_SLOPE20=0.0005, macd_duration=2, up_days5=4))  # V 0
    cond = condition("unknown", divergence_type="kospi_up_kosdaq_down")
    _, result = run(tickers, cond)
    assert codes(result) == ["T0", "T1", "T2", "T3", "T4"]
    assert result.subs[0].reasons.tolist()[5:] == ["not_in_top_k", "not_in_top_k"]
    f = result.picks[0].flags
    assert (f["horizons"], f["short_term_adjust"], f["effective_score"]) == (None, None, None)
    assert (result.picks[0].score, f["kospi_bonus"]) == (6.0, False)
    assert result.subs[0].explain_extra(6)["score"] == 0.0
    record = result.run_record["v2"]
    assert record["gate"] == {"open": True, "why": "status_not_ok"}
    assert (record["regime"], record["caps"], record["qualified"]) == (None, None, None)
    assert record["kept_codes"] is None
    _, alone = run([tickers[-1]], cond)
    assert codes(alone) == ["LOW"]  # no cut-off removes V = 0


def test_ties_by_traded_value_then_code_and_determinism():
    tickers = [
        ticker("C", BASE, traded_value=9e9),
        ticker("B", BASE, traded_value=9e9),
        ticker("A", BASE, traded_value=5e9),
        ticker("D", PLAIN, traded_value=9e10),  # V 6
        ticker("E", BASE, traded_value=1e10),
        ticker("F", BASE, traded_value=1e9),
    ]
    _, first = run(tickers)
    assert codes(first) == ["E", "B", "C", "A", "F"]
    _, second = run(tickers)
    assert first.picks == second.picks
    assert first.subs[0].reasons.tolist() == second.subs[0].reasons.tolist()
    assert codes(run(tickers[::-1])[1]) == codes(first)
    assert first.subs[0].reasons[3] == "not_in_top_k"


# --------------------------------------------------------------------------- params


def test_defaults_and_tables_match_the_spec():
    p = V2Params()
    assert (p.rsi_upper_limit, p.risk_score_threshold, p.require_dema_slope) == (
        83.0,
        4,
        "optional",
    )
    assert (p.use_atr_filter, p.bull_trend_score_min, p.low_score_max) == (False, 1.0, 4)
    assert p.inverse_keywords == ("인버스", "레버리지", "2X", "3X")
    assert p.bond_keywords == ("국채", "채권", "회사채", "머니마켓", "금리")
    record = p.to_record()
    assert record["cutoffs"] == {
        "bull": {"swing": 6.0, "position": 4.3, "longterm": 5.0},
        "neutral": {"swing": 6.0, "position": 4.5, "longterm": 6.0},
        "bear": {"swing": 999.0, "position": 5.5, "longterm": 6.0},
        "crash": {"swing": 999.0, "position": 999.0, "longterm": 6.0},
    }
    assert record["horizon_caps"] == {
        "0": {"swing": 20, "position": 15, "longterm": 20},
        "1": {"swing": 15, "position": 10, "longterm": 20},
        "2": {"swing": 10, "position": 5, "longterm": 15},
        "3": {"swing": 5, "position": 3, "longterm": 10},
    }
    assert record["short_term_adjust"] == {"0": 0.0, "1": 0.5, "2+": 1.0}
    assert V2Params.from_mapping(record) == p


def test_tables_are_overridable_and_merged():
    p = V2Params.from_mapping(
        {
            "cutoffs": {"neutral": {"swing": 5.0}},
            "horizon_caps": {3: {"swing": 1}},
            "short_term_adjust": {"2": 2.0},
        }
    )
    record = p.to_record()
    assert record["cutoffs"]["neutral"] == {"swing": 5.0, "position": 4.5, "longterm": 6.0}
    assert record["cutoffs"]["bull"]["position"] == 4.3
    assert record["horizon_caps"]["3"] == {"swing": 1, "position": 3, "longterm": 10}
    assert record["short_term_adjust"] == {"0": 0.0, "1": 0.5, "2+": 2.0}
    cond = condition(short_term_risk_score=3)
    _, result = run([ticker("X", BASE)], cond, **p.to_record())
    assert result.picks[0].flags["effective_score"] == 9.0  # 11 − 2.0


@pytest.mark.parametrize(
    ("mapping", "named"),
    [
        ({"bogus": 1}, "unknown key 'bogus'"),
        ({"cutoffs": {"sideways": {"swing": 1.0}}}, "cutoffs"),
        ({"cutoffs": {"bull": {"daytrade": 1.0}}}, "cutoffs.bull"),
        ({"cutoffs": {"bull": {"swing": "6"}}}, "cutoffs.bull.swing"),
        ({"horizon_caps": {"4": {"swing": 1}}}, "horizon_caps"),
        ({"horizon_caps": {"0": {"swing": -1}}}, "horizon_caps.0.swing"),
        ({"horizon_caps": {"0": {"swing": 1.5}}}, "horizon_caps.0.swing"),
        ({"short_term_adjust": {"1": -0.5}}, "short_term_adjust.1"),
        ({"short_term_adjust": [0.0, 0.5, 1.0]}, "short_term_adjust"),
        ({"low_score_min_basic": -1}, "low_score_min_basic"),
        ({"bull_trend_score_min": "1"}, "bull_trend_score_min"),
        ({"require_dema_slope": "always"}, "require_dema_slope"),
        ({"rsi_upper_limit": 120.0}, "rsi_upper_limit"),
        ({"weights": {"dema_slope": True}}, "weights.dema_slope"),
        ({"top_k": 0}, "top_k"),
    ],
)
def test_invalid_params_name_the_key(mapping, named):
    with pytest.raises(ConfigError, match=named):
        V2Params.from_mapping(mapping)


def test_run_does_not_change_params():
    params = V2Params()
    before = params.to_record()
    run_v2(make_input([ticker("A", BASE)], condition()), params)
    assert params.to_record() == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.top_k = 1  # type: ignore[misc]
