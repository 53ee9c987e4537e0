"""The daily page's Korean sentences for the market condition and the run record."""

from scanctl.reports.page import texts

UNIVERSE = {
    "limits": {"kospi": 150, "kosdaq": 50},
    "base_limits": {"kospi": 100, "kosdaq": 100},
    "resized": True,
    "base_size": 200,
    "final_size": 200,
    "sizes": {"KOSPI": 150, "KOSDAQ": 50},
    "unknown_security_types": 2,
    "unknown_security_type_members": 1,
}
COUNTS = {"universe_count": 200, "evaluated_count": 190, "candidates_count": 7, "matched_count": 5}


def pairs(**blocks):
    return dict(texts.record_pairs({"universe": UNIVERSE, "counts": COUNTS, **blocks}))


def test_universe_counts_and_v1_both_ways():
    record = pairs(
        v1={
            "fallback_enable": True,
            "target_min": 3,
            "target_max": 5,
            "chosen_step": 1,
            "matched": [1, 4],
        }
    )
    assert record["유니버스"] == (
        "200종목 (코스피 150 · 코스닥 50), 한도 150/50 (시장 괴리로 100/100에서 조정), "
        "증권 유형 미상 2종목"
    )
    assert record["집계"] == "평가 190종목 · 조건 통과 7종목 · 추천 5종목"
    assert record["완화 단계 (v1)"] == "목표 3~5종목, 1단계 선택 (0단계 1 · 1단계 4)"
    none = pairs(
        v1={
            "fallback_enable": True,
            "target_min": 2,
            "target_max": 3,
            "chosen_step": None,
            "matched": [0, 1, 1],
        }
    )
    assert none["완화 단계 (v1)"] == (
        "목표 2~3종목, 어느 단계도 목표에 못 미쳐 추천 없음 (0단계 0 · 1단계 1 · 2단계 1)"
    )


def test_v2_gate_and_v3_routing():
    closed = pairs(v2={"gate": {"open": False, "why": "bear"}, "regime": None})
    assert closed["국면 게이트 (v2)"] == "닫힘 — 약세장"
    opened = pairs(
        v2={
            "gate": {"open": True, "why": "regime_ok"},
            "regime": "neutral",
            "cutoffs": {"swing": 6.0, "position": 4.5, "longterm": 6.0},
            "caps": {"swing": 20, "position": 15, "longterm": 20},
            "qualified": {"swing": 3, "position": 9, "longterm": 2},
            "kept": {"swing": 3, "position": 9, "longterm": 2},
            "short_term_adjust": 0.5,
        }
    )
    assert opened["국면 게이트 (v2)"] == "열림 — 시장 국면 정상"
    assert opened["컷오프"] == "중립 국면: 스윙 6 · 포지션 4.5 · 장기 6 (단기 위험 조정 −0.5)"
    assert opened["적격 / 유지"] == "스윙 3/3 · 포지션 9/9 · 장기 2/2"
    routing = {"final_regime": "bull", "short_term_risk_label": "normal"}
    counts = {"evaluated_count": 190, "candidates_count": 30, "matched_count": 10}
    gated = pairs(
        v3={
            "routing": {**routing, "pullback_ran": False, "why_not": "final_regime=bull"},
            "midterm": counts,
            "v2_lite": {"ran": False, **counts},
        }
    )
    assert gated["라우팅 (v3)"] == "중기 추세만 실행 (눌림목 제외: final_regime=bull)"
    assert gated["중기 추세 (midterm)"] == "평가 190 · 조건 통과 30 · 추천 10"
    assert "눌림목 (v2_lite)" not in gated
    ran = pairs(
        v3={
            "routing": {**routing, "pullback_ran": True, "why_not": None},
            "midterm": counts,
            "v2_lite": {"ran": True, **counts},
        }
    )
    assert ran["라우팅 (v3)"] == "중기 추세와 눌림목 모두 실행" and "눌림목 (v2_lite)" in ran


def test_market_pairs_and_formats():
    assert dict(texts.market_pairs({"status": "unknown", "reason": "kospi_proxy_missing"})) == {
        "시장 상황": "판단 불가",
        "사유": "kospi_proxy_missing",
        "적용": "엔진은 설정의 고정 기준으로 실행됨",
    }
    condition = {
        "status": "ok",
        "sentiment": {"market_sentiment": "bull", "kospi_return": 0.0123, "volume_trend": "high"},
        "regimes": {"final_regime": "neutral", "longterm_regime": "bear"},
        "short_term_risk": {"short_term_risk_label": "elevated", "short_term_risk_score": 2},
        "trend": {"global_trend_score": 1.5},
        "divergence": {"divergence_type": "kospi_up_kosdaq_down"},
        "thresholds": {"rsi_threshold": 65.0, "min_signals": 2, "vol_ma5_mult": 1.5},
    }
    market = dict(texts.market_pairs(condition))
    assert market["시장 심리"] == "강세" and market["코스피 등락률"] == "+1.23%"
    assert market["최종 국면 (중기)"] == "중립" and market["장기 국면"] == "약세"
    assert market["단기 위험"] == "주의 (2점)" and market["거래량 추세"] == "증가"
    assert market["시장 괴리"] == "코스피 강세 · 코스닥 약세"
    assert market["시장 기준"] == "RSI 65 · 최소 신호 2개 · 거래량 배수 1.5"
    assert texts.market_pairs(None) == [("시장 상황", "기록 없음")]
    assert texts.number(1_000_000_000.0) == "1,000,000,000" and texts.number(0.01234) == "0.01234"
    assert texts.number(True) == "예" and texts.pct(None) == "-"
