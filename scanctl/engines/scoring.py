"""What engines v1 and v2 share: ENGINES.md §4, their common checks and score, records, params.

Over 400 lines because it is the one home of everything v1 and v2 compute the same way, so that
each engine module holds only its own pipeline: §4.1 base risk (`risk_flags`), §4.2 sub-scores,
§4.3 classifier (`trading_strategy`, both columns), §4.4 guidance, §4.5 label and divergence
bonus, the name filter, the checks and score components that §5.2/§5.3 and §6.3/§6.5 define
with the same formulas, the §8.1–8.3 records (`Records`), the score `Weights` and the rules
between keys of `[engines.v1]` / `[engines.v2]` (`SharedParams`).

Every function works on ``(N,)`` arrays of values on bar t (`BarT`) and is vectorised over
tickers. An undefined (NaN) input makes every comparison false (§0.5), literally: a check
written "NOT (a ∧ b)" passes when a is undefined.

Resolved ambiguities:

* §4.3 / §4.5 on an undefined X: every band test is false, so 관찰 and "후보 종목".
* The divergence bonus needs status ``ok``, ``market_divergence`` true and a known
  divergence_type; it is added to the score of every ticker of the favoured market (only
  matched tickers' scores rank anything).
* The name filter reports the first keyword (inverse keywords, then bond keywords, each in the
  configured order) that the name contains as the check's ``keyword`` value.
* Weights are numbers ≥ 0; a partial ``weights`` table is merged over the defaults.
* details.total is S, the sum of the gains (the divergence bonus is not a component); a
  component whose weight is not used (v1 dema_slope_ok unless ``optional``) has w = 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from scanctl.config import Section, SettingError, setting
from scanctl.engines.base import Check, EngineInput, Pick, plain
from scanctl.market.condition import MarketCondition

SWING, POSITION, LONGTERM, WATCH = "스윙", "포지션", "장기", "관찰"  # §4.3 strategies
REQUIRE_DEMA_SLOPE = ("required", "optional", "off")  # §9.3 / §9.4

# §4.1, fixed: RSI_TEMA_t > 80 is overbought; up_days5 ≥ 4 is exhaustion; points per flag.
RSI_OVERBOUGHT = 80.0
EXHAUSTION_UP_DAYS = 4
RISK_POINTS = {"rsi_overbought": 2, "vol_spike": 2, "momentum_weak": 1, "price_exhaustion": 1}
LABELS = ((10.0, "강한 매수"), (8.0, "매수 후보"), (6.0, "관심 종목"))  # §4.5, X ≥ bound
DEFAULT_LABEL = "후보 종목"  # §4.5
FAVOURED_MARKET = {"kospi_up_kosdaq_down": "KOSPI", "kospi_down_kosdaq_up": "KOSDAQ"}  # §4.5
# §5.3 / §6.5, fixed: slope floor of tema/obv_slope_ok, ABOVE_CNT5 bound, the rsi_ok band.
SLOPE_MIN = 0.001
ABOVE_CNT5_MIN = 3
RSI_NEAR = 3.0
INDICATORS = (  # §8.2 v1 / v2 keys; VOL (= v_t) is added
    *("TEMA20", "DEMA10", "EMA60", "MACD_LINE", "MACD_SIGNAL", "MACD_OSC", "RSI_TEMA"),
    *("RSI_DEMA", "OBV", "VOL_MA5", "VMA20", "ATR14", "ATR_PCT", "turnover20", "close"),
)
TREND = ("TEMA20_SLOPE20", "OBV_SLOPE20", "DEMA10_SLOPE20")  # §8.1 (+ ABOVE_CNT5)
# §5.3 / §6.5 score components in order → their key in `Weights`.
COMPONENTS = {
    "cross": "cross",
    "vol_expand": "volume",
    "macd_ok": "macd",
    "rsi_ok": "rsi",
    "tema_slope_ok": "tema_slope",
    "obv_slope_ok": "obv_slope",
    "above_cnt5_ok": "above_cnt5",
    "dema_slope_ok": "dema_slope",
}


GUIDANCE_KEYS = ("target_profit", "stop_loss", "holding_period", "holding_period_text")
GUIDANCE = {  # §4.4: stop_loss negative, holding_period in sessions
    SWING: (0.05, -0.05, 10, "3~10일"),
    POSITION: (0.10, -0.07, 60, "2주~3개월"),
    LONGTERM: (0.15, -0.10, 120, "3개월 이상"),
    WATCH: (None, None, None, None),
}


@dataclass(frozen=True, eq=False)
class BarT:
    """The ``(N,)`` values on bar t that v1 and v2 read: c_t, v_t and §1.1 series' last rows."""

    close: np.ndarray
    volume: np.ndarray
    TEMA20: np.ndarray
    DEMA10: np.ndarray
    EMA60: np.ndarray
    MACD_LINE: np.ndarray
    MACD_SIGNAL: np.ndarray
    MACD_OSC: np.ndarray
    RSI_TEMA: np.ndarray
    RSI_DEMA: np.ndarray
    OBV: np.ndarray
    VOL_MA5: np.ndarray
    VMA20: np.ndarray
    ATR14: np.ndarray
    TEMA20_SLOPE20: np.ndarray
    OBV_SLOPE20: np.ndarray
    DEMA10_SLOPE20: np.ndarray

    @classmethod
    def of(cls, inp: EngineInput) -> BarT:
        """Bar t of every ticker of ``inp`` (views, no copies)."""
        names = [f.name for f in dataclasses.fields(cls)][2:]
        series = {name: inp.last(getattr(inp.indicators, name)) for name in names}
        return cls(inp.last(inp.window.close), inp.last(inp.window.volume), **series)


# --------------------------------------------------------------------------- §4


@dataclass(frozen=True, eq=False)
class RiskFlags:
    """§4.1 risk flags ``(N,)`` bool and base_risk ``(N,)`` int64 (0–6)."""

    rsi_overbought: np.ndarray
    vol_spike: np.ndarray
    momentum_weak: np.ndarray
    price_exhaustion: np.ndarray
    base_risk: np.ndarray

    def record(self, index: int) -> dict[str, bool]:
        """flags.risk_flags of one ticker (§8.3)."""
        return {name: bool(getattr(self, name)[index]) for name in RISK_POINTS}


def risk_flags(
    bar: BarT, macd_duration: np.ndarray, up_days5: np.ndarray, params: Any
) -> RiskFlags:
    """§4.1 base risk and its four flags; ``params`` gives vol_spike_threshold (3.0) and
    momentum_duration_min (3); ``macd_duration``, ``up_days5`` are the §1.2 scalars."""
    flags = {
        "rsi_overbought": bar.RSI_TEMA > RSI_OVERBOUGHT,
        "vol_spike": bar.volume > params.vol_spike_threshold * bar.VOL_MA5,
        "momentum_weak": macd_duration < params.momentum_duration_min,
        "price_exhaustion": up_days5 >= EXHAUSTION_UP_DAYS,
    }
    score = np.zeros(len(bar.close), dtype=np.int64)
    for name, points in RISK_POINTS.items():
        score += points * flags[name]
    return RiskFlags(**flags, base_risk=score)


def momentum_score(ok: Mapping[str, np.ndarray]) -> np.ndarray:
    """§4.2 momentum_score = 3·cross + 2·vol_expand + macd_ok + rsi_ok, ``(N,)`` int64."""
    return 3 * ok["cross"].astype(np.int64) + 2 * ok["vol_expand"] + ok["macd_ok"] + ok["rsi_ok"]


def trend_score(ok: Mapping[str, np.ndarray]) -> np.ndarray:
    """§4.2 trend_score = 2·(tema_slope_ok + obv_slope_ok + above_cnt5_ok + dema_slope_ok)."""
    names = ("tema_slope_ok", "obv_slope_ok", "above_cnt5_ok", "dema_slope_ok")
    return 2 * np.sum([ok[name] for name in names], axis=0, dtype=np.int64)


def trading_strategy(
    x: np.ndarray,
    ok: Mapping[str, np.ndarray],
    momentum: np.ndarray,
    trend: np.ndarray,
    rsi_tema: np.ndarray | None = None,
) -> np.ndarray:
    """§4.3 classifier on score X (v1: S′, v2: V), ``(N,)`` object of 스윙/포지션/장기/관찰.

    ``ok`` gives the engine's cross and vol_expand; ``rsi_tema`` is None for the v1 column and
    RSI_TEMA_t for the v2 column. The literals are the fixed bounds of the §4.3 table.
    """
    cross, vol_expand = ok["cross"], ok["vol_expand"]
    strong = np.where(
        cross & vol_expand & (momentum >= 6), SWING, np.where(trend >= 5, POSITION, SWING)
    )
    buy = np.where(
        cross & (trend >= 4), POSITION, np.where(vol_expand & (momentum >= 5), SWING, POSITION)
    )
    if rsi_tema is None:
        interest, low = np.where(trend >= 2, LONGTERM, WATCH), np.full(len(x), WATCH)
    else:
        interest = np.where((trend >= 3) & (rsi_tema < 65), LONGTERM, WATCH)
        low = np.where((trend >= 2) & (rsi_tema < 65), LONGTERM, WATCH)
    bands = [x >= 10, x >= 8, x >= 6, x >= 4]
    return np.select(bands, [strong, buy, interest, low], WATCH).astype(object)


def guidance(strategy: str) -> dict[str, Any]:
    """§4.4 target_profit, stop_loss, holding_period, holding_period_text of a strategy."""
    return dict(zip(GUIDANCE_KEYS, GUIDANCE[strategy], strict=True))


def score_label(x: np.ndarray) -> np.ndarray:
    """§4.5 score label of every X, ``(N,)`` object."""
    x = np.asarray(x, dtype=np.float64)
    labels = np.select([x >= bound for bound, _ in LABELS], [name for _, name in LABELS], "")
    return np.where(labels == "", DEFAULT_LABEL, labels).astype(object)


@dataclass(frozen=True, eq=False)
class Bonus:
    """§4.5 divergence bonus ``(N,)`` float64 and flags.kospi_bonus / kosdaq_bonus."""

    value: np.ndarray
    kospi: np.ndarray
    kosdaq: np.ndarray


def divergence_bonus(markets: np.ndarray, condition: MarketCondition, bonus: float) -> Bonus:
    """§4.5 bonus by the ticker's market (D-20), status ``ok`` with a divergence only."""
    favoured = None
    if condition.status == "ok" and condition.market_divergence is True:
        favoured = FAVOURED_MARKET.get(condition.divergence_type or "")
    gets = np.equal(markets, favoured) if favoured else np.zeros(len(markets), dtype=bool)
    value = np.where(gets, float(bonus), 0.0)
    return Bonus(value, gets & (favoured == "KOSPI"), gets & (favoured == "KOSDAQ"))


def name_keyword(names: np.ndarray, keywords: Sequence[str]) -> np.ndarray:
    """``(N,)`` object: the first of ``keywords`` each name contains (case-sensitive), or None."""
    text = np.asarray(names, dtype=str)
    found = np.full(len(text), None, dtype=object)
    for keyword in reversed(keywords):  # the first keyword in order wins
        found[np.char.find(text, keyword) >= 0] = keyword
    return found


# ------------------------------------------------ checks and score shared by v1 and v2


def shared_checks(
    inp: EngineInput, bar: BarT, risk: RiskFlags, params: Any, rsi_ceiling: float
) -> dict[str, Check]:
    """The per-ticker checks whose formulas §5.2 and §6.3 share, by reason code (the engine
    puts them in its order); ``params`` is `V1Params` or `V2Params`.

    name_filter: no keyword of inverse_keywords + bond_keywords in the name; rsi_ceiling:
    RSI_TEMA_t ≤ ceiling; liquidity: turnover20 ≥ min_turnover_krw; price: c_t ≥ min_price;
    overheat: NOT (RSI_TEMA_t ≥ overheat_rsi_tema ∧ v_t ≥ overheat_vol_mult·VOL_MA5_t); atr:
    use_atr_filter off or atr_pct_min ≤ ATR_PCT ≤ atr_pct_max; risk: base_risk <
    risk_score_threshold.
    """
    sc, p = inp.scalars, params
    keyword = name_keyword(inp.master.names, p.inverse_keywords + p.bond_keywords)
    rsi, atr_pct = bar.RSI_TEMA, sc.ATR_PCT
    hot = (rsi >= p.overheat_rsi_tema) & (bar.volume >= p.overheat_vol_mult * bar.VOL_MA5)
    atr_ok = ((atr_pct >= p.atr_pct_min) & (atr_pct <= p.atr_pct_max)) | (not p.use_atr_filter)
    limits = {k: getattr(p, k) for k in ("overheat_rsi_tema", "overheat_vol_mult")}
    atr_limits = {k: getattr(p, k) for k in ("use_atr_filter", "atr_pct_min", "atr_pct_max")}
    checks = [
        Check("name_filter", np.equal(keyword, None), {"keyword": keyword}),
        Check("rsi_ceiling", rsi <= rsi_ceiling, {"RSI_TEMA": rsi}, {"rsi_ceiling": rsi_ceiling}),
        Check("liquidity", sc.turnover20 >= p.min_turnover_krw, {"turnover20": sc.turnover20},
              {"min_turnover_krw": p.min_turnover_krw}),
        Check("price", bar.close >= p.min_price, {"close": bar.close}, {"min_price": p.min_price}),
        Check("overheat", ~hot, {"RSI_TEMA": rsi, "volume": bar.volume, "VOL_MA5": bar.VOL_MA5},
              limits),
        Check("atr", atr_ok, {"ATR_PCT": atr_pct}, atr_limits),
        Check("risk", risk.base_risk < p.risk_score_threshold, {"base_risk": risk.base_risk},
              {"risk_score_threshold": p.risk_score_threshold}),
    ]  # fmt: skip
    return {check.code: check for check in checks}


def gap_ext_check(
    scalars: Any, gap_min: float, gap_max: float, ext_max: float
) -> tuple[Check, np.ndarray, np.ndarray]:
    """``gap_ext``: max(gap_now, 0) ≥ gap_min ∧ gap_now ≤ gap_max ∧ ext_pct ≤ ext_max.

    Returns (the check, gap_ok, ext_ok): the two halves reported in flags (§8.3).
    """
    gap_now, ext_pct = scalars.gap_now, scalars.ext_pct
    gap_ok = (np.maximum(gap_now, 0.0) >= gap_min) & (gap_now <= gap_max)
    ext_ok = ext_pct <= ext_max
    limits = {"gap_min": gap_min, "gap_max": gap_max, "ext_from_tema20_max": ext_max}
    values = {"gap_now": gap_now, "ext_pct": ext_pct}
    return Check("gap_ext", gap_ok & ext_ok, values, limits), gap_ok, ext_ok


def signals_check(count: np.ndarray, min_signals: int) -> Check:
    """``signals``: signals_count ≥ min_signals."""
    limits = {"min_signals": min_signals}
    return Check("signals", count >= min_signals, {"signals_count": count}, limits)


@dataclass(frozen=True, eq=False)
class Components:
    """The §5.3 / §6.5 score: flags ``ok`` (``(N,)`` bool, in `COMPONENTS` order), weights, S,
    the signal counts (§5.4 / §6.5) and the §4.2 sub-scores."""

    ok: dict[str, np.ndarray]
    weights: dict[str, float]
    raw_score: np.ndarray
    signals_basic: np.ndarray
    signals_additional: np.ndarray

    @property
    def signals_count(self) -> np.ndarray:
        return self.signals_basic + self.signals_additional

    def details(self, index: int) -> dict[str, Any]:
        """§8.1 details: {component: {ok, w, gain}} plus total (= S)."""
        out: dict[str, Any] = {}
        for name, weight in self.weights.items():
            passed = bool(self.ok[name][index])
            out[name] = {"ok": passed, "w": weight, "gain": weight if passed else 0}
        out["total"] = plain(self.raw_score[index])
        return out


def score_components(
    bar: BarT,
    scalars: Any,
    weights: Any,
    *,
    vol_mults: tuple[float, float],
    macd_osc_min: float,
    rsi_threshold: float,
    dema_slope_ok: np.ndarray,
    dema_weight: float,
) -> Components:
    """S of §5.3 / §6.5: vol_expand with ``vol_mults`` (VOL_MA5, VMA20 multipliers), macd_ok
    with ``macd_osc_min``, rsi_ok with ``rsi_threshold``; the engine gives its own
    dema_slope_ok and its weight (v1: 0 unless ``optional``)."""
    near = np.abs(bar.RSI_TEMA - bar.RSI_DEMA) < RSI_NEAR
    rsi_high = bar.RSI_TEMA > rsi_threshold  # noqa: SIM300
    osc_up = bar.MACD_OSC > macd_osc_min  # noqa: SIM300
    ok = {
        "cross": scalars.cross,
        "vol_expand": (bar.VOL_MA5 > 0)
        & (bar.volume >= vol_mults[0] * bar.VOL_MA5)
        & (bar.VMA20 > 0)
        & (bar.volume >= vol_mults[1] * bar.VMA20),
        "macd_ok": scalars.macd_golden_cross | scalars.macd_line_up | osc_up,
        "rsi_ok": (bar.RSI_TEMA > bar.RSI_DEMA) | (near & rsi_high),
        "tema_slope_ok": (bar.TEMA20_SLOPE20 > SLOPE_MIN) & (bar.close > bar.TEMA20),
        "obv_slope_ok": bar.OBV_SLOPE20 > SLOPE_MIN,
        "above_cnt5_ok": scalars.ABOVE_CNT5 >= ABOVE_CNT5_MIN,
        "dema_slope_ok": dema_slope_ok,
    }
    w = {name: getattr(weights, key) for name, key in COMPONENTS.items()}
    w["dema_slope_ok"] = dema_weight
    raw = np.zeros(len(bar.close))
    for name, weight in w.items():
        raw += np.where(ok[name], float(weight), 0.0)

    def count(*names: str) -> np.ndarray:
        return np.sum([ok[name] for name in names], axis=0, dtype=np.int64)

    basic = count("cross", "vol_expand", "macd_ok", "rsi_ok")
    additional = count("obv_slope_ok", "tema_slope_ok", "above_cnt5_ok")
    return Components(ok, w, raw, basic, additional)


# --------------------------------------------------------------------------- §8.1–8.3 records


class Records:
    """Explain parts and picks of v1 and v2 (§8.1–8.3); an engine adds its own flags
    in `engine_flags` and may change the §8.3 ``risk_score`` in `risk_score`."""

    engine: ClassVar[str]
    KEYS = ("score", "score_label", "flags", "details")

    def __init__(
        self,
        inp: EngineInput,
        bar: BarT,
        comps: Components,
        risk: RiskFlags,
        bonus: Bonus,
        *,
        score: np.ndarray,
        x: np.ndarray,
        rsi_tema: np.ndarray | None,
        gaps: tuple[np.ndarray, np.ndarray],
        thresholds: dict[str, Any],
    ) -> None:
        self.inp, self.bar, self.comps, self.risk, self.bonus = inp, bar, comps, risk, bonus
        self.score, self.gaps, self.thresholds = score, gaps, thresholds
        self.momentum, self.trend = momentum_score(comps.ok), trend_score(comps.ok)
        self.label = score_label(x)
        self.strategy = trading_strategy(x, comps.ok, self.momentum, self.trend, rsi_tema)

    def engine_flags(self, i: int) -> dict[str, Any]:
        raise NotImplementedError

    def risk_score(self, i: int) -> int:
        return int(self.risk.base_risk[i])

    def explain(self, i: int) -> dict[str, Any]:
        """score, score_label, flags, details of ticker ``i``."""
        score, label = plain(self.score[i]), self.label[i]
        details = self.comps.details(i)
        return {"score": score, "score_label": label, "flags": self.flags(i), "details": details}

    def pick(self, i: int, rank: int) -> Pick:
        """The pick (§8.1) of ticker ``i`` at ``rank``."""
        inp, bar, sc = self.inp, self.bar, self.inp.scalars
        indicators = {
            key: plain(getattr(bar if hasattr(bar, key) else sc, key)[i]) for key in INDICATORS
        }
        indicators["VOL"] = plain(bar.volume[i])
        trend = {key: plain(getattr(bar, key)[i]) for key in TREND}
        explain = self.explain(i)
        return Pick(
            ticker=str(inp.codes[i]),
            name=str(inp.master.names[i]),
            market=inp.master.markets[i],
            engine=self.engine,
            sub_engine=None,
            rank=rank,
            score=explain["score"],
            score_label=explain["score_label"],
            strategy=self.strategy[i],
            close=int(bar.close[i]),
            volume=int(bar.volume[i]),
            change_rate=plain(sc.change_rate[i]),
            traded_value=plain(inp.universe.traded_value[i]),
            indicators=indicators,
            trend={**trend, "ABOVE_CNT5": plain(sc.ABOVE_CNT5[i])},
            flags=explain["flags"],
            details=explain["details"],
        )

    def flags(self, i: int) -> dict[str, Any]:
        """§8.3 flags: the common ones, those v1 and v2 share, then `engine_flags`."""
        comps, sc, strategy = self.comps, self.inp.scalars, self.strategy[i]
        return {
            "label": self.label[i],
            "trading_strategy": strategy,
            **guidance(strategy),
            "risk_score": self.risk_score(i),
            "risk_flags": self.risk.record(i),
            "thresholds": dict(self.thresholds),
            "market_condition_status": self.inp.condition.status,
            **{name: bool(ok[i]) for name, ok in comps.ok.items()},
            "macd_golden_cross": bool(sc.macd_golden_cross[i]),
            "macd_line_up": bool(sc.macd_line_up[i]),
            "gap_now": plain(sc.gap_now[i]),
            "gap_ok": bool(self.gaps[0][i]),
            "ext_pct": plain(sc.ext_pct[i]),
            "ext_ok": bool(self.gaps[1][i]),
            "signals_basic": int(comps.signals_basic[i]),
            "signals_additional": int(comps.signals_additional[i]),
            "signals_count": int(comps.signals_count[i]),
            "min_signals_required": self.thresholds["min_signals"],
            "raw_score": plain(comps.raw_score[i]),
            "kospi_bonus": bool(self.bonus.kospi[i]),
            "kosdaq_bonus": bool(self.bonus.kosdaq[i]),
            "momentum_score": int(self.momentum[i]),
            "trend_score": int(self.trend[i]),
            **self.engine_flags(i),
        }


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Weights(Section):
    """Score weights of v1 and v2 (§9.3 ``weights``, §5.3; v2 "as v1"), each a number ≥ 0.

    The ``weights`` table of `[engines.v1]` and `[engines.v2]`: a partial table is merged over
    these defaults (`SharedParams.validate`).
    """

    SECTION: ClassVar[str] = "weights"

    cross: float = setting(3, "score weight of cross (§5.3, §6.5)", kind="number", ge=0)
    volume: float = setting(2, "score weight of vol_expand (§5.3, §6.5)", kind="number", ge=0)
    macd: float = setting(1, "score weight of macd_ok (§5.3, §6.5)", kind="number", ge=0)
    rsi: float = setting(1, "score weight of rsi_ok (§5.3, §6.5)", kind="number", ge=0)
    tema_slope: float = setting(
        2, "score weight of tema_slope_ok (§5.3, §6.5)", kind="number", ge=0
    )
    obv_slope: float = setting(2, "score weight of obv_slope_ok (§5.3, §6.5)", kind="number", ge=0)
    above_cnt5: float = setting(
        2, "score weight of above_cnt5_ok (§5.3, §6.5)", kind="number", ge=0
    )
    dema_slope: float = setting(
        2,
        "score weight of dema_slope_ok (§6.5; v1 §5.3: only with require_dema_slope optional)",
        kind="number",
        ge=0,
    )


class SharedParams(Section):
    """What `[engines.v1]` (`V1Params`) and `[engines.v2]` (`V2Params`) share: the rules between
    their keys. Each engine declares its own keys, with their defaults and ranges."""

    def validate(self) -> None:
        """atr_pct_min ≤ atr_pct_max, and the ``weights`` table merged over `Weights`."""
        self.check_order("atr_pct_min", "atr_pct_max")
        weights = self.weights  # type: ignore[attr-defined]
        if isinstance(weights, Weights):
            return
        names = Weights.keys()
        if not isinstance(weights, Mapping) or any(key not in names for key in weights):
            raise self.fail("weights", f"a table of {', '.join(names)}", weights)
        try:
            merged = Weights(**weights)
        except SettingError as exc:
            key, problem = f"weights.{exc.key}", f"weights.{exc.problem}"
            raise SettingError(self.SECTION, key, problem) from None
        object.__setattr__(self, "weights", merged)
