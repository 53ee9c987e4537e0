"""The market condition of ENGINES.md §3: one object per scan date, shared by every engine.

The rules are pure functions on scalars in `scanctl.market.regime_rules`; `market_condition`
computes their inputs from the data in spec order: §3.1 series → status → §3.2 → §3.3 → §3.4 →
§3.5 → §3.6 → §3.7. Breadth and volume trend use the *base* universe.

Resolved ambiguities:

* P and Q both missing → reason ``kospi_proxy_missing`` (P is checked first).
* ``disabled`` has reason null (§3.8: null or a missing-proxy reason); its series choices are
  still resolved and recorded (§3.1 says they are filled for ``unknown`` and ``disabled``).
* With ``unknown`` / ``disabled`` every label (market_sentiment, volume_trend, the three regimes,
  short_term_risk_label, kr_trend_regime) is ``"unknown"``; every number, count, thresholds,
  components, kr_features, market_divergence and divergence_type are null.
* prev_midterm_regime "none" (m = j0) is written as null.
* divergence_type is ``""`` whenever market_divergence is false, even with opposite signs and
  abs(K − Kq) ≤ 0.05. Zero has no sign.
* mid(s, ·) with fewer than 21 bars ≤ s is ``neutral`` whatever prev is, and that ``neutral`` is
  the next session's prev.
* US: present = ≥ 2 bars strictly before D, the last at most `us_max_staleness_days` calendar
  days before D. Only a present series feeds §3.5/§3.6; its SMA50 > SMA200 bonus needs ≥ 200
  bars before D; the US trend is available iff SPY or QQQ is present with ≥ 61 bars before D.
* Breadth and volume trend read the window of D (a member's previous bar and 5 earlier volumes),
  so the window's lookback must be ≥ 6 (default 220).
* "P's bars dated ≤ s" are the bars passed in: the index series / panel must hold ≥
  `midterm_hysteresis_sessions` + 21 proxy bars for a full-depth recursion (65 is only the
  presence minimum), and ≥ 200 US bars for the SMA term.
* Index rows with a non-finite or non-positive price are ignored; ``indexes`` is keyed by code.
* The crash row of the threshold table is adjusted like the others (e.g. min_signals 1000).
* Formulas are evaluated literally in double: a ratio minus one against the threshold
  (h/l − 1 > 0.04, never h > 1.04·l).
* ``master`` is not read by §3 (the proxy ETFs are ordinary panel bars), only checked aligned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scanctl.market.regime_rules import (
    SENTIMENT_SCORES,
    UNKNOWN,
    KrFeatures,
    RiskComponents,
    Thresholds,
    divergence_of,
    effective_return_of,
    kr_features_of,
    kr_trend_regime_of,
    kr_trend_score_of,
    longterm_regime_of,
    midterm_hysteresis,
    midterm_inputs,
    risk_label_of,
    sentiment_of,
    short_term_risk_components,
    thresholds_for,
    us_trend_score_of,
    volume_trend_of,
)

if TYPE_CHECKING:
    from scanctl.market.params import MarketParams
    from scanctl.market.universe import Universe
    from scanctl.market.window import Window
    from scanctl.store.panel import Panel
    from scanctl.store.tickers import IndexSeries, TickerMaster

# The deepest the condition reads into the evaluation window: the volume trend's bar on D and
# the 5 before it (§3.2); the universe reads only the last row.
WINDOW_ROWS = 6

VERSION = "scanctl-mc-1"  # §3.8
MIN_PROXY_BARS = 65  # §3.1


@dataclass(frozen=True, eq=False)
class MarketCondition:
    """The §3.8 object. With status ``unknown`` / ``disabled`` only status, reason and the
    series are filled: labels are ``"unknown"`` and everything else is None."""

    status: str
    reason: str | None
    kospi_proxy: str | None
    kosdaq_proxy: str | None
    etf_reference: str | None
    us_series: tuple[str, ...]
    kospi_return: float | None = None
    low_return: float | None = None
    volatility: float | None = None
    universe_return: float | None = None
    universe_return_count: int | None = None
    daily_return_raw: float | None = None
    effective_return: float | None = None
    market_sentiment: str = UNKNOWN
    sentiment_score: int | None = None
    volume_trend_ratio: float | None = None
    volume_trend_count: int | None = None
    volume_trend: str = UNKNOWN
    thresholds: Thresholds | None = None
    longterm_regime: str = UNKNOWN
    r60: float | None = None
    vol20: float | None = None
    midterm_regime: str = UNKNOWN
    r20: float | None = None
    a10: float | None = None
    r5: float | None = None
    prev_midterm_regime: str | None = None
    final_regime: str = UNKNOWN
    short_term_risk_score: int | None = None
    short_term_risk_label: str = UNKNOWN
    risk_components: RiskComponents | None = None
    kr_features: KrFeatures | None = None
    kr_trend_score: float | None = None
    kr_trend_regime: str = UNKNOWN
    us_trend_score: float | None = None
    global_trend_score: float | None = None
    market_divergence: bool | None = None
    divergence_type: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The §3.8 object as plain JSON values (undefined numbers → null)."""

        def pick(*names: str) -> dict[str, Any]:
            return {name: _json(getattr(self, name)) for name in names}

        return {
            "version": VERSION,
            **pick("status", "reason"),
            "series": {
                **pick("kospi_proxy", "kosdaq_proxy", "etf_reference"),
                "us": list(self.us_series),
            },
            "sentiment": pick(*_SENTIMENT_FIELDS),
            "thresholds": _json(self.thresholds),
            "regimes": {
                "longterm_regime": self.longterm_regime,
                "longterm": pick("r60", "vol20"),
                "midterm_regime": self.midterm_regime,
                "midterm": pick("r20", "a10", "r5", "prev_midterm_regime"),
                "final_regime": self.final_regime,
            },
            "short_term_risk": {
                **pick("short_term_risk_score", "short_term_risk_label"),
                "components": _json(self.risk_components),
            },
            "trend": {
                "kr_features": None
                if self.kr_features is None
                else {key.upper(): value for key, value in _json(self.kr_features).items()},
                **pick("kr_trend_score", "kr_trend_regime", "us_trend_score", "global_trend_score"),
            },
            "divergence": pick("market_divergence", "divergence_type"),
        }


# The §3.8 sentiment block: the fields from kospi_return to volume_trend, in declaration order.
_FIELD_NAMES = [field.name for field in dataclasses.fields(MarketCondition)]
_SENTIMENT_FIELDS = _FIELD_NAMES[
    _FIELD_NAMES.index("kospi_return") : _FIELD_NAMES.index("thresholds")
]


# --- §3.2–3.7 rules on scalars --------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Bars:
    """One series' valid bars in a date range, ascending: ``(S,)`` arrays."""

    code: str
    dates: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __len__(self) -> int:
        return len(self.close)


def _index_bars(
    code: str, indexes: Mapping[str, IndexSeries], end: np.datetime64, strict: bool = False
) -> _Bars:
    """Valid bars of index ``code`` dated ≤ end (< end when ``strict``); empty when absent."""
    series = indexes.get(code)
    if series is None:
        return _Bars(code, np.zeros(0, dtype="datetime64[D]"), *np.zeros((3, 0)))
    dates = np.asarray(series.dates, dtype="datetime64[D]")
    prices = np.stack([series.open, series.high, series.low, series.close]).astype(np.float64)
    with np.errstate(invalid="ignore"):
        keep = np.all(prices > 0, axis=0) & np.all(np.isfinite(prices), axis=0)
    keep &= dates < end if strict else dates <= end
    return _Bars(code, dates[keep], prices[1, keep], prices[2, keep], prices[3, keep])


def _panel_bars(panel: Panel, code: str, end: np.datetime64) -> _Bars:
    """Bars of one panel ticker dated ≤ end (empty when the panel lacks the code)."""
    col = panel.code_index(code)
    if col is None:
        return _index_bars(code, {}, end)
    stop = int(np.searchsorted(panel.dates, end, side="right"))
    rows = np.flatnonzero(~np.isnan(panel.close[:stop, col]))
    return _Bars(
        code, panel.dates[rows], panel.high[rows, col], panel.low[rows, col], panel.close[rows, col]
    )


def _proxy(first: _Bars, second: _Bars, day: np.datetime64) -> _Bars | None:
    """§3.1: the first of the two with a bar on D and ≥ 65 bars ≤ D."""
    for bars in (first, second):
        if len(bars) >= MIN_PROXY_BARS and bars.dates[-1] == day:
            return bars
    return None


def market_condition(
    panel: Panel,
    window: Window,
    master: TickerMaster,
    base_universe: Universe,
    indexes: Mapping[str, IndexSeries],
    day: dt.date,
    params: MarketParams,
) -> MarketCondition:
    """Compute the §3 market condition of scan date ``day`` (steps and resolved ambiguities:
    the module docstring).

    ``panel`` holds bars up to at least D (the proxy ETFs are read from it); ``window`` is the
    evaluation window of D (lookback ≥ 6); ``master`` is aligned with its codes (not read by
    §3); ``base_universe`` is built with the configured limits; ``indexes`` maps index codes
    (KOSPI, KOSDAQ, SPY, QQQ, VIX) to their series, ascending by date, any date range.

    Raises
    ------
    ValueError
        ``window`` is not the window of ``day`` or has a lookback < 6; ``master`` or
        ``base_universe`` is not aligned with its codes.
    """
    _check_inputs(window, master, base_universe, day)
    end = np.datetime64(day, "D")
    etf = _panel_bars(panel, params.kospi_etf, end)
    kospi = _proxy(_index_bars(params.kospi_index, indexes, end), etf, end)
    kosdaq_etf = _panel_bars(panel, params.kosdaq_etf, end)
    kosdaq = _proxy(_index_bars(params.kosdaq_index, indexes, end), kosdaq_etf, end)
    reference = etf if len(etf) >= 2 and etf.dates[-1] == end else kospi
    us: dict[str, _Bars] = {}
    for code in (params.us_spy, params.us_qqq, params.us_vix):
        bars = _index_bars(code, indexes, end, strict=True)
        # §3.1: ≥ 2 bars before D, the last at most us_max_staleness_days calendar days old.
        if len(bars) >= 2 and (end - bars.dates[-1]).astype(int) <= params.us_max_staleness_days:
            us[code] = bars
    series = {
        "kospi_proxy": None if kospi is None else kospi.code,
        "kosdaq_proxy": None if kosdaq is None else kosdaq.code,
        "etf_reference": None if reference is None else reference.code,
        "us_series": tuple(us),
    }
    if not params.enable:
        return MarketCondition(status="disabled", reason=None, **series)
    if kospi is None or reference is None:
        return MarketCondition(status=UNKNOWN, reason="kospi_proxy_missing", **series)
    if kosdaq is None:
        return MarketCondition(status=UNKNOWN, reason="kosdaq_proxy_missing", **series)

    # §3.2 sentiment and thresholds.
    closes, highs, lows = kospi.close, kospi.high, kospi.low
    kospi_return = float(closes[-1] / closes[-2] - 1)
    low_return = float(lows[-1] / closes[-2] - 1)
    volatility = float(((highs[-5:] - lows[-5:]) / closes[-5:]).mean())
    universe_return, universe_count = _breadth(window, base_universe.member)
    daily_return_raw = float(reference.close[-1] / reference.close[-2] - 1)
    effective = effective_return_of(kospi_return, low_return, universe_return, daily_return_raw)
    sentiment = sentiment_of(effective)
    volume_ratio, volume_count = _volume_trend(window, base_universe.member)
    volume_trend = volume_trend_of(volume_ratio)

    # §3.3 and §3.4 regimes.
    vol20 = float((closes[-20:] / closes[-21:-1] - 1).std())  # population std, k = t−19 … t
    r60 = float(closes[-1] / closes[-61] - 1)
    midterm, prev_midterm = midterm_hysteresis(closes, params.midterm_hysteresis_sessions)
    r20, a10, r5 = midterm_inputs(closes.tolist(), len(closes) - 1)

    # §3.5 short-term risk.
    spy, qqq, vix = (us.get(code) for code in (params.us_spy, params.us_qqq, params.us_vix))
    components = short_term_risk_components(
        kospi_return,
        low_return,
        float(highs[-1]),
        float(lows[-1]),
        None if spy is None else float(spy.close[-1] / spy.close[-2] - 1),
        None if vix is None else float(vix.close[-1]),
        None if vix is None else float(vix.close[-2]),
    )

    # §3.6 trend and §3.7 divergence.
    features = kr_features_of(closes, kosdaq.close)
    kr_score = kr_trend_score_of(features)
    us_score = us_trend_score_of(*(None if bars is None else bars.close for bars in (spy, qqq)))
    divergence, divergence_type = divergence_of(features.r20, features.kosdaq_r20)

    return MarketCondition(
        status="ok",
        reason=None,
        **series,
        kospi_return=kospi_return,
        low_return=low_return,
        volatility=volatility,
        universe_return=universe_return,
        universe_return_count=universe_count,
        daily_return_raw=daily_return_raw,
        effective_return=effective,
        market_sentiment=sentiment,
        sentiment_score=SENTIMENT_SCORES[sentiment],
        volume_trend_ratio=volume_ratio,
        volume_trend_count=volume_count,
        volume_trend=volume_trend,
        thresholds=thresholds_for(sentiment, volatility, volume_trend),
        longterm_regime=longterm_regime_of(r60, vol20),
        r60=r60,
        vol20=vol20,
        midterm_regime=midterm,
        r20=r20,
        a10=a10,
        r5=r5,
        prev_midterm_regime=prev_midterm,
        final_regime=midterm,
        short_term_risk_score=components.score,
        short_term_risk_label=risk_label_of(components.score),
        risk_components=components,
        kr_features=features,
        kr_trend_score=kr_score,
        kr_trend_regime=kr_trend_regime_of(kr_score),
        us_trend_score=us_score,
        global_trend_score=kr_score if us_score is None else 0.4 * kr_score + 0.6 * us_score,
        market_divergence=divergence,
        divergence_type=divergence_type,
    )


def _check_inputs(window: Window, master: TickerMaster, universe: Universe, day: dt.date) -> None:
    if window.date != day:
        raise ValueError(f"window is for {window.date}, not the scan date {day}")
    if window.lookback < WINDOW_ROWS:
        raise ValueError(
            f"window lookback must be ≥ {WINDOW_ROWS} for the volume trend, got {window.lookback}"
        )
    for name, codes in (("ticker master", master.codes), ("base universe", universe.codes)):
        if codes is not window.codes and not np.array_equal(codes, window.codes):
            raise ValueError(f"{name} is not aligned with the window codes")


def _breadth(window: Window, member: np.ndarray) -> tuple[float | None, int]:
    """§3.2 universe_return over members with a bar before D: mean of c_D / c_prev − 1."""
    cols = np.flatnonzero(member & window.bar_on_date & (window.n_bars >= 2))
    if not len(cols):
        return None, 0
    return float((window.close[-1, cols] / window.close[-2, cols] - 1).mean()), len(cols)


def _volume_trend(window: Window, member: np.ndarray) -> tuple[float | None, int]:
    """§3.2 volume_trend_ratio over members with ≥ 6 bars: mean of v_D / mean(5 bars before)."""
    cols = np.flatnonzero(member & window.bar_on_date & (window.n_bars >= WINDOW_ROWS))
    if not len(cols):
        return None, 0
    volumes = window.volume[-WINDOW_ROWS:, cols]
    return float((volumes[-1] / volumes[:-1].mean(axis=0)).mean()), len(cols)


def _json(value: Any) -> Any:
    """A plain JSON value: NaN → None, a frozen dataclass → a dict."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {key: _json(item) for key, item in dataclasses.asdict(value).items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
