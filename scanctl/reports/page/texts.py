"""The daily page's Korean sentences: the market condition (ENGINES.md §3.8) and a run record
(§8.6) as (label, text) pairs, and number formats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scanctl.reports.page import labels

HORIZONS = ("swing", "position", "longterm")


def pct(value: float | None, digits: int = 2) -> str:
    """A fraction as a signed percentage (0.0123 → +1.23%)."""
    return "-" if value is None else f"{100 * value:+.{digits}f}%"


def number(value: Any) -> str:
    """A check value or threshold: thousands separators for large numbers, 4 digits else."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "예" if value else "아니오"
    if isinstance(value, int | float):
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:,.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(number(item) for item in value)
    return str(value)


def market_pairs(condition: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The market condition for readers: state, sentiment, regimes, risk, trend, divergence."""
    if not condition:
        return [("시장 상황", "기록 없음")]
    status = condition.get("status")
    pairs = [("시장 상황", labels.STATUS.get(status, str(status)))]
    if status != "ok":
        if condition.get("reason"):
            pairs.append(("사유", str(condition["reason"])))
        pairs.append(("적용", "엔진은 설정의 고정 기준으로 실행됨"))
        return pairs
    sentiment = condition.get("sentiment") or {}
    regimes = condition.get("regimes") or {}
    risk = condition.get("short_term_risk") or {}
    trend = condition.get("trend") or {}
    divergence = condition.get("divergence") or {}
    pairs += [
        ("시장 심리", labels.regime(sentiment.get("market_sentiment"))),
        ("코스피 등락률", pct(sentiment.get("kospi_return"))),
        ("유니버스 평균 등락률", pct(sentiment.get("universe_return"))),
        ("거래량 추세", labels.VOLUME_TREND.get(sentiment.get("volume_trend"), "-")),
        ("최종 국면 (중기)", labels.regime(regimes.get("final_regime"))),
        ("장기 국면", labels.regime(regimes.get("longterm_regime"))),
        (
            "단기 위험",
            f"{labels.RISK.get(risk.get('short_term_risk_label'), '-')} "
            f"({risk.get('short_term_risk_score', '-')}점)",
        ),
        ("추세 점수", number(trend.get("global_trend_score"))),
        (
            "시장 괴리",
            labels.DIVERGENCE.get(divergence.get("divergence_type") or "", "없음"),
        ),
    ]
    thresholds = condition.get("thresholds")
    if thresholds:
        pairs.append(
            (
                "시장 기준",
                f"RSI {number(thresholds['rsi_threshold'])} · 최소 신호 "
                f"{thresholds['min_signals']}개 · 거래량 배수 {number(thresholds['vol_ma5_mult'])}",
            )
        )
    return pairs


def record_pairs(record: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """A run record for readers: universe, counts, then the version's block."""
    if not record:
        return []
    pairs = []
    universe = record.get("universe")
    if universe:
        pairs.append(("유니버스", _universe(universe)))
    counts = record.get("counts")
    if counts:
        pairs.append(
            (
                "집계",
                f"평가 {counts['evaluated_count']}종목 · 조건 통과 {counts['candidates_count']}"
                f"종목 · 추천 {counts['matched_count']}종목",
            )
        )
    if record.get("v1"):
        pairs.append(("완화 단계 (v1)", _v1(record["v1"])))
    if record.get("v2"):
        pairs += _v2(record["v2"])
    if record.get("v3"):
        pairs += _v3(record["v3"])
    if "universe" not in record and record.get("params"):
        pairs.append(("기록", "이 실행은 시장 상황과 설정만 저장했습니다 (이전 버전)"))
    return pairs


def _universe(universe: Mapping[str, Any]) -> str:
    sizes, limits = universe["sizes"], universe["limits"]
    text = (
        f"{universe['final_size']}종목 (코스피 {sizes['KOSPI']} · 코스닥 {sizes['KOSDAQ']}), "
        f"한도 {_limit(limits['kospi'])}/{_limit(limits['kosdaq'])}"
    )
    if universe.get("resized"):
        base = universe["base_limits"]
        text += f" (시장 괴리로 {_limit(base['kospi'])}/{_limit(base['kosdaq'])}에서 조정)"
    if universe.get("unknown_security_types"):
        text += f", 증권 유형 미상 {universe['unknown_security_types']}종목"
    return text


def _v1(block: Mapping[str, Any]) -> str:
    matched = " · ".join(f"{k}단계 {n}" for k, n in enumerate(block["matched"]))
    if not block.get("fallback_enable", True):
        return f"완화 없음 (0단계만), 조건 통과 {matched}"
    band = f"목표 {block['target_min']}~{block['target_max']}종목"
    if block["chosen_step"] is None:
        return f"{band}, 어느 단계도 목표에 못 미쳐 추천 없음 ({matched})"
    return f"{band}, {block['chosen_step']}단계 선택 ({matched})"


def _v2(block: Mapping[str, Any]) -> list[tuple[str, str]]:
    gate = block["gate"]
    why = labels.GATE_WHY.get(gate["why"], gate["why"])
    pairs = [("국면 게이트 (v2)", f"{'열림' if gate['open'] else '닫힘'} — {why}")]
    if block.get("regime") is None:
        return pairs
    pairs.append(
        (
            "컷오프",
            f"{labels.regime(block['regime'])} 국면: {_horizons(block['cutoffs'])}"
            f" (단기 위험 조정 −{number(block['short_term_adjust'])})",
        )
    )
    pairs.append(("기간별 한도", _horizons(block["caps"])))
    pairs.append(("적격 / 유지", _qualified_kept(block["qualified"], block["kept"])))
    return pairs


def _v3(block: Mapping[str, Any]) -> list[tuple[str, str]]:
    routing = block["routing"]
    if routing["pullback_ran"]:
        route = "중기 추세와 눌림목 모두 실행"
    else:
        route = f"중기 추세만 실행 (눌림목 제외: {routing['why_not']})"
    pairs = [("라우팅 (v3)", route)]
    for name in ("midterm", "v2_lite"):
        counts = block.get(name)
        if not counts or (name == "v2_lite" and not counts.get("ran")):
            continue
        pairs.append(
            (
                labels.SUB_ENGINE[name],
                f"평가 {counts['evaluated_count']} · 조건 통과 {counts['candidates_count']} · "
                f"추천 {counts['matched_count']}",
            )
        )
    return pairs


def _horizons(values: Mapping[str, Any]) -> str:
    return " · ".join(f"{labels.HORIZON[h]} {number(values[h])}" for h in HORIZONS if h in values)


def _qualified_kept(qualified: Mapping[str, Any], kept: Mapping[str, Any]) -> str:
    return " · ".join(f"{labels.HORIZON[h]} {qualified[h]}/{kept[h]}" for h in HORIZONS)


def _limit(limit: int) -> str:
    return "전체" if limit == 0 else str(limit)
