"""Engine v3 (ENGINES.md §7): a router over two sub-engines, ``midterm`` and ``pullback``.

`run_v3(inp, params)` is a pure function of one `EngineInput`. Steps and where they live:

1. `route` (§7.1): pullback runs only when the condition has status ``ok``, final_regime
   ``neutral``, short_term_risk_label ``normal`` and ``pullback_enabled``; midterm always runs.
2. `evaluate_midterm` (``midterm.py``, §7.2): seven checks, score C1 … C5, top_n by score.
3. `evaluate_pullback` (``pullback.py``, §7.3): ten checks, top_n by DIST_EMA20; computed as
   diagnostics when not routed.
4. Picks (§8.1–8.3, `_pick`) and the merge of a ticker picked by both (§7.4, `_merge`).
5. One `SubResult` per sub-engine with §8.4 reasons (`_reasons`) and `explain_extra`.
6. The run record (§8.6, `_run_record`) and the effective parameters.

Over 400 lines because the docstring below carries every resolved ambiguity of §7–§8 for v3 and
the record assembly of §8.1–§8.6 is shared by both sub-engines; the sub-engines' own rules live
in ``midterm.py`` and ``pullback.py``.

Resolved ambiguities (choices of this implementation):

* **pr's evaluated set** is the one §7.2 defines at its top: every final-universe ticker with a
  bar on D and ≥ min_bars bars, whether or not it passes the checks (N = evaluated_count, also
  flags.evaluated_set_size). A ticker outside the universe gets pr over that set plus itself
  (N + 1), §8.4; its evaluated_set_size is N + 1.
* **Reason precedence when pullback is not routed**: §8.4 order is kept, so a ticker without a bar
  on D, with too few bars or outside the universe keeps that reason; every other ticker gets
  ``regime_gate``. ``diagnostic_reason`` (first failed check, or None) is filled for
  ``regime_gate`` and ``not_in_universe`` tickers; checks always run as diagnostics.
* **Scores and flags outside the selection**: C1 … C5, score and score_label exist only for
  tickers passing every check (members or not); pullback's label "눌림목" likewise. flags and
  details of explain records are computed for every ticker with a bar on D and ≥ min_bars bars.
* **flags.checks**: the check results are one object ``{reason code: bool}`` in check order.
* **flags.touch_bar** is the offset i of j = t − i (0 = D, 1 = the bar before, 2), the first
  touching bar in t, t−1, t−2 order; null when no bar touched.
* **flags.sub_engines** lists the sub-engines that picked the ticker (``["midterm"]``,
  ``["v2_lite"]``, ``["midterm", "v2_lite"]``, or ``[]`` in explain records of unpicked tickers);
  the pullback flags nested in a merged record carry the same list.
* **Merged tickers**: ``EngineResult.picks`` (storage order) holds the midterm picks by rank, then
  the pullback picks by rank without the merged ones; v2_lite ranks are not renumbered, so a
  gap marks a merged ticker. ``SubResult("v2_lite").picks`` keeps every pullback pick.
* **Pick record**: ``engine`` is ``"v3"`` and ``sub_engine`` is ``midterm`` / ``v2_lite`` (§8.1);
  the stored ``engine`` column is the record's sub_engine. close and volume are rounded to int.
* **risk_score / risk_flags** (§4.1, informational for v3) use the §4.1 defaults, since v3 has no
  vol_spike_threshold or momentum_duration_min keys: RSI_TEMA > 80 (2), v_t > 3·VOL_MA5 (2),
  macd_duration < 3 (1), up_days5 ≥ 4 (1).
* **thresholds** in flags: the configured check limits of the sub-engine (§9.5 keys).
* **Counts**: evaluated_count and candidates_count count distinct tickers evaluated by / passing
  every check of at least one sub-engine that ran; matched_count = distinct picked codes.
* **why_not**: null when pullback ran, else the first failed §7.1 condition in table order, as
  ``"status=unknown"``, ``"final_regime=bull"``, ``"short_term_risk_label=elevated"`` or
  ``"pullback_enabled=false"``.
* **One window**: both sub-engines read the same `EngineInput`, so their lookbacks must be equal
  (`ConfigError`), and `run_v3` raises ValueError when the window's lookback differs.
* **Parameter checks**: min_bars ≥ 21 (R20 needs 21 bars) and ≤ lookback; high_window and
  touch_bars ≤ min_bars; r20_min < r20_sweet_low ≤ r20_sweet_high < r20_max (C5 divides by
  both gaps); vol_ratio_low < vol_ratio_high; label_thresholds 3 numbers, descending;
  stop_loss < 0 < target_profit; top_n, holding_period ≥ 1.
* ``high_window`` ≠ 20 recomputes H, HIGH_AGE and PB_DEPTH over that many bars; the record
  keys stay H20 / HIGH_AGE / PB_DEPTH.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from scanctl.config import Origin, Section, SettingError, setting
from scanctl.engines import scoring as sc_rules
from scanctl.engines.base import (
    NOT_IN_TOP_K,
    NOT_IN_UNIVERSE,
    REGIME_GATE,
    EngineInput,
    EngineResult,
    Pick,
    SubResult,
    plain,
    pre_reasons,
)
from scanctl.engines.v3 import midterm, pullback
from scanctl.engines.v3.midterm import MidtermOutcome, MidtermParams, evaluate_midterm
from scanctl.engines.v3.pullback import PullbackOutcome, PullbackParams, evaluate_pullback
from scanctl.market.condition import MarketCondition

if TYPE_CHECKING:
    from scanctl.config import Config

__all__ = ["MidtermParams", "PullbackParams", "V3Params", "route", "run_v3"]

VERSION = "v3"
ROUTE_STATUS, ROUTE_REGIME, ROUTE_RISK = "ok", "neutral", "normal"  # §7.1
# §4.1 base risk (informational for v3, §8.3): fixed at the v1/v2 defaults.
# §4.1 risk for v3's records: vol_spike_threshold 3.0 and momentum_duration_min 3 (§9.3).
_RISK_DEFAULTS = SimpleNamespace(vol_spike_threshold=3.0, momentum_duration_min=3)
EXPLAIN_KEYS = ("score", "score_label", "flags", "details")  # §8.4 parts from §8.1–8.3
# §8.3 thresholds: the configured limits each sub-engine's checks use.
THRESHOLD_KEYS = {
    midterm.NAME: (
        "min_turnover_krw",
        "min_price",
        "rsi_min",
        "rsi_max",
        "r20_min",
        "r20_max",
        "max_close_to_ema20",
    ),
    pullback.NAME: (
        "min_turnover_krw",
        "min_price",
        "high_window",
        "high_max_age",
        "depth_min",
        "depth_max",
        "touch_bars",
        "touch_low",
        "touch_high",
    ),
}

Outcome = MidtermOutcome | PullbackOutcome


@dataclass(frozen=True)
class V3Params(Section):
    """``[engines.v3]`` and its two sub-tables (ENGINES.md §9.5).

    Attributes
    ----------
    pullback_enabled
        §7.1: false never routes to pullback.
    midterm, pullback
        ``[engines.v3.midterm]``, ``[engines.v3.pullback]``: sections of their own, not keys.
    """

    SECTION: ClassVar[str] = "engines.v3"
    # The sub-tables, each a section of its own (listed by `config keys`).
    SUBSECTIONS: ClassVar[tuple[type, ...]] = (MidtermParams, PullbackParams)

    pullback_enabled: bool = setting(True, "false never routes to pullback (§9.5, §7.1)")
    midterm: MidtermParams = field(default_factory=MidtermParams)
    pullback: PullbackParams = field(default_factory=PullbackParams)

    def validate(self) -> None:
        """Both sub-tables built, with one lookback (v3 reads one window)."""
        for name, kind in (("midterm", MidtermParams), ("pullback", PullbackParams)):
            if not isinstance(getattr(self, name), kind):
                raise self.fail(name, f"a {kind.__name__}", getattr(self, name))
        if self.pullback.lookback != self.midterm.lookback:
            raise SettingError(
                PullbackParams.SECTION,
                "lookback",
                f"lookback must equal [{MidtermParams.SECTION}] lookback "
                f"({self.midterm.lookback}) because v3 reads one window, "
                f"got {self.pullback.lookback!r}",
            )

    @property
    def lookback(self) -> int:
        """The window length v3 needs (both sub-engines share it)."""
        return self.midterm.lookback

    @classmethod
    def from_mapping(  # type: ignore[override]  # three tables, one origin each
        cls,
        v3_mapping: Mapping[str, Any] | None = None,
        midterm_mapping: Mapping[str, Any] | None = None,
        pullback_mapping: Mapping[str, Any] | None = None,
        *,
        origin: Origin | None = None,
        midterm_origin: Origin | None = None,
        pullback_origin: Origin | None = None,
    ) -> V3Params:
        """Build from the three TOML tables; missing keys take their defaults. ``origin``,
        ``midterm_origin`` and ``pullback_origin`` say where each table's values came from.

        Raises
        ------
        ConfigError
            On an unknown key of any table (the section and key are named) or a bad value,
            with its source when the origins know it.
        """
        v3_mapping = v3_mapping or {}
        cls.check_keys(v3_mapping, origin)
        origins = {
            cls.SECTION: origin,
            MidtermParams.SECTION: midterm_origin,
            PullbackParams.SECTION: pullback_origin,
        }
        try:
            return cls(
                **v3_mapping,
                midterm=MidtermParams.from_mapping(midterm_mapping, midterm_origin),
                pullback=PullbackParams.from_mapping(pullback_mapping, pullback_origin),
            )
        except SettingError as exc:
            raise exc.located(origins.get(exc.section)) from None

    @classmethod
    def from_config(cls, config: Config) -> V3Params:
        """``[engines.v3]`` and its sub-tables of ``config`` over the defaults."""
        sections = (cls.SECTION, MidtermParams.SECTION, PullbackParams.SECTION)
        v3, midterm, pullback = (config.section(name) for name in sections)
        origins = [config.origin(name) for name in sections]
        return cls.from_mapping(
            v3,
            midterm,
            pullback,
            origin=origins[0],
            midterm_origin=origins[1],
            pullback_origin=origins[2],
        )


def route(condition: MarketCondition, pullback_enabled: bool) -> tuple[bool, str | None]:
    """§7.1: (pullback runs, why not: the first failed condition in table order or None)."""
    for ok, why_not in (
        (condition.status == ROUTE_STATUS, f"status={condition.status}"),
        (condition.final_regime == ROUTE_REGIME, f"final_regime={condition.final_regime}"),
        (
            condition.short_term_risk_label == ROUTE_RISK,
            f"short_term_risk_label={condition.short_term_risk_label}",
        ),
        (pullback_enabled, "pullback_enabled=false"),
    ):
        if not ok:
            return False, why_not
    return True, None


def run_v3(inp: EngineInput, params: V3Params) -> EngineResult:
    """Run engine v3 for scan date ``inp.date``.

    Parameters
    ----------
    inp
        The run's input; ``inp.window`` must have lookback ``params.lookback``.
    params
        Effective v3 parameters.

    Returns
    -------
    EngineResult
        Version ``v3``; picks in storage order (midterm ranks, then v2_lite ranks without the
        merged tickers); subs ``midterm`` and ``v2_lite``; the §8.6 run record part; params.

    Raises
    ------
    ValueError
        The window's lookback is not ``params.lookback``.
    """
    if inp.window.lookback != params.lookback:
        raise ValueError(
            f"v3 needs a window of lookback {params.lookback} ([engines.v3.midterm] lookback), "
            f"got {inp.window.lookback}: build the EngineInput with the engine's lookback"
        )
    ran, why_not = route(inp.condition, params.pullback_enabled)
    mid = evaluate_midterm(inp, params.midterm)
    pull = evaluate_pullback(inp, params.pullback, ran)

    picked_by: dict[int, list[str]] = {}
    for name, outcome in ((midterm.NAME, mid), (pullback.NAME, pull)):
        for index in outcome.picked.tolist():
            picked_by.setdefault(index, []).append(name)
    mid_picks = [
        _pick(inp, midterm.NAME, mid, index, rank, picked_by[index])
        for rank, index in enumerate(mid.picked.tolist(), start=1)
    ]
    pull_picks = [
        _pick(inp, pullback.NAME, pull, index, rank, picked_by[index])
        for rank, index in enumerate(pull.picked.tolist(), start=1)
    ]
    mid_picks, stored = _merge(mid_picks, pull_picks)

    subs = (
        _sub_result(inp, midterm.NAME, mid, mid_picks, picked_by, gated=False),
        _sub_result(inp, pullback.NAME, pull, pull_picks, picked_by, gated=not ran),
    )
    return EngineResult(
        version=VERSION,
        picks=tuple(stored),
        subs=subs,
        run_record=_run_record(inp, mid, pull, why_not, len(picked_by)),
        params=params.to_record(),
    )


def _merge(mid_picks: list[Pick], pull_picks: list[Pick]) -> tuple[list[Pick], list[Pick]]:
    """§7.4: (midterm picks with merged pullback info, storage order of all picks)."""
    pull_by_code = {pick.ticker: pick for pick in pull_picks}
    merged = []
    for pick in mid_picks:
        twin = pull_by_code.get(pick.ticker)
        if twin is not None:
            nested = {"rank": twin.rank, "flags": copy.deepcopy(twin.flags)}
            pick = dataclasses.replace(pick, flags={**pick.flags, "v2_lite": nested})
        merged.append(pick)
    mid_codes = {pick.ticker for pick in mid_picks}
    return merged, merged + [pick for pick in pull_picks if pick.ticker not in mid_codes]


def _pick(
    inp: EngineInput, sub: str, outcome: Outcome, index: int, rank: int, sub_engines: list
) -> Pick:
    """The pick (§8.1) of ticker ``index`` for sub-engine ``sub`` at ``rank``."""
    explain = _explain(inp, sub, outcome, index, sub_engines)
    return Pick(
        ticker=str(inp.codes[index]),
        name=str(inp.master.names[index]),
        market=inp.master.markets[index],
        engine=VERSION,
        sub_engine=sub,
        rank=rank,
        score=explain["score"],
        score_label=explain["score_label"],
        strategy=sub,
        close=_as_int(inp.window.close[-1, index]),
        volume=_as_int(inp.window.volume[-1, index]),
        change_rate=plain(inp.scalars.change_rate[index]),
        traded_value=plain(inp.universe.traded_value[index]),
        indicators=outcome.indicators(inp, index),
        trend=_trend(inp, index),
        flags=explain["flags"],
        details=explain["details"],
    )


def _explain(
    inp: EngineInput, sub: str, outcome: Outcome, index: int, sub_engines: list
) -> dict[str, Any]:
    """score, score_label, flags and details (§8.1, §8.3) of ticker ``index`` for ``sub``."""
    params = outcome.params
    label = outcome.label(index)
    score = plain(outcome.score[index]) if isinstance(outcome, MidtermOutcome) else None
    flags = {
        "label": label,
        "trading_strategy": sub,
        "target_profit": params.target_profit,
        "stop_loss": params.stop_loss,
        "holding_period": params.holding_period,
        "holding_period_text": None,
        **_risk(inp, index),
        "thresholds": {key: getattr(params, key) for key in THRESHOLD_KEYS[sub]},
        "market_condition_status": inp.condition.status,
        **outcome.flags(index),
        "sub_engines": list(sub_engines),
    }
    return {"score": score, "score_label": label, "flags": flags, "details": outcome.details(index)}


def _as_int(value: float) -> int | None:
    return None if np.isnan(value) else round(float(value))


def _trend(inp: EngineInput, index: int) -> dict[str, Any]:
    """§8.1 trend on bar t: the all-engine slopes and ABOVE_CNT5, plus v3's EMA60 slope."""
    ind, sc = inp.indicators, inp.scalars
    return {
        "TEMA20_SLOPE20": plain(ind.TEMA20_SLOPE20[-1, index]),
        "OBV_SLOPE20": plain(ind.OBV_SLOPE20[-1, index]),
        "DEMA10_SLOPE20": plain(ind.DEMA10_SLOPE20[-1, index]),
        "ABOVE_CNT5": plain(sc.ABOVE_CNT5[index]),
        "EMA60_SLOPE20": plain(ind.EMA60_SLOPE20[-1, index]),
        "EMA60_SLOPE20_PCT": plain(sc.EMA60_SLOPE20_PCT[index]),
    }


def _risk(inp: EngineInput, index: int) -> dict[str, Any]:
    """§4.1 base risk on bar t (informational for v3, at the §9.3 defaults): risk_score and
    risk_flags, by the same rule v1 and v2 use."""
    risk = sc_rules.risk_flags(
        sc_rules.BarT.of(inp), inp.scalars.macd_duration, inp.scalars.up_days5, _RISK_DEFAULTS
    )
    return {"risk_score": int(risk.base_risk[index]), "risk_flags": risk.record(index)}


def _reasons(inp: EngineInput, outcome: Outcome, gated: bool) -> tuple[np.ndarray, np.ndarray]:
    """§8.4 reasons and diagnostic reasons, each ``(N,)`` object (None = picked / no diagnostic).

    Precedence: no_bar_on_date, insufficient_history (< min_bars), not_in_universe,
    regime_gate (``gated``), the first failed check, not_in_top_k.
    """
    reasons = pre_reasons(inp, outcome.params.min_bars)
    open_ = np.equal(reasons, None)
    if gated:
        reasons[open_] = REGIME_GATE
    else:
        failures = outcome.checks.first_failure(open_)
        reasons[open_] = failures[open_]
        cut = outcome.matched.copy()
        cut[outcome.picked] = False
        reasons[cut] = NOT_IN_TOP_K
    diagnosed = np.equal(reasons, NOT_IN_UNIVERSE) | np.equal(reasons, REGIME_GATE)
    return reasons, outcome.checks.first_failure(diagnosed)


def _sub_result(
    inp: EngineInput,
    sub: str,
    outcome: Outcome,
    picks: list[Pick],
    picked_by: dict[int, list[str]],
    gated: bool,
) -> SubResult:
    reasons, diagnostic = _reasons(inp, outcome, gated)
    by_index = dict(zip(outcome.picked.tolist(), picks, strict=True))

    def explain_extra(index: int) -> dict[str, Any]:
        """score, score_label, flags, details of ticker ``index`` (§8.4; None when not computed)."""
        pick = by_index.get(index)
        if pick is not None:
            return {key: getattr(pick, key) for key in EXPLAIN_KEYS}
        if outcome.computable[index]:
            return _explain(inp, sub, outcome, index, picked_by.get(index, []))
        return dict.fromkeys(EXPLAIN_KEYS)

    return SubResult(
        name=sub,
        picks=tuple(picks),
        reasons=reasons,
        evaluated=outcome.evaluated,
        matched=outcome.matched,
        checks=outcome.checks,
        diagnostic_reasons=diagnostic,
        explain_extra=explain_extra,
    )


def _run_record(
    inp: EngineInput,
    mid: MidtermOutcome,
    pull: PullbackOutcome,
    why_not: str | None,
    matched_count: int,
) -> dict[str, Any]:
    """§8.6: counts and the v3 block {routing, per sub-engine counts}."""

    def counts(outcome: Outcome) -> dict[str, int]:
        return {
            "evaluated_count": int(outcome.evaluated.sum()),
            "candidates_count": int(outcome.matched.sum()),
            "matched_count": len(outcome.picked),
        }

    merged = np.intersect1d(mid.picked, pull.picked).size
    return {
        "counts": {
            "universe_count": inp.universe.size,
            "evaluated_count": int((mid.evaluated | pull.evaluated).sum()),
            "candidates_count": int((mid.matched | pull.matched).sum()),
            "matched_count": matched_count,
        },
        "v3": {
            "routing": {
                "final_regime": inp.condition.final_regime,
                "short_term_risk_label": inp.condition.short_term_risk_label,
                "pullback_ran": pull.ran,
                "why_not": why_not,
            },
            midterm.NAME: counts(mid),
            pullback.NAME: {"ran": pull.ran, **counts(pull), "merged_count": merged},
        },
    }


# The registry's names for this engine's parameters and compute function.
Params = V3Params
compute = run_v3
