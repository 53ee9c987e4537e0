"""Engine v1 (ENGINES.md §5) on hand-built inputs; every expected value is worked out by hand.

BASE passes all 11 checks under the neutral market condition of the builders (rsi_threshold
58, min_signals 3, RSI ceiling 58 + 25 = 83) with S = 3 + 2 + 1 + 1 + 2 + 2 + 2 = 13 (the
dema_slope_ok weight is 0 with require_dema_slope = required) and 7 signals.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from scanctl.engines.v1 import V1Params, resolve_step, run_v1, target_band
from scanctl.errors import ConfigError
from tests.engines.builders import condition, index_of, make_input, thresholds, ticker

BASE = {
    "name": "알파전자",
    "close": 10_000.0,
    "volume": 260_000.0,  # 2.6 × VOL_MA5 (vol_expand at every preset), 2.6 × VMA20
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
    "change_rate": 1.5,
}
# Signals only at fallback step 1 and 2: vol_expand needs 2.0× (step 1) but not 2.5× (step 0);
# cross, macd_ok and rsi_ok off; additional = tema + obv (ABOVE_CNT5 2) → 2 + vol_expand.
STEP1 = {
    **BASE,
    "volume": 210_000.0,
    "cross": False,
    "macd_line_up": False,
    "MACD_OSC": -1.0,
    "RSI_TEMA": 50.0,
    "ABOVE_CNT5": 2,
}
STEP2 = {**STEP1, "volume": 190_000.0}  # 1.9×: count 2 at every step, enough at step 2 only
NONE = {**STEP2, "OBV_SLOPE20": 0.0, "volume": 100_000.0}  # count 1 (tema) everywhere


def run(tickers, cond=None, **params):
    inp = make_input(tickers, cond if cond is not None else condition())
    return inp, run_v1(inp, V1Params(**params))


def codes(result):
    return [pick.ticker for pick in result.picks]


def step0(fields, cond=None, **params):
    """'matched' or the step-0 reason of one ticker (fallback off: only step 0 runs)."""
    _, result = run([ticker("X", BASE, fields)], cond, fallback_enable=False, **params)
    sub = result.subs[0]
    return "matched" if sub.matched[0] else sub.reasons[0]


def flags(fields, cond=None, **params):
    """flags of one ticker evaluated at step 0 only (fallback off)."""
    params.setdefault("fallback_enable", False)
    _, result = run([ticker("X", BASE, fields)], cond, **params)
    return result.subs[0].explain_extra(0)["flags"]


def test_base_ticker_is_picked_with_the_full_record():
    inp, result = run([ticker("A", BASE), ticker("B", BASE), ticker("C", BASE)])
    assert codes(result) == ["A", "B", "C"]  # equal scores and traded values: code order
    pick = result.picks[0]
    assert (pick.score, pick.rank, pick.engine, pick.sub_engine) == (
        13.0,
        1,
        "v1",
        None,
    )
    assert pick.score_label == "강한 매수"  # S′ = 13 + (7 − 3) = 17
    assert pick.strategy == "스윙"  # cross ∧ vol_expand ∧ momentum 7 ≥ 6
    assert (pick.close, pick.volume, pick.change_rate) == (10_000, 260_000, 1.5)
    assert pick.indicators["VOL"] == 260_000.0 and pick.indicators["ATR_PCT"] == 0.02
    assert pick.trend == {
        "TEMA20_SLOPE20": 5.0,
        "OBV_SLOPE20": 1_000.0,
        "DEMA10_SLOPE20": 1.0,
        "ABOVE_CNT5": 5,
    }
    f = pick.flags
    assert (f["signals_basic"], f["signals_additional"], f["signals_count"]) == (4, 3, 7)
    assert (f["min_signals_required"], f["signal_bonus"]) == (3, 4)
    assert (f["raw_score"], f["adjusted_score_for_signals"], f["risk_adjusted_score"]) == (
        13.0,
        17.0,
        13.0,
    )
    assert (f["momentum_score"], f["trend_score"]) == (7, 8)
    assert (f["stop_loss"], f["holding_period"], f["holding_period_text"]) == (-0.05, 10, "3~10일")
    assert f["strategy_text"] == "상승신호 / 상승시작 / 관심증가 / 상승추세정착"
    assert (f["fallback_step"], f["fallback"], f["kospi_bonus"]) == (0, False, False)
    assert f["thresholds"]["rsi_ceiling"] == 83.0 and f["thresholds"]["gap_max"] == 0.015
    assert f["risk_flags"] == dict.fromkeys(
        ("rsi_overbought", "vol_spike", "momentum_weak", "price_exhaustion"), False
    )
    assert pick.details["dema_slope_ok"] == {"ok": True, "w": 0, "gain": 0}
    assert pick.details["total"] == 13.0
    records = [p.to_record() for p in result.picks]
    json.dumps([records, result.run_record, result.params])  # plain JSON (D-19)
    assert inp.n_tickers == 3


# --------------------------------------------------------------------------- §5.2 checks


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "KODEX 레버리지"}, "name_filter"),
        ({"name": "ABC SHORT"}, "name_filter"),
        ({"name": "ABC short"}, "matched"),  # case-sensitive
        ({"name": "KBSTAR CD금리"}, "name_filter"),
        ({"name": "금리인하수혜"}, "matched"),  # v1 bond keywords have no bare 금리
        ({"name": "TIGER 3X"}, "matched"),  # 3X is a v2 keyword only
        ({"RSI_TEMA": 83.0}, "matched"),  # ≤ 58 + 25 (base risk 2 < 3)
        ({"RSI_TEMA": 83.01}, "rsi_ceiling"),
        ({"turnover20": 1e9}, "matched"),
        ({"turnover20": 999_999_999.0}, "liquidity"),
        ({"close": 2_000.0, "EMA60": 1_800.0, "TEMA20": 1_980.0, "DEMA10": 1_960.0}, "matched"),
        ({"close": 1_999.0, "EMA60": 1_800.0, "TEMA20": 1_980.0, "DEMA10": 1_960.0}, "price"),
        ({"EMA60": 10_000.0}, "matched"),  # c ≥ EMA60
        ({"EMA60": 10_000.01}, "trend_ema60"),
        ({"RSI_TEMA": 70.0, "volume": 300_000.0}, "overheat"),
        ({"RSI_TEMA": 69.99, "volume": 300_000.0}, "matched"),
        ({"RSI_TEMA": 70.0, "volume": 299_999.0}, "matched"),
        ({"gap_now": 0.002}, "matched"),  # max(gap, 0) ≥ gap_min
        ({"gap_now": 0.00199}, "gap_ext"),
        ({"gap_now": -0.01}, "gap_ext"),
        ({"gap_now": 0.015}, "matched"),  # gap ≤ gap_max
        ({"gap_now": 0.01501}, "gap_ext"),
        ({"ext_pct": 0.015}, "matched"),
        ({"ext_pct": 0.01501}, "gap_ext"),
        ({"ATR_PCT": 0.01}, "matched"),
        ({"ATR_PCT": 0.00999}, "atr"),
        ({"ATR_PCT": 0.04}, "matched"),
        ({"ATR_PCT": 0.04001}, "atr"),
        ({"RSI_TEMA": 81.0}, "matched"),  # base risk 2 < 3
        ({"RSI_TEMA": 81.0, "macd_duration": 2}, "risk"),  # 2 + 1
        ({"volume": 300_001.0, "macd_duration": 2}, "risk"),  # spike 2 + weak 1
        ({"up_days5": 4, "macd_duration": 2}, "matched"),  # 1 + 1
        ({"DEMA10_SLOPE20": 0.0}, "trend_dema_slope"),  # > 0 ∧ c > DEMA10
        ({"DEMA10_SLOPE20": 1e-9}, "matched"),
        ({"DEMA10": 10_000.0}, "trend_dema_slope"),
    ],
)
def test_hard_filter_boundaries(fields, expected):
    assert step0(fields) == expected


def test_signals_check_boundary():
    three = {**STEP2, "volume": 100_000.0, "ABOVE_CNT5": 3}  # tema + obv + above = 3
    assert step0(three) == "matched"
    assert step0({**three, "ABOVE_CNT5": 2}) == "signals"


def test_check_order_first_failure_wins():
    # fails rsi_ceiling (check 2), liquidity (3) and atr (8): the first is the reason
    assert step0({"RSI_TEMA": 90.0, "turnover20": 1.0, "ATR_PCT": 1.0}) == "rsi_ceiling"


def test_atr_filter_off_and_dema_slope_modes():
    assert step0({"ATR_PCT": 0.5}, use_atr_filter=False) == "matched"
    for mode in ("optional", "off"):
        assert step0({"DEMA10_SLOPE20": 0.0}, require_dema_slope=mode) == "matched"
    assert flags({}, require_dema_slope="optional")["raw_score"] == 15.0  # w_dema_slope 2
    assert flags({"DEMA10_SLOPE20": 0.0}, require_dema_slope="optional")["raw_score"] == 13.0
    assert flags({}, require_dema_slope="off")["raw_score"] == 13.0


def test_v1_reads_only_rsi_threshold_and_min_signals_from_the_market():
    loose = condition(thresholds=thresholds(gap_max=0.03, ext_from_tema20_max=0.03))
    assert step0({"gap_now": 0.02}, loose) == "gap_ext"  # config gap_max 0.015
    bull = condition(thresholds=thresholds(rsi_threshold=65.0, macd_osc_min=-5.0))
    assert step0({"RSI_TEMA": 90.0}, bull) == "matched"  # ceiling 65 + 25 = 90
    assert step0({"RSI_TEMA": 90.01}, bull) == "rsi_ceiling"
    off = {"macd_line_up": False, "MACD_OSC": -1.0}
    assert flags(off, bull)["macd_ok"] is False  # config macd_osc_min 0.0, not −5
    assert flags({"RSI_TEMA": 64.0, "RSI_DEMA": 65.0}, bull)["rsi_ok"] is False  # 64 ≤ 65
    assert flags({"RSI_TEMA": 59.0, "RSI_DEMA": 60.0})["rsi_ok"] is True  # 59 > 58


def test_min_signals_source_order():
    six = {"ABOVE_CNT5": 2}  # 6 signals
    assert step0(six, min_signals=7) == "matched"  # the market's 3 wins over config 7
    unknown = condition("unknown")
    assert step0(six, unknown, min_signals=7) == "signals"  # static: config 7
    assert step0({}, unknown, min_signals=7) == "matched"


# --------------------------------------------------------------------------- §5.3 score


@pytest.mark.parametrize(
    ("fields", "flag", "ok", "raw"),
    [
        ({"cross": False}, "cross", False, 10.0),
        ({"volume": 250_000.0}, "vol_expand", True, 13.0),  # 2.5 × VOL_MA5
        ({"volume": 249_999.0}, "vol_expand", False, 11.0),
        ({"volume": 250_000.0, "VMA20": 208_334.0}, "vol_expand", False, 11.0),  # < 1.2 × VMA20
        ({"macd_line_up": False, "MACD_OSC": 0.0}, "macd_ok", False, 12.0),
        ({"macd_line_up": False, "MACD_OSC": 1e-9}, "macd_ok", True, 13.0),
        (
            {"macd_line_up": False, "MACD_OSC": -1.0, "macd_golden_cross": True},
            "macd_ok",
            True,
            13.0,
        ),
        ({"RSI_TEMA": 58.0, "RSI_DEMA": 59.0}, "rsi_ok", False, 12.0),
        ({"RSI_TEMA": 58.01, "RSI_DEMA": 59.0}, "rsi_ok", True, 13.0),
        ({"RSI_TEMA": 60.0, "RSI_DEMA": 63.0}, "rsi_ok", False, 12.0),
        ({"TEMA20_SLOPE20": 0.001}, "tema_slope_ok", False, 11.0),
        ({"TEMA20_SLOPE20": 0.0011}, "tema_slope_ok", True, 13.0),
        ({"TEMA20": 10_000.0}, "tema_slope_ok", False, 11.0),
        ({"OBV_SLOPE20": 0.001}, "obv_slope_ok", False, 11.0),
        ({"OBV_SLOPE20": 0.0011}, "obv_slope_ok", True, 13.0),
        ({"ABOVE_CNT5": 3}, "above_cnt5_ok", True, 13.0),
        ({"ABOVE_CNT5": 2}, "above_cnt5_ok", False, 11.0),
    ],
)
def test_score_component_boundaries(fields, flag, ok, raw):
    f = flags(fields)
    assert (f[flag], f["raw_score"]) == (ok, raw)


def test_preset_multiplier_applies_to_the_score_of_its_step():
    # 2.1 × VOL_MA5: vol_expand false at step 0 (2.5), true at step 1 (2.0)
    tickers = [ticker(c, BASE) for c in "AB"] + [ticker("C", BASE, volume=210_000.0)]
    _, result = run(tickers)
    assert result.run_record["v1"]["chosen_step"] == 0
    assert result.picks[2].score == 11.0  # C at step 0: no vol_expand
    assert result.params["steps"][1]["vol_ma5_mult"] == 2.0
    _, result = run(tickers[2:])  # alone: steps 0, 1, 2 run, none reaches 3
    explain = result.subs[0].explain_extra(0)
    assert explain["flags"]["vol_expand"] is True  # last executed step 2: 1.8
    assert explain["flags"]["thresholds"]["vol_ma5_mult"] == 1.8


def test_derived_values_and_classifier_on_s_prime():
    weak = {**STEP2, "volume": 100_000.0, "ABOVE_CNT5": 3}  # S = 6, signals 3, S′ = 6
    f = flags(weak, fallback_target_min_bull=1)
    assert (f["raw_score"], f["signal_bonus"], f["adjusted_score_for_signals"]) == (6.0, 0, 6.0)
    assert (f["label"], f["trading_strategy"], f["trend_score"]) == ("관심 종목", "장기", 8)
    assert (f["target_profit"], f["stop_loss"], f["holding_period"]) == (0.15, -0.10, 120)
    assert f["strategy_text"] == "상승추세정착"  # MACD_OSC −1, no cross, v ≤ 2.5 × VOL_MA5
    risky = flags({"RSI_TEMA": 81.0})  # base risk 2
    assert (risky["risk_score"], risky["risk_adjusted_score"]) == (2, 11.0)
    quiet = {**weak, "TEMA20_SLOPE20": 0.0, "ABOVE_CNT5": 5}
    assert flags(quiet)["strategy_text"] == "관심"


@pytest.mark.parametrize(
    ("divergence", "market", "score", "kospi", "kosdaq"),
    [
        ("kospi_up_kosdaq_down", "KOSPI", 14.0, True, False),
        ("kospi_up_kosdaq_down", "KOSDAQ", 13.0, False, False),
        ("kospi_down_kosdaq_up", "KOSDAQ", 14.0, False, True),
        ("kospi_down_kosdaq_up", "KOSPI", 13.0, False, False),
    ],
)
def test_divergence_bonus_by_market(divergence, market, score, kospi, kosdaq):
    cond = condition(divergence_type=divergence)
    _, result = run([ticker("X", BASE, market=market)], cond, fallback_target_min_bull=1)
    pick = result.picks[0]
    assert (pick.score, pick.flags["kospi_bonus"], pick.flags["kosdaq_bonus"]) == (
        score,
        kospi,
        kosdaq,
    )
    assert pick.flags["raw_score"] == 13.0


def test_bonus_reorders_and_is_absent_with_status_unknown():
    tickers = [ticker("A", BASE, market="KOSDAQ", traded_value=9e10), ticker("B", BASE)]
    cond = condition(divergence_type="kospi_up_kosdaq_down")
    assert codes(run(tickers, cond, fallback_target_min_bull=1)[1]) == ["B", "A"]
    unknown = condition("unknown", divergence_type="kospi_up_kosdaq_down")
    result = run(tickers, unknown, fallback_target_min_bull=1)[1]
    assert codes(result) == ["A", "B"] and result.picks[1].score == 13.0


# --------------------------------------------------------------------------- §5.6 fallback


def test_step0_success():
    _, result = run([ticker(c, BASE) for c in "ABC"] + [ticker("N", NONE)])
    assert result.run_record["v1"] == {
        "fallback_enable": True,
        "target_min": 3,
        "target_max": 5,
        "chosen_step": 0,
        "matched": [3],
    }
    assert [s["executed"] for s in result.params["steps"]] == [True, False, False]


def test_step1_success():
    tickers = [ticker("A", BASE), ticker("B", BASE), ticker("S1", STEP1)]
    _, result = run(tickers)
    assert result.run_record["v1"]["chosen_step"] == 1
    assert result.run_record["v1"]["matched"] == [2, 3]
    assert codes(result) == ["A", "B", "S1"]
    assert (result.picks[2].flags["fallback_step"], result.picks[2].flags["fallback"]) == (
        1,
        True,
    )
    steps = result.subs[0].explain_extra(2)["steps"]
    assert steps == [
        {"step": 0, "preset": {}, "matched": False, "reason": "signals"},
        {
            "step": 1,
            "preset": {"min_signals": 3, "vol_ma5_mult": 2.0},
            "matched": True,
            "reason": None,
        },
    ]


def test_step2_success():
    tickers = [ticker("A", BASE), ticker("S1", STEP1), ticker("S2", STEP2)]
    _, result = run(tickers)
    assert result.run_record["v1"]["chosen_step"] == 2
    assert result.run_record["v1"]["matched"] == [1, 2, 3]
    assert result.picks[2].flags["min_signals_required"] == 2
    assert result.run_record["counts"] == {
        "universe_count": 3,
        "evaluated_count": 3,
        "candidates_count": 3,
        "matched_count": 3,
    }


def test_fallback_exhausted():
    tickers = [ticker("A", BASE), ticker("S2", STEP2), ticker("N", NONE)]
    _, result = run(tickers)
    sub = result.subs[0]
    assert result.picks == () and result.run_record["v1"]["chosen_step"] is None
    assert result.run_record["v1"]["matched"] == [1, 1, 2]
    assert sub.reasons.tolist() == ["fallback_exhausted", "fallback_exhausted", "signals"]
    assert [row["reason"] for row in sub.explain_extra(2)["steps"]] == ["signals"] * 3
    assert sub.explain_extra(1)["flags"]["fallback_step"] == 2  # the last executed step


def test_crash_min_signals_999_at_step0_but_presets_match_later():
    crash = condition(
        market_sentiment="crash",
        final_regime="crash",
        thresholds=thresholds(rsi_threshold=40.0, min_signals=999, macd_osc_min=999.0),
    )
    _, result = run([ticker(c, BASE) for c in "ABC"], crash)
    assert result.run_record["v1"]["matched"] == [0, 3]
    assert result.run_record["v1"]["chosen_step"] == 1
    assert [s["min_signals"] for s in result.params["steps"]] == [999, 3, 2]
    assert result.params["steps"][0]["rsi_ceiling"] == 65.0  # 40 + 25


def test_fallback_disabled_keeps_score_10_and_above():
    ten = {**BASE, "cross": False}  # S = 10
    nine = {**ten, "macd_line_up": False, "MACD_OSC": -1.0}  # S = 9
    tickers = [ticker("A", ten), ticker("B", nine)]
    _, result = run(tickers, fallback_enable=False)
    assert codes(result) == ["A"]
    assert result.subs[0].reasons.tolist() == [None, "not_in_top_k"]
    record = result.run_record["v1"]
    assert (record["chosen_step"], record["matched"], record["target_min"]) == (0, [2], None)
    _, result = run(tickers, fallback_enable=False, fallback_disabled_min_score=9)
    assert codes(result) == ["A", "B"]


@pytest.mark.parametrize(
    ("regime", "n_matched", "picked", "band"),
    [
        ("bear", 1, 0, (2, 3)),
        ("bear", 2, 2, (2, 3)),
        ("bear", 4, 3, (2, 3)),
        ("bull", 2, 0, (3, 5)),
        ("bull", 3, 3, (3, 5)),
        ("bull", 6, 5, (3, 5)),
        ("neutral", 6, 5, (3, 5)),
        ("crash", 6, 5, (3, 5)),
    ],
)
def test_target_band_by_final_regime(regime, n_matched, picked, band):
    cond = condition(final_regime=regime)
    tickers = [ticker(f"T{k}", BASE, traded_value=1e10 - k) for k in range(n_matched)]
    _, result = run(tickers, cond)
    assert len(result.picks) == picked
    assert target_band(V1Params(), cond) == band
    if 0 < picked < n_matched:
        assert result.subs[0].reasons[picked] == "not_in_top_k"


def test_status_unknown_uses_neutral_band_and_static_thresholds():
    unknown = condition("unknown")
    assert target_band(V1Params(), condition("unknown", final_regime="bear")) == (3, 5)
    step = resolve_step(V1Params(), unknown, 0)
    assert (step.rsi_threshold, step.rsi_ceiling, step.min_signals) == (58.0, 70.0, 3)
    assert step0({"RSI_TEMA": 70.0}, unknown) == "matched"  # ≤ rsi_upper_limit 70
    assert step0({"RSI_TEMA": 70.01}, unknown) == "rsi_ceiling"
    _, result = run([ticker(c, BASE) for c in "AB"], unknown)
    assert result.picks == () and result.params["market_thresholds_used"] is False


def test_top_k_and_target_max():
    tickers = [ticker(f"T{k}", BASE, traded_value=1e10 - k) for k in range(6)]
    assert len(run(tickers, top_k=2)[1].picks) == 2
    assert len(run(tickers, fallback_target_max_bull=4)[1].picks) == 4
    assert len(run(tickers, fallback_target_min_bull=0)[1].picks) == 5  # max(1, 0)


# --------------------------------------------------------------------------- ordering


def test_ordering_score_then_traded_value_then_code():
    tickers = [
        ticker("C", BASE, traded_value=9e9),
        ticker("B", BASE, traded_value=9e9),
        ticker("A", BASE, traded_value=5e9),
        ticker("D", BASE, cross=False, traded_value=9e10),  # S = 10
        ticker("E", BASE, traded_value=1e10),
    ]
    _, result = run(tickers)
    assert codes(result) == ["E", "B", "C", "A", "D"]
    assert [p.rank for p in result.picks] == [1, 2, 3, 4, 5]


def test_deterministic_and_independent_of_column_order():
    tickers = [ticker(f"T{k}", BASE, traded_value=float(k % 3)) for k in range(7)]
    tickers += [ticker("S1", STEP1), ticker("N", NONE)]
    first, second = run(tickers)[1], run(tickers)[1]
    assert first.picks == second.picks
    assert first.subs[0].reasons.tolist() == second.subs[0].reasons.tolist()
    assert codes(run(tickers[::-1])[1]) == codes(first) == ["T2", "T5", "T1", "T4", "T0"]


# --------------------------------------------------------------------------- explain


def test_reason_precedence_and_diagnostics():
    tickers = [
        ticker("NOBAR", BASE, bar_on_date=False, member=False),
        ticker("SHORT", BASE, n_bars=20, turnover20=1.0),
        ticker("OUT", BASE, member=False, turnover20=1.0),
        ticker("OUTOK", BASE, member=False),
        ticker("LIQ", BASE, turnover20=1.0),
        ticker("A", BASE),
        ticker("B", BASE),
        ticker("C", BASE),
    ]
    inp, result = run(tickers, top_k=2)
    sub = result.subs[0]
    assert sub.reasons.tolist() == [
        "no_bar_on_date",
        "insufficient_history",
        "not_in_universe",
        "not_in_universe",
        "liquidity",
        None,
        None,
        "not_in_top_k",
    ]
    assert sub.diagnostic_reasons.tolist() == [None, None, "liquidity", None] + [None] * 4
    assert sub.evaluated.tolist() == [False, False, False, False, True, True, True, True]
    assert result.run_record["counts"]["universe_count"] == 5  # SHORT, LIQ, A, B, C
    assert result.run_record["counts"]["evaluated_count"] == 4
    out = index_of(inp, "OUT")
    assert [c["code"] for c in sub.checks.explain(out)] == [
        "name_filter",
        "rsi_ceiling",
        "liquidity",
    ]
    assert sub.checks.explain(out)[-1] == {
        "code": "liquidity",
        "passed": False,
        "values": {"turnover20": 1.0},
        "thresholds": {"min_turnover_krw": 1e9},
    }
    assert sub.explain_extra(0) == {
        "score": None,
        "score_label": None,
        "flags": None,
        "details": None,
        "steps": [{"step": 0, "preset": {}, "matched": False, "reason": "no_bar_on_date"}],
    }
    outside = sub.explain_extra(out)
    assert outside["score"] == 13.0 and outside["steps"][0]["reason"] == "not_in_universe"
    assert set(outside) == {"score", "score_label", "flags", "details", "steps"}
    assert len(sub.checks.explain(index_of(inp, "A"))) == 11


def test_name_filter_check_reports_the_keyword():
    inp, result = run([ticker("X", BASE, name="KODEX 인버스 2X")], fallback_enable=False)
    checks = result.subs[0].checks.explain(0)
    assert checks == [
        {"code": "name_filter", "passed": False, "values": {"keyword": "인버스"}, "thresholds": {}}
    ]


# --------------------------------------------------------------------------- params


def test_defaults_match_the_spec():
    p = V1Params()
    assert (p.lookback, p.min_turnover_krw, p.min_price, p.rsi_threshold) == (220, 1e9, 2000, 58.0)
    assert (p.rsi_upper_limit, p.rsi_ceiling_offset, p.overheat_rsi_tema) == (70.0, 25.0, 70.0)
    assert (p.gap_min, p.gap_max, p.ext_from_tema20_max, p.use_atr_filter) == (
        0.002,
        0.015,
        0.015,
        True,
    )
    assert (p.risk_score_threshold, p.require_dema_slope, p.top_k) == (3, "required", 5)
    assert p.inverse_keywords == ("인버스", "2X", "레버리지", "SHORT", "BEAR", "DOWN")
    assert p.bond_keywords == (
        "금리액티브",
        "머니마켓액티브",
        "CD금리",
        "채권",
        "국채",
        "KRX금현물",
    )
    record = p.to_record()
    assert record["fallback_presets"] == [
        {},
        {"min_signals": 3, "vol_ma5_mult": 2.0},
        {"min_signals": 2, "vol_ma5_mult": 1.8},
    ]
    assert record["weights"] == {
        "cross": 3,
        "volume": 2,
        "macd": 1,
        "rsi": 1,
        "tema_slope": 2,
        "obv_slope": 2,
        "above_cnt5": 2,
        "dema_slope": 2,
    }
    assert (record["fallback_target_min_bear"], record["fallback_disabled_min_score"]) == (2, 10)
    assert V1Params.from_mapping(record) == p  # round trip


def test_from_mapping_merges_tables():
    p = V1Params.from_mapping(
        {"weights": {"cross": 4}, "fallback_presets": [{}, {"gap_max": 0.02}], "top_k": 3}
    )
    assert (p.weights.cross, p.weights.volume, p.top_k) == (4, 2, 3)
    assert [preset.to_record() for preset in p.fallback_presets] == [{}, {"gap_max": 0.02}]


@pytest.mark.parametrize(
    ("mapping", "named"),
    [
        ({"bogus": 1}, "unknown key 'bogus'"),
        ({"lookback": 20}, "lookback"),
        ({"min_price": -1}, "min_price"),
        ({"rsi_threshold": 101.0}, "rsi_threshold"),
        ({"gap_min": -0.1}, "gap_min"),
        ({"atr_pct_min": 0.05}, "atr_pct_max"),
        ({"use_atr_filter": "yes"}, "use_atr_filter"),
        ({"require_dema_slope": "maybe"}, "require_dema_slope"),
        ({"top_k": 0}, "top_k"),
        ({"min_signals": 1.5}, "min_signals"),
        ({"risk_score_threshold": True}, "risk_score_threshold"),
        ({"inverse_keywords": "인버스"}, "inverse_keywords"),
        ({"bond_keywords": ["채권", ""]}, "bond_keywords"),
        ({"weights": {"foo": 1}}, "weights"),
        ({"weights": {"cross": -1}}, "weights.cross"),
        ({"fallback_presets": []}, "fallback_presets"),
        (
            {"fallback_presets": [{"rsi_threshold": 50}]},
            "'rsi_threshold' cannot be set by a preset",
        ),
        ({"fallback_presets": [{}, {"min_signals": -1}]}, r"fallback_presets\[1\].min_signals"),
        ({"fallback_presets": [{"vol_ma5_mult": "2"}]}, r"fallback_presets\[0\].vol_ma5_mult"),
        ({"fallback_target_min_bear": -1}, "fallback_target_min_bear"),
        ({"divergence_bonus": float("nan")}, "divergence_bonus"),
    ],
)
def test_invalid_params_name_the_key(mapping, named):
    with pytest.raises(ConfigError, match=named):
        V1Params.from_mapping(mapping)


def test_run_does_not_change_params():
    params = V1Params()
    before = params.to_record()
    run_v1(make_input([ticker("A", BASE)], condition()), params)
    assert params.to_record() == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.top_k = 1  # type: ignore[misc]
