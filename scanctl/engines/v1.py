"""Engine v1 (ENGINES.md §5): TEMA20/DEMA10 momentum scanner with a relaxation fallback.

Over 400 lines because §5 is one unit: the §9.3 parameters and their presets, the per-step
pipeline and the §5.6 orchestration with its records all read the same step arrays.

`run_v1` runs, in this order:

1. `resolve_step` — each step's effective parameters (§5.1) from the immutable params and the
   market condition (status not ``ok`` → static thresholds, §3.9); `target_band` (§5.6).
2. `_Common.of` — what no preset changes: bar t, the §4.1 risk, checks 1–6 and 8–10 of §5.2.
3. `_evaluate_step` — per step: the §5.3 score components (vol_expand depends on the preset),
   check 7 ``gap_ext``, check 11 ``signals`` (§5.4), the score (§5.5) and the order of the
   matched tickers (`base.ranked`).
4. `run_v1` — §5.6 orchestration, reasons by the §8.4 precedence, records (`_Records`,
   §8.1–8.3), the §8.6 run record and the effective params.

Resolved ambiguities:

* With ``fallback_enable = false`` a matched ticker whose score is below
  ``fallback_disabled_min_score`` or beyond top_k gets ``not_in_top_k``; the run record's
  target_min / target_max are null (no band applies).
* Reasons, SubResult.checks and the explain record of a ticker use the chosen step, or the last
  executed step when none was chosen. signal_bonus is max(0, signals_count − min_signals), so
  a ticker that is not matched never gets S′ below S.
* ``steps[].reason`` of an explain record is the step's own reason: the pre-check reason
  (no_bar_on_date, insufficient_history, not_in_universe), else the step's first failed check,
  else null (matched in that step).
* flags.fallback_step is the chosen step (the last executed one when none was chosen).
* SubResult.matched is true only for evaluated tickers (universe members with a bar on D and
  enough history) that pass every check of the reported step; a ticker outside the universe
  whose diagnostic checks all pass has matched false and diagnostic_reason null.
* ``params.steps`` lists the resolved parameters of every configured preset, with
  ``executed``; ``fallback_presets`` holds any number ≥ 1 of presets, run in order.
* Preset values are validated like the keys they replace (min_signals an integer ≥ 0, the
  others numbers ≥ 0); a preset is recorded as a table of the keys it sets.
* Ranges (§9.3 gives none) are declared with each key of `V1Params`: lookback ≥ 21 (§0.4),
  RSI levels in [0, 100], multipliers, limits and counts ≥ 0, top_k ≥ 1; the rules between
  keys (atr_pct_min ≤ atr_pct_max, the presets, the weights table) are its `validate`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from scanctl.config import SettingError, setting
from scanctl.engines import scoring as sc
from scanctl.engines.base import (
    NOT_IN_TOP_K,
    NOT_IN_UNIVERSE,
    Check,
    CheckList,
    EngineInput,
    EngineResult,
    SubResult,
    computable,
    plain,
    pre_reasons,
    ranked,
)
from scanctl.market.condition import MarketCondition

ENGINE = "v1"
FALLBACK_EXHAUSTED = "fallback_exhausted"
PRESET_KEYS = ("min_signals", "vol_ma5_mult", "vol_ma20_mult", "gap_max", "ext_from_tema20_max")
BEFORE_GAP = (  # §5.2 checks 1–6
    "name_filter",
    "rsi_ceiling",
    "liquidity",
    "price",
    "trend_ema60",
    "overheat",
)
STRATEGY_TEXT = ("상승신호", "상승시작", "관심증가", "상승추세정착")  # §5.5, in order
STRATEGY_TEXT_NONE = "관심"
# Static (step-independent) thresholds reported in flags.thresholds (§8.3).
STATIC_THRESHOLDS = (
    *("min_turnover_krw", "min_price", "overheat_rsi_tema", "overheat_vol_mult", "gap_min"),
    *("use_atr_filter", "atr_pct_min", "atr_pct_max", "risk_score_threshold"),
    *("vol_spike_threshold", "momentum_duration_min", "macd_osc_min"),
)


@dataclass(frozen=True)
class Preset:
    """One fallback preset (§5.1); None = not set by the preset."""

    min_signals: int | None = None
    vol_ma5_mult: float | None = None
    vol_ma20_mult: float | None = None
    gap_max: float | None = None
    ext_from_tema20_max: float | None = None

    def to_record(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


DEFAULT_PRESETS = (  # §5.6 / §9.3 fallback_presets
    Preset(),
    Preset(min_signals=3, vol_ma5_mult=2.0),
    Preset(min_signals=2, vol_ma5_mult=1.8),
)


@dataclass(frozen=True)
class V1Params(sc.SharedParams):
    """`[engines.v1]` parameters; every default is ENGINES.md §9.3."""

    SECTION: ClassVar[str] = "engines.v1"

    lookback: int = setting(220, "window length in sessions (§0.4)", ge=21)
    min_turnover_krw: float = setting(1e9, "least turnover20 in KRW (§5.2 check 3)", ge=0)
    min_price: float = setting(2000, "least close c_t (§5.2 check 4)", kind="number", ge=0)
    inverse_keywords: tuple[str, ...] = setting(
        ("인버스", "2X", "레버리지", "SHORT", "BEAR", "DOWN"),
        "names containing one of these are excluded (§5.2 check 1)",
    )
    bond_keywords: tuple[str, ...] = setting(
        ("금리액티브", "머니마켓액티브", "CD금리", "채권", "국채", "KRX금현물"),
        "names containing one of these are excluded too (§5.2 check 1)",
    )
    rsi_threshold: float = setting(
        58.0, "rsi_ok threshold when status is not ok (§5.1)", ge=0, le=100
    )
    rsi_upper_limit: float = setting(70.0, "RSI ceiling when status is not ok (§5.1)", ge=0, le=100)
    rsi_ceiling_offset: float = setting(
        25.0, "RSI ceiling = market rsi_threshold + this offset (§5.1)", ge=0
    )
    overheat_rsi_tema: float = setting(
        70.0, "RSI_TEMA level of an overheated ticker (§5.2 check 6)", ge=0, le=100
    )
    overheat_vol_mult: float = setting(
        3.0, "VOL_MA5 multiple of an overheated ticker (§5.2 check 6)", ge=0
    )
    gap_min: float = setting(0.002, "least max(gap_now, 0) (§5.2 check 7)", ge=0)
    gap_max: float = setting(0.015, "largest gap_now (§5.2 check 7; presets may override)", ge=0)
    ext_from_tema20_max: float = setting(
        0.015, "largest ext_pct (§5.2 check 7; presets may override)", ge=0
    )
    use_atr_filter: bool = setting(True, "apply the ATR_PCT band (§5.2 check 8)")
    atr_pct_min: float = setting(0.01, "least ATR_PCT (§5.2 check 8)", ge=0)
    atr_pct_max: float = setting(0.04, "largest ATR_PCT, ≥ atr_pct_min (§5.2 check 8)", ge=0)
    vol_spike_threshold: float = setting(
        3.0, "VOL_MA5 multiple of the vol_spike risk flag (§4.1)", ge=0
    )
    momentum_duration_min: int = setting(
        3, "MACD duration below which momentum_weak is set (§4.1)", ge=0
    )
    risk_score_threshold: int = setting(3, "base_risk must stay below this (§5.2 check 9)", ge=0)
    require_dema_slope: str = setting(
        "required",
        "dema_slope_ok as a check, a scored component or neither (§5.2 check 10, §5.3)",
        choices=sc.REQUIRE_DEMA_SLOPE,
    )
    vol_ma5_mult: float = setting(
        2.5, "VOL_MA5 multiple of vol_expand (§5.3; presets may override)", ge=0
    )
    vol_ma20_mult: float = setting(
        1.2, "VMA20 multiple of vol_expand (§5.3; presets may override)", ge=0
    )
    macd_osc_min: float = setting(0.0, "MACD_OSC above which macd_ok holds (§5.3)")
    min_signals: int = setting(
        3, "least signals_count when neither a preset nor the market sets it (§5.1)", ge=0
    )
    weights: sc.Weights = setting(
        sc.Weights(), "score weights; a partial table is merged (§5.3)", kind="table"
    )
    top_k: int = setting(5, "most picks (§5.6)", ge=1)
    fallback_enable: bool = setting(True, "run the relaxation steps 1, 2, … (§5.6)")
    fallback_presets: tuple[Preset, ...] = setting(
        DEFAULT_PRESETS,
        "presets of the fallback steps 0, 1, 2, … (§5.1, §5.6)",
        kind="tables",
    )
    fallback_target_min_bull: int = setting(3, "target_min of any regime but bear (§5.6)", ge=0)
    fallback_target_max_bull: int = setting(5, "target_max of any regime but bear (§5.6)", ge=0)
    fallback_target_min_bear: int = setting(2, "target_min of final_regime bear (§5.6)", ge=0)
    fallback_target_max_bear: int = setting(3, "target_max of final_regime bear (§5.6)", ge=0)
    fallback_disabled_min_score: float = setting(
        10, "least score of a pick with fallback_enable = false (§5.6)", kind="number"
    )
    divergence_bonus: float = setting(
        1.0, "score bonus of the market favoured by a divergence (§4.5)", ge=0
    )

    def validate(self) -> None:
        """The shared rules, then the presets: a non-empty list of tables whose values follow
        the rules of the keys they replace."""
        super().validate()
        presets = self.fallback_presets
        if isinstance(presets, str | bytes | Mapping) or not isinstance(presets, Sequence):
            raise self.fail("fallback_presets", "a list of preset tables", presets)
        if not presets:
            raise self.fail("fallback_presets", "a non-empty list of preset tables", presets)
        checked = tuple(self._preset(step, preset) for step, preset in enumerate(presets))
        object.__setattr__(self, "fallback_presets", checked)

    def _preset(self, step: int, preset: object) -> Preset:
        where = f"fallback_presets[{step}]"
        if isinstance(preset, Preset):
            preset = preset.to_record()
        if not isinstance(preset, Mapping):
            raise self.fail(where, "a table", preset)
        for key, value in preset.items():
            rule = self.rule(key) if key in PRESET_KEYS else None
            if rule is None:
                raise SettingError(
                    self.SECTION,
                    where,
                    f"{where}: key {key!r} cannot be set by a preset; "
                    f"a preset may set only {', '.join(PRESET_KEYS)}",
                )
            if rule.check(value) is None:
                raise self.fail(f"{where}.{key}", rule.expected(), value)
        return Preset(**preset)


@dataclass(frozen=True)
class StepParams:
    """The effective parameters of one fallback step (§5.1)."""

    step: int
    preset: Preset
    min_signals: int
    rsi_threshold: float
    rsi_ceiling: float
    vol_ma5_mult: float
    vol_ma20_mult: float
    gap_max: float
    ext_from_tema20_max: float

    def to_record(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "preset": self.preset.to_record()}


def resolve_step(params: V1Params, condition: MarketCondition, step: int) -> StepParams:
    """§5.1 for step ``step``: preset → market thresholds (status ok; v1 reads only
    rsi_threshold and min_signals) → config. RSI ceiling: market rsi_threshold +
    rsi_ceiling_offset (status ok), else rsi_upper_limit."""
    preset = params.fallback_presets[step]
    market = condition.thresholds if condition.status == "ok" else None

    def first(*values: Any) -> Any:
        return next(value for value in values if value is not None)

    return StepParams(
        step=step,
        preset=preset,
        min_signals=first(preset.min_signals, market and market.min_signals, params.min_signals),
        rsi_threshold=market.rsi_threshold if market else params.rsi_threshold,
        rsi_ceiling=(
            market.rsi_threshold + params.rsi_ceiling_offset if market else params.rsi_upper_limit
        ),
        vol_ma5_mult=first(preset.vol_ma5_mult, params.vol_ma5_mult),
        vol_ma20_mult=first(preset.vol_ma20_mult, params.vol_ma20_mult),
        gap_max=first(preset.gap_max, params.gap_max),
        ext_from_tema20_max=first(preset.ext_from_tema20_max, params.ext_from_tema20_max),
    )


def target_band(params: V1Params, condition: MarketCondition) -> tuple[int, int]:
    """§5.6 (target_min, target_max) by final_regime; status not ok counts as neutral."""
    regime = condition.final_regime if condition.status == "ok" else "neutral"
    kind = "bear" if regime == "bear" else "bull"
    low = max(1, getattr(params, f"fallback_target_min_{kind}"))
    return low, max(low, getattr(params, f"fallback_target_max_{kind}"))


@dataclass(frozen=True, eq=False)
class _Common:
    """Step-independent arrays (rsi_threshold and the ceiling do not depend on the preset)."""

    bar: sc.BarT
    risk: sc.RiskFlags
    dema_slope_ok: np.ndarray
    before_gap: tuple[Check, ...]  # checks 1–6
    after_gap: tuple[Check, ...]  # checks 8–10
    bonus: sc.Bonus

    @classmethod
    def of(cls, inp: EngineInput, params: V1Params, step0: StepParams) -> _Common:
        bar, scalars = sc.BarT.of(inp), inp.scalars
        risk = sc.risk_flags(bar, scalars.macd_duration, scalars.up_days5, params)
        dema_ok = (bar.DEMA10_SLOPE20 > 0) & (bar.close > bar.DEMA10)  # §5.3 dema_slope_ok
        shared = sc.shared_checks(inp, bar, risk, params, step0.rsi_ceiling)
        ema60 = Check(
            "trend_ema60", bar.close >= bar.EMA60, {"close": bar.close, "EMA60": bar.EMA60}
        )
        mode = params.require_dema_slope
        dema_values = {
            "DEMA10_SLOPE20": bar.DEMA10_SLOPE20,
            "close": bar.close,
            "DEMA10": bar.DEMA10,
        }
        dema = Check(
            "trend_dema_slope",
            dema_ok | (mode != "required"),
            dema_values,
            {"require_dema_slope": mode},
        )
        shared["trend_ema60"] = ema60
        before_gap = tuple(shared[code] for code in BEFORE_GAP)
        after_gap = (shared["atr"], shared["risk"], dema)
        bonus = sc.divergence_bonus(inp.master.markets, inp.condition, params.divergence_bonus)
        return cls(bar, risk, dema_ok, before_gap, after_gap, bonus)


@dataclass(frozen=True, eq=False)
class _Step:
    """One evaluated fallback step."""

    params: StepParams
    comps: sc.Components
    checks: CheckList
    gaps: tuple[np.ndarray, np.ndarray]  # gap_ok, ext_ok
    score: np.ndarray  # S + divergence bonus
    matched: np.ndarray
    order: np.ndarray  # the matched tickers, ranked


def _evaluate_step(
    inp: EngineInput, params: V1Params, common: _Common, sp: StepParams, evaluated: np.ndarray
) -> _Step:
    comps = sc.score_components(
        common.bar,
        inp.scalars,
        params.weights,
        vol_mults=(sp.vol_ma5_mult, sp.vol_ma20_mult),
        macd_osc_min=params.macd_osc_min,
        rsi_threshold=sp.rsi_threshold,
        dema_slope_ok=common.dema_slope_ok,
        dema_weight=params.weights.dema_slope if params.require_dema_slope == "optional" else 0,
    )
    gap_check, gap_ok, ext_ok = sc.gap_ext_check(
        inp.scalars, params.gap_min, sp.gap_max, sp.ext_from_tema20_max
    )
    signals = sc.signals_check(comps.signals_count, sp.min_signals)
    checks = CheckList([*common.before_gap, gap_check, *common.after_gap, signals])
    matched = checks.all_passed(evaluated)
    score = comps.raw_score + common.bonus.value
    return _Step(sp, comps, checks, (gap_ok, ext_ok), score, matched, ranked(score, inp, matched))


def run_v1(inp: EngineInput, params: V1Params) -> EngineResult:
    """Run engine v1 (ENGINES.md §5) on one scan date.

    Parameters
    ----------
    inp
        The run's input (final universe, indicators, market condition).
    params
        Effective `[engines.v1]` parameters (not modified).

    Returns
    -------
    EngineResult
        Version ``v1``: up to min(top_k, target_max) picks, one `SubResult` ``v1`` with a
        reason per ticker (§8.4), the run record (§8.6) and the effective params.
    """
    cond = inp.condition
    resolved = [resolve_step(params, cond, k) for k in range(len(params.fallback_presets))]
    pre, can_compute = pre_reasons(inp), computable(inp)
    evaluated = can_compute & inp.universe.member
    common = _Common.of(inp, params, resolved[0])
    band = target_band(params, cond)

    steps: list[_Step] = []
    chosen: int | None = None
    for sp in resolved if params.fallback_enable else resolved[:1]:
        steps.append(_evaluate_step(inp, params, common, sp, evaluated))
        if not params.fallback_enable or len(steps[-1].order) >= band[0]:
            chosen = sp.step
            break
    step = steps[-1]  # the chosen step, or the last executed one
    if chosen is None:
        pick_idx = step.order[:0]
    elif params.fallback_enable:
        pick_idx = step.order[: min(params.top_k, band[1])]
    else:
        pick_idx = step.order[step.score[step.order] >= params.fallback_disabled_min_score]
        pick_idx = pick_idx[: params.top_k]

    failures = step.checks.first_failure(can_compute)
    reasons, open_ = pre.copy(), np.equal(pre, None)
    reasons[open_] = failures[open_]
    reasons[step.matched] = FALLBACK_EXHAUSTED if chosen is None else NOT_IN_TOP_K
    reasons[pick_idx] = None
    diagnostic = np.full(inp.n_tickers, None, dtype=object)
    outside = np.equal(pre, NOT_IN_UNIVERSE)
    diagnostic[outside] = failures[outside]

    records = _Records(inp, params, common, step, step.params.step)
    picks = tuple(records.pick(int(i), rank) for rank, i in enumerate(pick_idx, start=1))

    def explain_extra(index: int) -> dict[str, Any]:
        rows = [
            {
                "step": s.params.step,
                "preset": s.params.preset.to_record(),
                "matched": bool(s.matched[index]),
                "reason": pre[index] or _first_failed(s.checks, index),
            }
            for s in steps
        ]
        out = records.explain(index) if can_compute[index] else dict.fromkeys(records.KEYS)
        return {**out, "steps": rows}

    sub = SubResult(
        ENGINE, picks, reasons, evaluated, step.matched, step.checks, diagnostic, explain_extra
    )
    counts = {
        "universe_count": inp.universe.size,
        "evaluated_count": int(evaluated.sum()),
        "candidates_count": int(step.matched.sum()),
        "matched_count": len(picks),
    }
    enabled = params.fallback_enable
    run_record = {
        "counts": counts,
        ENGINE: {
            "fallback_enable": enabled,
            "target_min": band[0] if enabled else None,
            "target_max": band[1] if enabled else None,
            "chosen_step": chosen,
            "matched": [int(s.matched.sum()) for s in steps],
        },
    }
    params_record = {
        **params.to_record(),
        "market_thresholds_used": cond.status == "ok" and cond.thresholds is not None,
        "steps": [{**sp.to_record(), "executed": sp.step < len(steps)} for sp in resolved],
    }
    return EngineResult(ENGINE, picks, (sub,), run_record, params_record)


def _first_failed(checks: CheckList, index: int) -> str | None:
    return next((c.code for c in checks.checks if not c.passed[index]), None)


class _Records(sc.Records):
    """v1 records from the reported step: label and strategy on S′ (§5.5)."""

    engine = ENGINE

    def __init__(
        self, inp: EngineInput, params: V1Params, common: _Common, step: _Step, step_no: int
    ) -> None:
        comps, sp = step.comps, step.params
        self.params, self.step, self.step_no = params, step, step_no
        self.signal_bonus = np.maximum(0, comps.signals_count - sp.min_signals)
        adjusted = comps.raw_score + self.signal_bonus  # S′
        self.adjusted = adjusted
        thresholds = {name: getattr(params, name) for name in STATIC_THRESHOLDS}
        for name in ("rsi_ceiling", "rsi_threshold", "gap_max", "ext_from_tema20_max"):
            thresholds[name] = getattr(sp, name)
        for name in ("vol_ma5_mult", "vol_ma20_mult", "min_signals"):
            thresholds[name] = getattr(sp, name)
        super().__init__(
            inp,
            common.bar,
            comps,
            common.risk,
            common.bonus,
            score=step.score,
            x=adjusted,
            rsi_tema=None,
            gaps=step.gaps,
            thresholds=thresholds,
        )

    def engine_flags(self, i: int) -> dict[str, Any]:
        bar, raw = self.bar, float(self.comps.raw_score[i])
        phrases = (
            bool(self.comps.ok["cross"][i]),
            bool(bar.MACD_OSC[i] > 0),
            bool(bar.volume[i] > self.step.params.vol_ma5_mult * bar.VOL_MA5[i]),
            bool(bar.TEMA20_SLOPE20[i] > 0 and bar.OBV_SLOPE20[i] > 0),
        )
        text = " / ".join(t for t, on in zip(STRATEGY_TEXT, phrases, strict=True) if on)
        return {
            "require_dema_slope": self.params.require_dema_slope,
            "atr_pct": plain(self.inp.scalars.ATR_PCT[i]),
            "signal_bonus": int(self.signal_bonus[i]),
            "adjusted_score_for_signals": float(self.adjusted[i]),
            "risk_adjusted_score": max(0.0, raw - int(self.risk.base_risk[i])),
            "strategy_text": text or STRATEGY_TEXT_NONE,
            "fallback_step": self.step_no,
            "fallback": self.step_no > 0,
        }


# The registry's names for this engine's parameters and compute function.
Params = V1Params
compute = run_v1
