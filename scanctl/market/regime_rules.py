"""The rules of the market condition (ENGINES.md §3.2–§3.7) as pure functions on scalars and
short close series, and the value types they produce. `scanctl.market.condition` computes their
inputs from the data and assembles the recorded object; the resolved ambiguities are listed
there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

UNKNOWN = "unknown"

# §3.2 threshold table by sentiment; columns: the `Thresholds` fields in order.
THRESHOLD_TABLE: dict[str, tuple[float, int, float, float, float, float]] = {
    "bull": (65.0, 2, -5.0, 1.5, 0.030, 0.025),
    "neutral": (58.0, 3, 0.0, 1.6, 0.025, 0.025),
    "bear": (45.0, 4, 5.0, 2.0, 0.015, 0.025),
    "crash": (40.0, 999, 999.0, 999.0, 0.001, 0.001),
}
SENTIMENT_SCORES = {"bull": 2, "neutral": 0, "bear": -1, "crash": -2}  # §3.2


@dataclass(frozen=True)
class Thresholds:
    """The six §3.2 thresholds after the volatility and volume-trend adjustments."""

    rsi_threshold: float
    min_signals: int
    macd_osc_min: float
    vol_ma5_mult: float
    gap_max: float
    ext_from_tema20_max: float


@dataclass(frozen=True)
class RiskComponents:
    """§3.5 points per term; `score` = min(3, max(0, sum))."""

    kr_daily: int
    kr_range: int
    spy: int
    vix: int

    @property
    def score(self) -> int:
        return min(3, max(0, self.kr_daily + self.kr_range + self.spy + self.vix))


@dataclass(frozen=True)
class KrFeatures:
    """§3.6 KR features of P (R20 … MA60_SLOPE, again as KOSPI_R20/R60) and Q (KOSDAQ_R20/R60);
    the §3.8 record keys are the field names upper-cased."""

    r20: float
    r60: float
    dd20: float
    dd60: float
    ma20_slope: float
    ma60_slope: float
    kospi_r20: float
    kospi_r60: float
    kosdaq_r20: float
    kosdaq_r60: float


def effective_return_of(
    kospi_return: float, low_return: float, universe_return: float | None, daily_return_raw: float
) -> float:
    """§3.2 effective_return: first matching case (1) P below −2.5 %, (2) big E move, (3) P."""
    if kospi_return < -0.025:
        candidates = [kospi_return, low_return]
        if universe_return is not None and not math.isnan(universe_return):
            candidates.append(universe_return)
        return min(candidates)
    if abs(daily_return_raw) >= 0.02:
        return daily_return_raw
    return kospi_return


def sentiment_of(effective_return: float) -> str:
    """§3.2 market_sentiment: bull / crash / bear / neutral, first match."""
    if effective_return > 0.010:
        return "bull"
    if effective_return < -0.025:
        return "crash"
    if effective_return < -0.010:
        return "bear"
    return "neutral"


def volume_trend_of(ratio: float | None) -> str:
    """§3.2 volume_trend: high / low / normal (an undefined ratio is normal)."""
    if ratio is None:
        return "normal"
    return "high" if ratio > 1.3 else "low" if ratio < 0.7 else "normal"


def thresholds_for(sentiment: str, volatility: float, volume_trend: str) -> Thresholds:
    """§3.2 threshold row of ``sentiment``, then the volatility and volume-trend adjustments."""
    rsi, min_signals, macd_osc_min, vol_ma5_mult, gap_max, ext_max = THRESHOLD_TABLE[sentiment]
    if volatility > 0.04:
        rsi += 2
        min_signals += 1
    elif volatility < 0.02:
        rsi -= 1
    if volume_trend == "high":
        vol_ma5_mult -= 0.2
    elif volume_trend == "low":
        vol_ma5_mult += 0.2
    return Thresholds(rsi, min_signals, macd_osc_min, vol_ma5_mult, gap_max, ext_max)


def longterm_regime_of(r60: float, vol20: float) -> str:
    """§3.3, rules in order (rule 3, crash, is unreachable and kept as specified)."""
    if r60 > 0.08 and vol20 < 0.03:
        return "bull"
    if r60 < -0.08 or vol20 > 0.05:
        return "bear"
    if r60 < -0.15 or vol20 > 0.08:
        return "crash"
    return "neutral"


def midterm_step(r20: float, a10: float, r5: float, prev: str | None) -> str:
    """§3.4 mid(s, prev) for a session with ≥ 21 bars: the crash rule, then the hysteresis
    table row of ``prev`` (None or ``crash`` use the last row)."""
    if r20 < -0.10 or r5 < -0.05:
        return "crash"
    bull_c = r20 > 0.04 and a10 > 0.001
    bear_c = r20 < -0.04 and a10 < -0.001
    table = {  # prev → (1st test, its regime), (2nd test, its regime)
        "bull": (
            (bull_c or (r20 > 0.02 and a10 > -0.0005), "bull"),
            (bear_c and r20 < -0.06, "bear"),
        ),
        "bear": (
            (bear_c or (r20 < -0.02 and a10 < 0.0005), "bear"),
            (bull_c and r20 > 0.06, "bull"),
        ),
        "neutral": ((bull_c and r20 > 0.06, "bull"), (bear_c and r20 < -0.06, "bear")),
    }
    for test, regime in table.get(prev or "none", ((bull_c, "bull"), (bear_c, "bear"))):
        if test:
            return regime
    return "neutral"


def midterm_inputs(closes: list[float], j: int) -> tuple[float, float, float]:
    """§3.4 (r20, a10, r5) of session index j ≥ 20 of a close series."""
    a10 = sum(closes[k] / closes[k - 1] - 1 for k in range(j - 9, j + 1)) / 10
    return closes[j] / closes[j - 20] - 1, a10, closes[j] / closes[j - 5] - 1


def midterm_hysteresis(closes: np.ndarray, depth: int) -> tuple[str, str | None]:
    """§3.4 recursion: (R(D), R(s_{m−1}) or None when m = j0) from P's ``(m+1,)`` closes dated
    ≤ D (ascending, m ≥ 0) and ``depth`` = `midterm_hysteresis_sessions`."""
    values = closes.tolist()
    m = len(values) - 1
    regime: str | None = None
    prev: str | None = None
    for j in range(max(0, m - depth), m + 1):
        prev = regime
        # Fewer than 21 bars dated ≤ s_j → neutral.
        regime = "neutral" if j < 20 else midterm_step(*midterm_inputs(values, j), regime)
    return regime or "neutral", prev


def short_term_risk_components(
    daily: float,
    drop: float,
    high: float,
    low: float,
    spy_return: float | None,
    vix_last: float | None,
    vix_prev: float | None,
) -> RiskComponents:
    """§3.5 terms from P's daily and drop returns, P's high and low on D, and the US values
    (None when the series is absent: it contributes 0)."""
    kr_daily = 2 if daily < -0.015 or drop < -0.02 else int(daily < -0.01)
    kr_range = int(high / low - 1 > 0.04)
    spy = int(spy_return is not None and spy_return < -0.015)
    vix = 0
    if vix_last is not None and vix_prev is not None:
        vix = int(vix_last / vix_prev - 1 > 0.10 or vix_last > 30)
    return RiskComponents(kr_daily, kr_range, spy, vix)


def risk_label_of(score: int) -> str:
    """§3.5 short_term_risk_label."""
    return "stressed" if score >= 3 else "elevated" if score == 2 else "normal"


def kr_features_of(kospi_closes: np.ndarray, kosdaq_closes: np.ndarray) -> KrFeatures:
    """§3.6 features of P (and Q's R20, R60); both need ≥ 65 closes, the last on D."""
    c = kospi_closes
    sma20_now, sma20_before = c[-20:].mean(), c[-25:-5].mean()
    sma60_now, sma60_before = c[-60:].mean(), c[-65:-5].mean()
    return KrFeatures(
        r20=float(c[-1] / c[-21] - 1),
        r60=float(c[-1] / c[-61] - 1),
        dd20=float(c[-1] / c[-21:].max() - 1),
        dd60=float(c[-1] / c[-61:].max() - 1),
        ma20_slope=float((sma20_now - sma20_before) / sma20_before),
        ma60_slope=float((sma60_now - sma60_before) / sma60_before),
        kospi_r20=float(c[-1] / c[-21] - 1),
        kospi_r60=float(c[-1] / c[-61] - 1),
        kosdaq_r20=float(kosdaq_closes[-1] / kosdaq_closes[-21] - 1),
        kosdaq_r60=float(kosdaq_closes[-1] / kosdaq_closes[-61] - 1),
    )


def kr_trend_score_of(f: KrFeatures) -> float:
    """§3.6 kr_trend_score: the sum of the KR terms."""
    score = _band_points(f.r20, 0.04, 1.0) + _band_points(f.r60, 0.08, 1.0)
    score += _band_points(f.kosdaq_r20, 0.04, 0.5) + _band_points(f.kosdaq_r60, 0.08, 0.5)
    score -= (f.dd20 < -0.05) + (f.dd20 < -0.10) + (f.dd60 < -0.15)  # one point each
    score += f.ma20_slope > 0
    if f.ma60_slope > 0:
        score += 1
    elif f.ma60_slope < 0:
        score -= 0.5
    return score


def kr_trend_regime_of(score: float) -> str:
    """§3.6 kr_trend_regime (informational)."""
    return "bull" if score >= 2 else "bear" if score <= -2 else "neutral"


def us_trend_score_of(spy_closes: np.ndarray | None, qqq_closes: np.ndarray | None) -> float | None:
    """§3.6 US trend from the closes before D of the *present* SPY / QQQ (None when absent).

    None (unavailable) unless one of them has ≥ 61 bars; a series with fewer contributes 0;
    +0.5 for each with ≥ 200 bars and SMA50 > SMA200.
    """
    score: float | None = None
    for closes, bound in ((spy_closes, 0.08), (qqq_closes, 0.10)):
        if closes is None or len(closes) < 61:
            continue
        score = (score or 0.0) + _band_points(float(closes[-1] / closes[-61] - 1), bound, 1.0)
        if len(closes) >= 200 and closes[-50:].mean() > closes[-200:].mean():
            score += 0.5
    return score


def divergence_of(kospi_r20: float, kosdaq_r20: float) -> tuple[bool, str]:
    """§3.7 (market_divergence, divergence_type) from K = P.R20 and Kq = Q.R20."""
    up_down = kospi_r20 > 0 and kosdaq_r20 < 0
    down_up = kospi_r20 < 0 and kosdaq_r20 > 0
    if abs(kospi_r20 - kosdaq_r20) > 0.05 and (up_down or down_up):
        return True, "kospi_up_kosdaq_down" if up_down else "kospi_down_kosdaq_up"
    return False, ""


def _band_points(x: float, bound: float, points: float) -> float:
    return points if x > bound else -points if x < -bound else 0.0
