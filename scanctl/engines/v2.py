"""Engine v2 (ENGINES.md §6): hard filters, soft signals and trend gate, risk-penalised score,
market-regime gate and per-horizon cut-offs.

Over 400 lines because §6 is one unit: the §9.4 parameters with their three tables, and a
pipeline whose every stage feeds the §8.3 flags.

`run_v2` runs, in this order:

1. `resolve` — the effective parameters of §6.1 (status not ``ok`` → static, §3.9).
2. `regime_gate` — §6.2 (status ok only).
3. `_Arrays.of` — bar t, the §6.4 soft filter and trend_ok, the §6.5 score components, base and
   extra risk, A with the low-score rule, V; the 10 checks of §6.3 in order.
4. `_select` — §6.6: candidates in `base.ranked` order, cut-offs, horizon caps, top_k, with
   the reasons ``cutoff`` / ``horizon_cap`` / ``not_in_top_k``.
5. `run_v2` — reasons by the §8.4 precedence, records (`_Records`, §8.1–8.3), the §8.6 run
   record and the effective params.

Resolved ambiguities:

* Gate closed: the reason is ``regime_gate`` for every ticker without an earlier reason (the
  §8.4 precedence keeps no_bar_on_date, insufficient_history and not_in_universe first);
  diagnostic_reason is the first failed check for regime_gate and not_in_universe tickers.
  evaluated_count is 0.
* SubResult.matched (the §6.6 candidates) is true only for evaluated tickers, as in v1.
* With the default tables the ``bear`` cut-off row is never read: the gate closes on bear.
* The explain record (score, flags, details) is filled for every ticker with a bar on D and
  enough history, also when the gate is closed or the ticker is outside the universe.
* flags.horizons lists the horizons whose *kept* list holds the ticker ([] when none); null
  when status is not ok, as are flags.short_term_adjust and flags.effective_score.
* scorer_signals_ok reads S < low_score_max ∧ signals_basic < low_score_min_basic (4 and 2,
  the bounds of the low-score rule).
* short_term_risk_score above 3 uses the row 3 caps (the score is capped at 3 by §3.5).
* The gate's ``why`` is a code: ``status_not_ok``, ``regime_ok``, ``crash_longterm_bull``
  (open) or ``bear`` / ``crash`` (closed).
* Tables in TOML: ``cutoffs = {bull = {swing = 6.0, …}, …}``, ``horizon_caps = {"0" = {swing
  = 20, …}, …}`` (keys 0–3 as integers or digit strings), ``short_term_adjust = {"0" = 0.0,
  "1" = 0.5, "2+" = 1.0}`` ("2" is read as "2+"); a partial table is merged over the defaults.
  Cut-offs are finite numbers, caps integers ≥ 0, adjustments numbers ≥ 0.
* Ranges as v1 (`scanctl.engines.v1`), declared with each key of `V2Params`; the tables are
  checked and merged in its `validate`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from scanctl.config import Rule, setting
from scanctl.engines import scoring as sc
from scanctl.engines.base import (
    NOT_IN_TOP_K,
    NOT_IN_UNIVERSE,
    REGIME_GATE,
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

ENGINE = "v2"
CUTOFF, HORIZON_CAP = "cutoff", "horizon_cap"
HORIZONS = ("swing", "position", "longterm")  # §6.6, in flag order
CHECK_ORDER = (  # §6.3
    *("name_filter", "liquidity", "price", "rsi_ceiling", "overheat", "gap_ext", "atr"),
    *("signals", "trend_gate", "risk"),
)
# §6.5 extra risk, fixed: only when S ≥ 6; (level, points), highest first; combo: ≥ 2 of the
# lower levels → 2 points.
EXTRA_RISK_MIN_SCORE = 6.0
EXTRA_RSI = ((75.0, 3), (70.0, 2))
EXTRA_VOL_RATIO = ((3.0, 3), (2.5, 2))
EXTRA_EXT = ((0.08, 3), (0.05, 2))
EXTRA_COMBO_MIN, EXTRA_COMBO_POINTS = 2, 2
RISK_MULTIPLIERS = ((8.0, 2.0), (6.0, 1.5))  # §6.5 m: S ≥ 8 → 2.0; S ≥ 6 → 1.5; else 1.0
LOW_SCORE_REASON = "기본 신호 부족 ({}개)"  # §6.5
# §6.4 trend_ok, fixed: is_bull needs 2 of 4 votes (ABOVE_CNT5 ≥ 2), else ABOVE_CNT5 ≥ 3.
BULL_VOTES, BULL_ABOVE_CNT5, ABOVE_CNT5_MIN = 2, 2, 3
STATIC_THRESHOLDS = (  # reported in flags.thresholds with the §6.1 effective values (§8.3)
    *("min_turnover_krw", "min_price", "overheat_rsi_tema", "overheat_vol_mult", "gap_min"),
    *("use_atr_filter", "atr_pct_min", "atr_pct_max", "vol_ma5_mult", "vol_ma20_mult"),
    *("risk_score_threshold", "vol_spike_threshold", "momentum_duration_min"),
)


@dataclass(frozen=True)
class Horizons:
    """One row of a §6.6 table: a value per horizon."""

    swing: float
    position: float
    longterm: float

    def values(self) -> tuple[float, float, float]:
        return (self.swing, self.position, self.longterm)


DEFAULT_CUTOFFS = {  # §6.6 cut-offs by final_regime
    "bull": Horizons(6.0, 4.3, 5.0),
    "neutral": Horizons(6.0, 4.5, 6.0),
    "bear": Horizons(999.0, 5.5, 6.0),
    "crash": Horizons(999.0, 999.0, 6.0),
}
DEFAULT_CAPS = {  # §6.6 caps by short_term_risk_score
    "0": Horizons(20, 15, 20),
    "1": Horizons(15, 10, 20),
    "2": Horizons(10, 5, 15),
    "3": Horizons(5, 3, 10),
}
DEFAULT_ADJUST = {"0": 0.0, "1": 0.5, "2+": 1.0}  # §6.6 / §9.4 short_term_adjust
# What a cell of each table accepts.
CUTOFF_RULE = Rule("a cut-off score (§6.6)", "number")
CAP_RULE = Rule("a horizon cap (§6.6)", "integer", ge=0)
ADJUST_RULE = Rule("a short-term score deduction (§6.6)", "number", ge=0)


@dataclass(frozen=True)
class Table:
    """An immutable table keyed by strings (cut-offs, caps, short-term adjustment)."""

    rows: tuple[tuple[str, Any], ...]

    def __getitem__(self, key: str) -> Any:
        return dict(self.rows)[key]

    def to_record(self) -> dict[str, Any]:
        return {
            key: dataclasses.asdict(row) if isinstance(row, Horizons) else row
            for key, row in self.rows
        }


@dataclass(frozen=True)
class V2Params(sc.SharedParams):
    """`[engines.v2]` parameters; every default is ENGINES.md §9.4."""

    SECTION: ClassVar[str] = "engines.v2"

    lookback: int = setting(220, "window length in sessions (§0.4)", ge=21)
    min_turnover_krw: float = setting(1e9, "least turnover20 in KRW (§6.3 check 2)", ge=0)
    min_price: float = setting(2000, "least close c_t (§6.3 check 3)", kind="number", ge=0)
    inverse_keywords: tuple[str, ...] = setting(
        ("인버스", "레버리지", "2X", "3X"),
        "names containing one of these are excluded (§6.3 check 1)",
    )
    bond_keywords: tuple[str, ...] = setting(
        ("국채", "채권", "회사채", "머니마켓", "금리"),
        "names containing one of these are excluded too (§6.3 check 1)",
    )
    rsi_threshold: float = setting(
        58.0, "rsi_ok / cond_rsi threshold when status is not ok (§6.1)", ge=0, le=100
    )
    rsi_upper_limit: float = setting(83.0, "RSI ceiling when status is not ok (§6.1)", ge=0, le=100)
    rsi_ceiling_offset: float = setting(
        25.0, "RSI ceiling = market rsi_threshold + this offset (§6.1)", ge=0
    )
    overheat_rsi_tema: float = setting(
        70.0, "RSI_TEMA level of an overheated ticker (§6.3 check 5)", ge=0, le=100
    )
    overheat_vol_mult: float = setting(
        3.0, "VOL_MA5 multiple of an overheated ticker (§6.3 check 5)", ge=0
    )
    gap_min: float = setting(0.002, "least max(gap_now, 0) (§6.3 check 6)", ge=0)
    gap_max: float = setting(0.015, "largest gap_now when status is not ok (§6.1)", ge=0)
    ext_from_tema20_max: float = setting(
        0.015, "largest ext_pct when status is not ok (§6.1)", ge=0
    )
    use_atr_filter: bool = setting(False, "apply the ATR_PCT band (§6.3 check 7)")
    atr_pct_min: float = setting(0.01, "least ATR_PCT (§6.3 check 7)", ge=0)
    atr_pct_max: float = setting(0.04, "largest ATR_PCT, ≥ atr_pct_min (§6.3 check 7)", ge=0)
    vol_spike_threshold: float = setting(
        3.0, "VOL_MA5 multiple of the vol_spike risk flag (§4.1)", ge=0
    )
    momentum_duration_min: int = setting(
        3, "MACD duration below which momentum_weak is set (§4.1)", ge=0
    )
    risk_score_threshold: int = setting(4, "base_risk must stay below this (§6.3 check 10)", ge=0)
    require_dema_slope: str = setting(
        "optional",
        "trend_ok outside a bull market also needs DEMA10_SLOPE20 > 0 when required (§6.4)",
        choices=sc.REQUIRE_DEMA_SLOPE,
    )
    vol_ma5_mult: float = setting(
        2.5, "VOL_MA5 multiple of vol_expand (§6.5), soft one when status is not ok (§6.1)", ge=0
    )
    vol_ma20_mult: float = setting(1.2, "VMA20 multiple of vol_expand (§6.5)", ge=0)
    macd_osc_min: float = setting(
        0.0, "MACD_OSC above which macd_ok holds, when status is not ok (§6.1)"
    )
    min_signals: int = setting(3, "least soft signals_count when status is not ok (§6.1)", ge=0)
    weights: sc.Weights = setting(
        sc.Weights(), "score weights as v1; a partial table is merged (§6.5)", kind="table"
    )
    bull_trend_score_min: float = setting(
        1.0, "global_trend_score above which is_bull holds (§6.1)"
    )
    low_score_max: float = setting(
        4,
        "low-score rule: A < this ∧ signals_basic < low_score_min_basic → A = 0 (§6.5)",
        kind="number",
    )
    low_score_min_basic: int = setting(
        2, "low-score rule: signals_basic < this ∧ A < low_score_max → A = 0 (§6.5)", ge=0
    )
    divergence_bonus: float = setting(
        1.0, "score bonus of the market favoured by a divergence (§4.5)", ge=0
    )
    cutoffs: Table = setting(
        Table(tuple(DEFAULT_CUTOFFS.items())),
        "least effective_score per final_regime and horizon; a partial table is merged (§6.6)",
        kind="table",
    )
    horizon_caps: Table = setting(
        Table(tuple(DEFAULT_CAPS.items())),
        "candidates kept per short_term_risk_score and horizon; merged as cutoffs (§6.6)",
        kind="table",
    )
    short_term_adjust: Table = setting(
        Table(tuple(DEFAULT_ADJUST.items())),
        "adj subtracted from V per short_term_risk_score 0, 1, 2+ (§6.6)",
        kind="table",
    )
    top_k: int = setting(5, "most picks (§6.6)", ge=1)

    def validate(self) -> None:
        """The shared rules, then the three §6.6 tables merged over their defaults."""
        super().validate()
        self._table("cutoffs", DEFAULT_CUTOFFS, self._horizons(CUTOFF_RULE))
        self._table("horizon_caps", DEFAULT_CAPS, self._horizons(CAP_RULE))
        self._table("short_term_adjust", DEFAULT_ADJUST, self._adjustment)

    def _table(self, name: str, defaults: Mapping[str, Any], parse: Callable) -> None:
        value = getattr(self, name)
        value = value.to_record() if isinstance(value, Table) else value
        expected = f"a table with keys {', '.join(defaults)}"
        if not isinstance(value, Mapping):
            raise self.fail(name, expected, value)
        merged = dict(defaults)
        for key, row in value.items():
            text = "2+" if name == "short_term_adjust" and str(key) == "2" else str(key)
            if isinstance(key, bool) or text not in defaults:
                raise self.fail(name, expected, dict(value))
            merged[text] = parse(f"{name}.{text}", row, merged[text])
        object.__setattr__(self, name, Table(tuple(merged.items())))

    def _horizons(self, rule: Rule) -> Callable:
        def parse(where: str, row: Any, default: Horizons) -> Horizons:
            row = dataclasses.asdict(row) if isinstance(row, Horizons) else row
            if not isinstance(row, Mapping) or any(key not in HORIZONS for key in row):
                raise self.fail(where, f"a table of {', '.join(HORIZONS)}", row)
            for key, item in row.items():
                if rule.check(item) is None:
                    raise self.fail(f"{where}.{key}", rule.expected(), item)
            return dataclasses.replace(default, **row)

        return parse

    def _adjustment(self, where: str, value: Any, default: float) -> float:
        if ADJUST_RULE.check(value) is None:
            raise self.fail(where, ADJUST_RULE.expected(), value)
        return value


@dataclass(frozen=True)
class Effective:
    """§6.1 effective parameters of one run."""

    market_thresholds_used: bool
    rsi_threshold: float
    rsi_ceiling: float
    min_signals: int
    soft_vol_mult: float
    gap_max: float
    ext_from_tema20_max: float
    macd_osc_min: float
    is_bull: bool


def resolve(params: V2Params, condition: MarketCondition) -> Effective:
    """§6.1: the market thresholds when status is ok, else the `[engines.v2]` values."""
    m = condition.thresholds if condition.status == "ok" else None
    if m is None:
        p = params
        return Effective(
            False, p.rsi_threshold, p.rsi_upper_limit, p.min_signals, p.vol_ma5_mult, p.gap_max,
            p.ext_from_tema20_max, p.macd_osc_min, False,
        )  # fmt: skip
    trend = condition.global_trend_score
    is_bull = (
        condition.market_sentiment == "bull"
        or condition.final_regime == "bull"
        or (trend is not None and trend > params.bull_trend_score_min)
    )
    return Effective(
        True, m.rsi_threshold, m.rsi_threshold + params.rsi_ceiling_offset, m.min_signals,
        m.vol_ma5_mult, m.gap_max, m.ext_from_tema20_max, m.macd_osc_min, is_bull,
    )  # fmt: skip


def regime_gate(condition: MarketCondition) -> tuple[bool, str]:
    """§6.2 (open, why): ``bear`` closes; ``crash`` closes unless longterm_regime is bull."""
    if condition.status != "ok":
        return True, "status_not_ok"
    regime = condition.final_regime
    if regime == "crash" and condition.longterm_regime == "bull":
        return True, "crash_longterm_bull"
    if regime in ("bear", "crash"):
        return False, regime
    return True, "regime_ok"


def _points(x: np.ndarray, levels: tuple[tuple[float, int], ...]) -> np.ndarray:
    """The points of the first level x reaches (x ≥ level), else 0."""
    return np.select([x >= level for level, _ in levels], [pts for _, pts in levels], 0)


@dataclass(frozen=True, eq=False)
class _Arrays:
    """Every ``(N,)`` array of §6.3–6.5 for one run."""

    bar: sc.BarT
    risk: sc.RiskFlags
    soft: dict[str, np.ndarray]
    comps: sc.Components
    gaps: tuple[np.ndarray, np.ndarray]  # gap_ok, ext_ok
    extra_risk: np.ndarray
    multiplier: np.ndarray
    adjusted_risk: np.ndarray
    adjusted_score: np.ndarray  # A after the low-score rule
    low_score: np.ndarray
    score: np.ndarray  # V
    bonus: sc.Bonus
    checks: CheckList

    @classmethod
    def of(cls, inp: EngineInput, params: V2Params, eff: Effective) -> _Arrays:
        bar, s = sc.BarT.of(inp), inp.scalars
        risk = sc.risk_flags(bar, s.macd_duration, s.up_days5, params)
        comps = sc.score_components(
            bar,
            s,
            params.weights,
            vol_mults=(params.vol_ma5_mult, params.vol_ma20_mult),
            macd_osc_min=eff.macd_osc_min,
            rsi_threshold=eff.rsi_threshold,
            dema_slope_ok=bar.DEMA10_SLOPE20 > sc.SLOPE_MIN,  # §6.5: always scored
            dema_weight=params.weights.dema_slope,
        )
        soft = _soft(bar, s, comps, params, eff)
        raw = comps.raw_score

        rsi_hot = bar.RSI_TEMA >= EXTRA_RSI[1][0]  # noqa: SIM300
        hot = [rsi_hot, s.vol_ratio >= EXTRA_VOL_RATIO[1][0], s.ext_pct >= EXTRA_EXT[1][0]]
        extra = _points(bar.RSI_TEMA, EXTRA_RSI) + _points(s.vol_ratio, EXTRA_VOL_RATIO)
        extra += _points(s.ext_pct, EXTRA_EXT)
        extra += EXTRA_COMBO_POINTS * (np.sum(hot, axis=0) >= EXTRA_COMBO_MIN)
        extra = np.where(raw >= EXTRA_RISK_MIN_SCORE, extra, 0)
        bounds = [raw >= bound for bound, _ in RISK_MULTIPLIERS]
        multiplier = np.select(bounds, [m for _, m in RISK_MULTIPLIERS], 1.0)
        adjusted_risk = np.trunc((risk.base_risk + extra) * multiplier).astype(np.int64)
        low = (raw - adjusted_risk < params.low_score_max) & (
            comps.signals_basic < params.low_score_min_basic
        )
        adjusted = np.where(low, 0.0, raw - adjusted_risk)
        bonus = sc.divergence_bonus(inp.master.markets, inp.condition, params.divergence_bonus)

        gap_check, gap_ok, ext_ok = sc.gap_ext_check(
            s, params.gap_min, eff.gap_max, eff.ext_from_tema20_max
        )
        trend_values = {"TEMA20_SLOPE20": bar.TEMA20_SLOPE20, "OBV_SLOPE20": bar.OBV_SLOPE20}
        trend_values.update(ABOVE_CNT5=s.ABOVE_CNT5, is_bull=soft["is_bull"])
        shared = sc.shared_checks(inp, bar, risk, params, eff.rsi_ceiling)
        shared["gap_ext"] = gap_check
        shared["signals"] = sc.signals_check(soft["signals_count"], eff.min_signals)
        shared["trend_gate"] = Check("trend_gate", soft["trend_ok"], trend_values)
        checks = CheckList([shared[code] for code in CHECK_ORDER])
        return cls(
            bar, risk, soft, comps, (gap_ok, ext_ok), extra, multiplier, adjusted_risk, adjusted,
            low, adjusted + bonus.value, bonus, checks,
        )  # fmt: skip


def _soft(
    bar: sc.BarT, s: Any, comps: sc.Components, params: V2Params, eff: Effective
) -> dict[str, np.ndarray]:
    """§6.4 soft filter: the four basic conditions, the counts, trend_ok and is_bull."""
    tema_up, obv_up = bar.TEMA20_SLOPE20 > 0, bar.OBV_SLOPE20 > 0
    tema_above = bar.TEMA20 > bar.DEMA10
    soft = {
        "cond_gc": (s.crossed_recently | tema_above) & tema_up,
        "cond_macd": (bar.MACD_LINE > bar.MACD_SIGNAL) | (bar.MACD_OSC > 0),
        "cond_rsi": comps.ok["rsi_ok"],  # the same formula and threshold (§6.5)
        "cond_vol": (bar.VOL_MA5 > 0) & (bar.volume >= eff.soft_vol_mult * bar.VOL_MA5),
    }
    soft["signals_basic"] = np.sum(list(soft.values()), axis=0, dtype=np.int64)
    soft["signals_additional"] = comps.signals_additional  # the same three conditions
    soft["signals_count"] = soft["signals_basic"] + soft["signals_additional"]
    soft["crossed_recently"] = s.crossed_recently
    if eff.is_bull:
        votes = [tema_up, obv_up, s.ABOVE_CNT5 >= BULL_ABOVE_CNT5, tema_above]
        soft["trend_ok"] = np.sum(votes, axis=0) >= BULL_VOTES
    else:
        soft["trend_ok"] = tema_up & obv_up & (s.ABOVE_CNT5 >= ABOVE_CNT5_MIN)
        if params.require_dema_slope == "required":
            soft["trend_ok"] = soft["trend_ok"] & (bar.DEMA10_SLOPE20 > 0)
    soft["is_bull"] = np.full(len(bar.close), eff.is_bull)
    return soft


@dataclass(frozen=True, eq=False)
class _Selection:
    """§6.6 outcome: picks, the unselected candidates by reason, kept horizons, the record."""

    picks: np.ndarray
    reasons: dict[str, np.ndarray]  # reason code → ticker indices
    kept: np.ndarray | None  # (N, 3) bool: the ticker is in the kept list of each horizon
    record: dict[str, Any]
    adjust: float | None

    def horizons(self, i: int) -> list[str] | None:
        """flags.horizons of ticker ``i`` (None when status is not ok)."""
        if self.kept is None:
            return None
        return [h for h, on in zip(HORIZONS, self.kept[i].tolist(), strict=True) if on]


def _select(
    params: V2Params,
    cond: MarketCondition,
    score: np.ndarray,
    order: np.ndarray,
    codes: np.ndarray,
) -> _Selection:
    """§6.6 on the candidates ``order`` (ranked by V, then the universe tie-break); ``codes``
    name the tickers of the kept lists in the record."""
    top_k = params.top_k
    if cond.status != "ok":
        record = dict.fromkeys(("regime", "cutoffs", "caps", "qualified", "kept", "kept_codes"))
        return _Selection(order[:top_k], {NOT_IN_TOP_K: order[top_k:]}, None, record, None)
    risk_score = min(max(cond.short_term_risk_score or 0, 0), 3)
    adjust = params.short_term_adjust[("0", "1", "2+")[min(risk_score, 2)]]
    cutoffs: Horizons = params.cutoffs[cond.final_regime]
    caps: Horizons = params.horizon_caps[str(risk_score)]
    effective = score[order] - adjust
    qualifies = np.stack([effective >= cut for cut in cutoffs.values()], axis=1)
    kept = qualifies & (np.cumsum(qualifies, axis=0) <= np.array(caps.values()))
    selected, qualified = kept.any(axis=1), qualifies.any(axis=1)
    reasons = {
        CUTOFF: order[~qualified],
        HORIZON_CAP: order[qualified & ~selected],
        NOT_IN_TOP_K: order[selected][top_k:],
    }
    kept_by_ticker = np.zeros((len(score), len(HORIZONS)), dtype=bool)
    kept_by_ticker[order] = kept
    record = {
        "regime": cond.final_regime,
        "cutoffs": dataclasses.asdict(cutoffs),
        "caps": dataclasses.asdict(caps),
        "qualified": dict(zip(HORIZONS, qualifies.sum(axis=0).tolist(), strict=True)),
        "kept": dict(zip(HORIZONS, kept.sum(axis=0).tolist(), strict=True)),
        "kept_codes": {
            horizon: [str(code) for code in codes[order[kept[:, k]]]]
            for k, horizon in enumerate(HORIZONS)
        },
    }
    return _Selection(order[selected][:top_k], reasons, kept_by_ticker, record, adjust)


def run_v2(inp: EngineInput, params: V2Params) -> EngineResult:
    """Run engine v2 (ENGINES.md §6) on one scan date.

    Parameters
    ----------
    inp
        The run's input (final universe, indicators, market condition).
    params
        Effective `[engines.v2]` parameters (not modified).

    Returns
    -------
    EngineResult
        Version ``v2``: up to top_k picks, one `SubResult` ``v2`` with a reason per ticker
        (§8.4), the run record (§8.6) and the effective params.
    """
    cond = inp.condition
    eff = resolve(params, cond)
    gate_open, gate_why = regime_gate(cond)
    pre, can_compute = pre_reasons(inp), computable(inp)
    evaluated = can_compute & inp.universe.member & gate_open
    arrays = _Arrays.of(inp, params, eff)
    candidates = arrays.checks.all_passed(evaluated)
    order = ranked(arrays.score, inp, candidates)
    selection = _select(params, cond, arrays.score, order, inp.codes)

    failures = arrays.checks.first_failure(can_compute)
    reasons, open_ = pre.copy(), np.equal(pre, None)
    reasons[open_] = failures[open_] if gate_open else REGIME_GATE
    for reason, indices in selection.reasons.items():
        reasons[indices] = reason
    reasons[selection.picks] = None
    diagnostic = np.full(inp.n_tickers, None, dtype=object)
    explained = np.equal(pre, NOT_IN_UNIVERSE) | np.equal(reasons, REGIME_GATE)
    diagnostic[explained] = failures[explained]

    records = _Records(inp, params, eff, arrays, selection)
    picks = tuple(records.pick(int(i), rank) for rank, i in enumerate(selection.picks, start=1))

    def explain_extra(index: int) -> dict[str, Any]:
        return records.explain(index) if can_compute[index] else dict.fromkeys(records.KEYS)

    sub = SubResult(
        ENGINE, picks, reasons, evaluated, candidates, arrays.checks, diagnostic, explain_extra
    )
    counts = {
        "universe_count": inp.universe.size,
        "evaluated_count": int(evaluated.sum()),
        "candidates_count": int(candidates.sum()),
        "matched_count": len(picks),
    }
    block = {
        "gate": {"open": gate_open, "why": gate_why},
        "short_term_risk_score": cond.short_term_risk_score if cond.status == "ok" else None,
        "short_term_adjust": selection.adjust,
        **selection.record,
    }
    params_record = {**params.to_record(), "effective": dataclasses.asdict(eff)}
    return EngineResult(ENGINE, picks, (sub,), {"counts": counts, ENGINE: block}, params_record)


class _Records(sc.Records):
    """v2 records: label and strategy on V with the real RSI_TEMA_t (§6.5, V2-5)."""

    engine = ENGINE

    def __init__(
        self,
        inp: EngineInput,
        params: V2Params,
        eff: Effective,
        arrays: _Arrays,
        selection: _Selection,
    ) -> None:
        self.params, self.a, self.selection = params, arrays, selection
        comps = arrays.comps
        too_low = (comps.raw_score < params.low_score_max) & (
            comps.signals_basic < params.low_score_min_basic
        )
        self.scorer_ok = (comps.signals_count >= eff.min_signals) & ~too_low
        thresholds = {name: getattr(params, name) for name in STATIC_THRESHOLDS}
        for name in ("rsi_ceiling", "rsi_threshold", "gap_max", "ext_from_tema20_max"):
            thresholds[name] = getattr(eff, name)
        for name in ("min_signals", "soft_vol_mult", "macd_osc_min"):
            thresholds[name] = getattr(eff, name)
        thresholds["cutoffs"] = selection.record["cutoffs"]
        super().__init__(
            inp,
            arrays.bar,
            comps,
            arrays.risk,
            arrays.bonus,
            score=arrays.score,
            x=arrays.score,
            rsi_tema=arrays.bar.RSI_TEMA,
            gaps=arrays.gaps,
            thresholds=thresholds,
        )

    def risk_score(self, i: int) -> int:
        return int(self.a.risk.base_risk[i] + self.a.extra_risk[i])  # risk_total

    def engine_flags(self, i: int) -> dict[str, Any]:
        a, adjust = self.a, self.selection.adjust
        basic = int(a.comps.signals_basic[i])
        return {
            "soft": {key: plain(value[i]) for key, value in a.soft.items()},
            "scorer_signals_ok": bool(self.scorer_ok[i]),
            "base_risk_score": int(a.risk.base_risk[i]),
            "additional_risk_6plus": int(a.extra_risk[i]),
            "risk_multiplier": float(a.multiplier[i]),
            "adjusted_risk_score": int(a.adjusted_risk[i]),
            "adjusted_score": float(a.adjusted_score[i]),
            "low_score_filtered": bool(a.low_score[i]),
            "low_score_reason": LOW_SCORE_REASON.format(basic) if a.low_score[i] else None,
            "short_term_adjust": adjust,
            "effective_score": None if adjust is None else float(a.score[i] - adjust),
            "horizons": self.selection.horizons(i),
        }


# The registry's names for this engine's parameters and compute function.
Params = V2Params
compute = run_v2
