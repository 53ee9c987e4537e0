"""The v3 ``pullback`` (눌림목) sub-engine, stored as ``v2_lite`` (ENGINES.md §7.3, scanctl design).

`evaluate_pullback` works on every ticker at once:

1. ``computable`` and the evaluated set as midterm (§7.3 "Evaluated set as midterm", with this
   sub-engine's own ``min_bars``); nobody is evaluated when the router did not send the run here.
2. The ten checks of §7.3 as `Check` arrays (`pullback_checks`). They are computed even when the
   sub-engine is not routed, as the diagnostics of ``regime_gate`` (§8.4).
3. A boolean match (every check passes); selection by DIST_EMA20 ascending, then the universe
   tie-break (`base.ranked`), first ``top_n``. No score (null), label "눌림목".

The 20-bar high: with ``high_window`` = 20 (the default) H20, HIGH_AGE and PB_DEPTH are the
indicator library's scalars (§1.2); any other ``high_window`` recomputes the same three
definitions from the window's highs over the last ``high_window`` bars (`recent_high`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from scanctl.config import setting
from scanctl.engines.base import Check, CheckList, EngineInput, computable, plain, ranked
from scanctl.engines.v3.midterm import (
    MIN_HISTORY_BARS,
    SLOPE_FLOOR,
    SubParams,
    liquidity_price_checks,
)

NAME = "v2_lite"  # §7.1: pullback is stored as strategy and engine ``v2_lite``
LABEL = "눌림목"  # §7.3 score_label
LIBRARY_HIGH_WINDOW = 20  # §1.2: the window of the library's H20 / HIGH_AGE / PB_DEPTH


@dataclass(frozen=True)
class PullbackParams(SubParams):
    """``[engines.v3.pullback]`` (ENGINES.md §9.5; rules of §7.3)."""

    SECTION: ClassVar[str] = "engines.v3.pullback"

    lookback: int = setting(220, "window length, ≥ min_bars (§9.5, §0.4)", ge=1)
    min_bars: int = setting(
        60, "fewer bars → insufficient_history (§9.5, §0.4)", ge=MIN_HISTORY_BARS
    )
    min_turnover_krw: float = setting(1e9, "least turnover20 in KRW (§9.5, §7.3 check 1)", ge=0)
    min_price: float = setting(2000.0, "least close c_t (§9.5, §7.3 check 2)", ge=0)
    high_window: int = setting(20, "bars of the recent high H20, ≤ min_bars (§9.5, §1.2)", ge=1)
    high_max_age: int = setting(9, "largest HIGH_AGE (§9.5, §7.3 check 6)", ge=0)
    depth_min: float = setting(0.03, "least PB_DEPTH, inclusive (§9.5, §7.3 check 7)")
    depth_max: float = setting(0.12, "largest PB_DEPTH, inclusive (§9.5, §7.3 check 7)")
    touch_bars: int = setting(
        3, "bars t, t−1, … whose low may touch EMA20, ≤ min_bars (§9.5, §7.3 check 8)", ge=1
    )
    touch_low: float = setting(0.97, "touch: touch_low·EMA20_j ≤ l_j (§9.5, §7.3 check 8)", gt=0)
    touch_high: float = setting(1.02, "touch: l_j ≤ touch_high·EMA20_j (§9.5, §7.3 check 8)", gt=0)
    top_n: int = setting(10, "most picks (§9.5, §7.3 selection)", ge=1)
    target_profit: float = setting(0.05, "guidance target_profit (§9.5, §7.3 guidance)", gt=0)
    stop_loss: float = setting(
        -0.02, "guidance stop_loss, negative (§9.5, §7.3 guidance, §8.3)", lt=0
    )
    holding_period: int = setting(
        14, "guidance holding period in sessions (§9.5, §7.3 guidance)", ge=1
    )

    def validate(self) -> None:
        """min_bars ≤ lookback; high_window and touch_bars within min_bars; ordered bands."""
        super().validate()
        for name in ("high_window", "touch_bars"):
            value = getattr(self, name)
            if value > self.min_bars:
                raise self.fail(name, f"an integer between 1 and {self.min_bars}", value)
        self.check_order("depth_min", "depth_max")
        self.check_order("touch_low", "touch_high")


def recent_high(inp: EngineInput, high_window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, HIGH_AGE, PB_DEPTH) of §1.2 over the last ``high_window`` bars, each ``(N,)``.

    H = max of the highs; HIGH_AGE = bars since the **latest** bar with h = H (0 = today),
    float64 with NaN where H is undefined; PB_DEPTH = 1 − c_t / H.
    """
    if high_window == LIBRARY_HIGH_WINDOW:
        sc = inp.scalars
        return sc.H20, np.asarray(sc.HIGH_AGE, dtype=np.float64), sc.PB_DEPTH
    highs = inp.window.high[-high_window:]
    high = highs.max(axis=0)  # NaN when the column has fewer bars (not computable)
    age = np.argmax(highs[::-1] == high, axis=0).astype(np.float64)
    age[np.isnan(high)] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = 1.0 - inp.window.close[-1] / high
    return high, age, depth


def _bar_name(offset: int) -> str:
    return "t" if offset == 0 else f"t-{offset}"


def touch_offsets(inp: EngineInput, params: PullbackParams) -> tuple[np.ndarray, dict]:
    """§7.3 check 8 per bar j = t − i, i = 0 … touch_bars − 1.

    Returns
    -------
    (touch_bar, values)
        ``(N,)`` int64: the first i in 0, 1, 2 order with
        touch_low·EMA20_j ≤ l_j ≤ touch_high·EMA20_j, else −1; and the check's values
        (``low_t``, ``EMA20_t``, ``low_t-1`` …).
    """
    touch_bar = np.full(inp.n_tickers, -1, dtype=np.int64)
    values: dict[str, np.ndarray] = {}
    for offset in reversed(range(params.touch_bars)):  # the earliest offset is written last
        row = -1 - offset
        low, ema20 = inp.window.low[row], inp.indicators.EMA20[row]
        touched = (params.touch_low * ema20 <= low) & (low <= params.touch_high * ema20)
        touch_bar[touched] = offset
    for offset in range(params.touch_bars):
        values[f"low_{_bar_name(offset)}"] = inp.window.low[-1 - offset]
        values[f"EMA20_{_bar_name(offset)}"] = inp.indicators.EMA20[-1 - offset]
    return touch_bar, values


def pullback_checks(
    inp: EngineInput, params: PullbackParams
) -> tuple[CheckList, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The ten checks of §7.3 in order (NaN fails), the touch bar, and (H, HIGH_AGE, PB_DEPTH)."""
    close, open_ = inp.window.close[-1], inp.window.open[-1]
    prev_close = inp.window.close[-2]
    ind = inp.indicators
    ema20, ema60 = ind.EMA20[-1], ind.EMA60[-1]
    slope = ind.EMA60_SLOPE20[-1]
    vma5, vma20 = ind.VOL_MA5[-1], ind.VMA20[-1]
    high, age, depth = recent_high(inp, params.high_window)
    touch_bar, touch_values = touch_offsets(inp, params)
    checks = CheckList(
        [
            *liquidity_price_checks(inp, params),
            Check("trend_ema60", close > ema60, {"close": close, "EMA60": ema60}),
            Check("trend_alignment", ema20 > ema60, {"EMA20": ema20, "EMA60": ema60}),
            Check(
                "trend_slope",
                slope > SLOPE_FLOOR,
                {"EMA60_SLOPE20": slope},
                {"EMA60_SLOPE20_above": SLOPE_FLOOR},
            ),
            Check(
                "high_age",
                age <= params.high_max_age,
                {"HIGH_AGE": age, "H20": high},
                {"high_max_age": params.high_max_age, "high_window": params.high_window},
            ),
            Check(
                "pullback_depth",
                (depth >= params.depth_min) & (depth <= params.depth_max),
                {"PB_DEPTH": depth},
                {"depth_min": params.depth_min, "depth_max": params.depth_max},
            ),
            Check(
                "ema20_touch",
                touch_bar >= 0,
                touch_values,
                {
                    "touch_low": params.touch_low,
                    "touch_high": params.touch_high,
                    "touch_bars": params.touch_bars,
                },
            ),
            Check("volume_contraction", vma5 < vma20, {"VMA5": vma5, "VMA20": vma20}),
            Check(
                "reversal_bar",
                (close > open_) & (close > prev_close),
                {"close": close, "open": open_, "prev_close": prev_close},
            ),
        ]
    )
    return checks, touch_bar, (high, age, depth)


@dataclass(frozen=True, eq=False)
class PullbackOutcome:
    """Every ``(N,)`` array of one pullback run (or of its diagnostics when not routed).

    ``ran``: routed by §7.1. ``computable``: bar on D and ≥ min_bars. ``evaluated``: computable
    members, and only when ``ran``. ``passes``: computable and every check passes (members or
    not, routed or not). ``matched``: evaluated and passes. ``picked``: indices in rank order.
    """

    params: PullbackParams
    ran: bool
    checks: CheckList
    computable: np.ndarray
    evaluated: np.ndarray
    passes: np.ndarray
    matched: np.ndarray
    touch_bar: np.ndarray
    high: tuple[np.ndarray, np.ndarray, np.ndarray]
    distance: np.ndarray
    picked: np.ndarray

    def label(self, index: int) -> str | None:
        """The label 눌림목 where every check passes, else None."""
        return LABEL if self.passes[index] else None

    def flags(self, index: int) -> dict[str, Any]:
        """The pullback-specific flags of §8.3 (check booleans, touch_bar)."""
        offset = int(self.touch_bar[index])
        return {
            "checks": {check.code: bool(check.passed[index]) for check in self.checks.checks},
            "touch_bar": offset if offset >= 0 else None,
        }

    def details(self, index: int) -> dict[str, Any]:
        """The §7.3 check values by check code, plus the selection key DIST_EMA20 (§8.1)."""
        return {
            **{
                check.code: {name: plain(values[index]) for name, values in check.values.items()}
                for check in self.checks.checks
            },
            "DIST_EMA20": plain(self.distance[index]),
        }

    def indicators(self, inp: EngineInput, index: int) -> dict[str, Any]:
        """The §8.2 keys of v3 pullback on bar t."""
        ind, sc = inp.indicators, inp.scalars
        high, age, depth = (float(part[index]) for part in self.high)
        return {
            "EMA20": plain(ind.EMA20[-1, index]),
            "EMA60": plain(ind.EMA60[-1, index]),
            "VMA5": plain(ind.VOL_MA5[-1, index]),
            "VMA20": plain(ind.VMA20[-1, index]),
            "H20": plain(high),
            "HIGH_AGE": None if math.isnan(age) else int(age),
            "PB_DEPTH": plain(depth),
            "DIST_EMA20": plain(self.distance[index]),
            "turnover20": plain(sc.turnover20[index]),
            "close": plain(inp.window.close[-1, index]),
        }


def evaluate_pullback(inp: EngineInput, params: PullbackParams, ran: bool) -> PullbackOutcome:
    """Run §7.3 on every ticker of ``inp`` (diagnostics only when ``ran`` is false).

    Parameters
    ----------
    inp
        The run's input; its window's lookback is ``params.lookback`` (checked by the caller).
    params
        Effective ``[engines.v3.pullback]`` parameters.
    ran
        The router's decision (§7.1). When false nothing is evaluated, matched or picked.

    Returns
    -------
    PullbackOutcome
    """
    able = computable(inp, params.min_bars)
    evaluated = able & inp.universe.member & ran
    checks, touch_bar, high = pullback_checks(inp, params)
    passes = checks.all_passed(able)
    matched = passes & evaluated
    distance = inp.scalars.DIST_EMA20
    picked = ranked(distance, inp, matched, ascending=True)[: params.top_n]
    return PullbackOutcome(
        params=params,
        ran=ran,
        checks=checks,
        computable=able,
        evaluated=evaluated,
        passes=passes,
        matched=matched,
        touch_bar=touch_bar,
        high=high,
        distance=distance,
        picked=picked,
    )
