"""Korean labels of the daily page: market states, reason codes (ENGINES.md §8.5), the lines
each engine reads, and the run record's parts. Picks keep the words the engines store and the
notification sends (score labels such as 매수 후보, strategies such as 스윙 or midterm)."""

from __future__ import annotations

STATUS = {"ok": "정상", "unknown": "판단 불가", "disabled": "사용 안 함"}
REGIME = {"bull": "강세", "neutral": "중립", "bear": "약세", "crash": "급락", "unknown": "미상"}
RISK = {"normal": "보통", "elevated": "주의", "stressed": "경계", "unknown": "미상"}
VOLUME_TREND = {"high": "증가", "normal": "보통", "low": "감소"}
DIVERGENCE = {
    "kospi_up_kosdaq_down": "코스피 강세 · 코스닥 약세",
    "kospi_down_kosdaq_up": "코스피 약세 · 코스닥 강세",
}
HORIZON = {"swing": "스윙", "position": "포지션", "longterm": "장기"}
SUB_ENGINE = {"midterm": "중기 추세 (midterm)", "v2_lite": "눌림목 (v2_lite)"}
RUN_STATUS = {"ok": "성공", "failed": "실패"}
TRIGGER = {
    "cron": "정기 실행",
    "manual": "수동 실행",
    "ci": "자동 작업",
    "backfill": "과거 재계산",
    "catchup": "밀린 세션 반영",
}
GATE_WHY = {
    "regime_ok": "시장 국면 정상",
    "status_not_ok": "시장 상황 판단 불가 (게이트 없음)",
    "crash_longterm_bull": "급락이지만 장기 강세",
    "bear": "약세장",
    "crash": "급락장",
}

REASONS = {
    "no_bar_on_date": "당일 시세 없음",
    "insufficient_history": "거래 이력 부족",
    "not_in_universe": "유니버스 밖",
    "regime_gate": "시장 국면 제한",
    "name_filter": "제외 키워드 종목명",
    "rsi_ceiling": "RSI 상한 초과",
    "liquidity": "거래대금 부족",
    "price": "주가 기준 미달",
    "trend_ema60": "EMA60 추세 조건 미충족",
    "overheat": "과열",
    "gap_ext": "TEMA20 이격 범위 밖",
    "atr": "변동성(ATR) 범위 밖",
    "risk": "위험 점수 초과",
    "trend_dema_slope": "DEMA10 기울기 미충족",
    "signals": "신호 수 부족",
    "trend_gate": "추세 조건 미충족",
    "trend_alignment": "이동평균 정배열 아님",
    "trend_slope": "EMA60 기울기 하락",
    "rsi_band": "RSI 범위 밖",
    "return_band": "20일 수익률 범위 밖",
    "overextended": "EMA20 대비 과열",
    "high_age": "최근 고점이 오래됨",
    "pullback_depth": "눌림 깊이 범위 밖",
    "ema20_touch": "EMA20 지지 미확인",
    "volume_contraction": "거래량 감소 아님",
    "reversal_bar": "반등 캔들 아님",
    "fallback_exhausted": "완화 단계 목표 미달",
    "cutoff": "점수 기준 미달",
    "horizon_cap": "기간별 한도 초과",
    "not_in_top_k": "순위 밖",
}

# The lines each engine's rules read, drawn over the closes (ENGINES.md §5.2, §6.4, §7.2, §7.3),
# keyed by the stored `engine` column (the version, or v3's sub-engine).
LINES = {
    "v1": ("TEMA20", "DEMA10", "EMA60"),
    "v2": ("TEMA20", "DEMA10"),
    "midterm": ("EMA20", "EMA60"),
    "v2_lite": ("EMA20", "EMA60"),
}
LINE_COLORS = {
    "TEMA20": "#d9480f",
    "DEMA10": "#2b8a3e",
    "EMA20": "#d9480f",
    "EMA60": "#5f3dc4",
}
VERSION_COLORS = ("#1c7ed6", "#e8590c", "#2f9e44", "#ae3ec9", "#868e96")


def reason(code: str | None) -> str:
    """The Korean text of a reason code, the code itself when it has none."""
    if code is None:
        return "-"
    return REASONS.get(code, code)


def regime(value: str | None) -> str:
    return "-" if value is None else REGIME.get(value, value)
