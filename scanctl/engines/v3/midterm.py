"""The v3 ``midterm`` sub-engine (ENGINES.md §7.2, scanctl design): trend following, 2–4 weeks.

`evaluate_midterm` works on every ticker at once, in the order of the data flow:

1. ``computable``: a bar on D and ≥ ``min_bars`` bars (§0.4); the **evaluated set** is the
   computable final-universe members (§7.2).
2. The seven checks of §7.2 as `Check` arrays (`midterm_checks`), computed for every ticker so
   that explain records of tickers outside the universe read the same arrays (§8.4).
3. The score C1 … C5 (`score_components`), C2 from `percentile_ranks` over the evaluated set.
4. Selection: score descending, then the universe tie-break (`base.ranked`), first ``top_n``.

It also holds what the pullback sub-engine shares with it ("evaluated set as midterm",
checks 1–2 identical, §7.3): the parameter base `SubParams` and
`liquidity_price_checks`.

Over 400 lines because of those shared parts: the package is ``__init__`` (router and records),
``midterm`` and ``pullback``, and §7.3 defines pullback's evaluated set and checks 1–2 as
midterm's, so they live here rather than in a fourth module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from scanctl.config import Section, setting
from scanctl.engines.base import Check, CheckList, EngineInput, computable, plain, ranked

NAME = "midterm"  # §7.1: sub-engine name, strategy and stored engine column
SLOPE_FLOOR = 0.0  # §7.2 check 4 / §7.3 check 5: EMA60_SLOPE20_t > 0 (fixed)
# §7.2 score (fixed): the maxima of C1 … C5, which sum to 10.
C1_MAX, C2_MAX, C3_MAX, C4_MAX, C5_MAX = 3.0, 2.0, 2.0, 2.0, 1.0
COMPONENTS = ("C1", "C2", "C3", "C4", "C5")
# §7.2: the labels of score ≥ label_thresholds[0], [1], [2], and of any lower score.
LABELS = ("강한 매수", "매수 후보", "관심 종목")
LABEL_OTHER = "후보 종목"
MIN_HISTORY_BARS = 21  # §0.4: every §1 value a v3 rule reads is defined from 21 bars (R20)


class SubParams(Section):
    """What the two sub-engine sections share: numbers are stored as floats, and a window of
    ``lookback`` bars must hold the ``min_bars`` of history (§0.4)."""

    FLOAT_NUMBERS: ClassVar[bool] = True

    def validate(self) -> None:
        """min_bars ≤ lookback."""
        self.check_order("min_bars", "lookback")


@dataclass(frozen=True)
class MidtermParams(SubParams):
    """``[engines.v3.midterm]`` (ENGINES.md §9.5; rules of §7.2)."""

    SECTION: ClassVar[str] = "engines.v3.midterm"

    lookback: int = setting(220, "window length, ≥ min_bars (§9.5, §0.4)", ge=1)
    min_bars: int = setting(
        60, "fewer bars → insufficient_history (§9.5, §0.4)", ge=MIN_HISTORY_BARS
    )
    min_turnover_krw: float = setting(1e9, "least turnover20 in KRW (§9.5, §7.2 check 1)", ge=0)
    min_price: float = setting(2000.0, "least close c_t (§9.5, §7.2 check 2)", ge=0)
    rsi_min: float = setting(45.0, "least RSI14, inclusive (§9.5, §7.2 check 5)")
    rsi_max: float = setting(72.0, "largest RSI14, inclusive (§9.5, §7.2 check 5)")
    r20_min: float = setting(0.03, "least R20, inclusive; C5 lower end (§9.5, §7.2 check 6)")
    r20_max: float = setting(0.30, "largest R20, inclusive; C5 upper end (§9.5, §7.2 check 6)")
    max_close_to_ema20: float = setting(
        1.12, "largest c_t / EMA20_t, inclusive (§9.5, §7.2 check 7)", gt=0
    )
    align_full: float = setting(0.10, "EMA20/EMA60 − 1 at which C1 is full (§9.5, §7.2 C1)", gt=0)
    rsi_center: float = setting(60.0, "RSI14 at which C3 is full (§9.5, §7.2 C3)")
    rsi_width: float = setting(15.0, "RSI14 distance at which C3 is 0 (§9.5, §7.2 C3)", gt=0)
    vol_ratio_low: float = setting(0.8, "q = VMA5/VMA20 at which C4 starts (§9.5, §7.2 C4)")
    vol_ratio_high: float = setting(1.5, "q at which C4 is full (§9.5, §7.2 C4)")
    r20_sweet_low: float = setting(0.06, "C5 = 1 from this R20 … (§9.5, §7.2 C5)")
    r20_sweet_high: float = setting(0.15, "… to this one (§9.5, §7.2 C5)")
    label_thresholds: tuple[float, ...] = setting(
        (8.0, 7.0, 6.0), "least scores of the three labels, descending (§9.5, §7.2 score_label)"
    )
    top_n: int = setting(10, "most picks (§9.5, §7.2 selection)", ge=1)
    target_profit: float = setting(0.10, "guidance target_profit (§9.5, §7.2 guidance)", gt=0)
    stop_loss: float = setting(
        -0.07, "guidance stop_loss, negative (§9.5, §7.2 guidance, §8.3)", lt=0
    )
    holding_period: int = setting(
        15, "guidance holding period in sessions (§9.5, §7.2 guidance)", ge=1
    )

    def validate(self) -> None:
        """min_bars ≤ lookback; the ordered bands; three descending label thresholds."""
        super().validate()
        self.check_order("rsi_min", "rsi_max")
        self.check_order("vol_ratio_low", "vol_ratio_high", strict=True)
        # C5 divides by r20_sweet_low − r20_min and by r20_max − r20_sweet_high
        self.check_order("r20_min", "r20_sweet_low", strict=True)
        self.check_order("r20_sweet_low", "r20_sweet_high")
        self.check_order("r20_sweet_high", "r20_max", strict=True)
        thresholds = self.label_thresholds
        if len(thresholds) != len(LABELS) or any(
            a < b for a, b in zip(thresholds, thresholds[1:], strict=False)
        ):
            raise self.fail("label_thresholds", "3 numbers in descending order", list(thresholds))


def liquidity_price_checks(inp: EngineInput, params: SubParams) -> list[Check]:
    """§7.2 / §7.3 checks 1–2: turnover20 ≥ min_turnover_krw, c_t ≥ min_price."""
    turnover20 = inp.scalars.turnover20
    close = inp.window.close[-1]
    min_turnover, min_price = params.min_turnover_krw, params.min_price  # type: ignore[attr-defined]
    return [
        Check(
            "liquidity",
            turnover20 >= min_turnover,
            {"turnover20": turnover20},
            {"min_turnover_krw": min_turnover},
        ),
        Check("price", close >= min_price, {"close": close}, {"min_price": min_price}),
    ]


def midterm_checks(inp: EngineInput, params: MidtermParams) -> CheckList:
    """The seven checks of §7.2 in order, each a ``(N,)`` boolean array (NaN fails)."""
    close = inp.window.close[-1]
    ema20, ema60 = inp.indicators.EMA20[-1], inp.indicators.EMA60[-1]
    slope = inp.indicators.EMA60_SLOPE20[-1]
    rsi = inp.indicators.RSI14[-1]
    r20 = inp.scalars.R20
    return CheckList(
        [
            *liquidity_price_checks(inp, params),
            Check(
                "trend_alignment",
                (close > ema20) & (ema20 > ema60),
                {"close": close, "EMA20": ema20, "EMA60": ema60},
            ),
            Check(
                "trend_slope",
                slope > SLOPE_FLOOR,
                {"EMA60_SLOPE20": slope},
                {"EMA60_SLOPE20_above": SLOPE_FLOOR},
            ),
            Check(
                "rsi_band",
                (rsi >= params.rsi_min) & (rsi <= params.rsi_max),
                {"RSI14": rsi},
                {"rsi_min": params.rsi_min, "rsi_max": params.rsi_max},
            ),
            Check(
                "return_band",
                (r20 >= params.r20_min) & (r20 <= params.r20_max),
                {"R20": r20},
                {"r20_min": params.r20_min, "r20_max": params.r20_max},
            ),
            Check(
                "overextended",
                close <= params.max_close_to_ema20 * ema20,
                {"close": close, "EMA20": ema20},
                {"max_close_to_ema20": params.max_close_to_ema20},
            ),
        ]
    )


def percentile_ranks(values: np.ndarray, in_set: np.ndarray, outside: np.ndarray) -> tuple:
    """C2's pr of §7.2 for members of a set, and for outsiders as if each were added (§8.4).

    Parameters
    ----------
    values
        ``(N,)`` float64 (EMA60_SLOPE20_PCT).
    in_set
        ``(N,)`` bool: the evaluated set (size n).
    outside
        ``(N,)`` bool: tickers that get pr as if added to the set alone (size n + 1).

    Returns
    -------
    (pr, set_size)
        ``(N,)`` float64 pr = (L + 0.5·(Eq − 1)) / (size − 1), L = set values strictly smaller,
        Eq = set values equal, the ticker itself included; pr = 1 when size = 1. NaN for
        tickers in neither mask and for a NaN value (a NaN set value is never smaller or equal).
        ``(N,)`` int64 size used (n, n + 1, or 0).
    """
    reference = np.sort(values[in_set])  # NaN sorts last: never < or = a number
    n = reference.size
    smaller = np.searchsorted(reference, values, side="left")
    equal = np.searchsorted(reference, values, side="right") - smaller
    pr = np.full(values.shape, np.nan)
    if n > 1:
        pr[in_set] = (smaller[in_set] + 0.5 * (equal[in_set] - 1)) / (n - 1)
    elif n == 1:
        pr[in_set] = 1.0
    # an outsider adds itself: Eq + 1 equal values among n + 1
    pr[outside] = (smaller[outside] + 0.5 * equal[outside]) / n if n else 1.0
    pr[np.isnan(values)] = np.nan
    size = np.where(in_set, n, np.where(outside, n + 1, 0)).astype(np.int64)
    return pr, size


def score_components(
    inp: EngineInput, params: MidtermParams, pr: np.ndarray
) -> dict[str, np.ndarray]:
    """C1 … C5 of §7.2 for every ticker (meaningful where all checks pass), each ``(N,)``."""
    ema20, ema60 = inp.indicators.EMA20[-1], inp.indicators.EMA60[-1]
    rsi = inp.indicators.RSI14[-1]
    r20 = inp.scalars.R20
    with np.errstate(divide="ignore", invalid="ignore"):  # only non-computable columns
        q = inp.indicators.VOL_MA5[-1] / inp.indicators.VMA20[-1]
        alignment = ema20 / ema60 - 1.0
    vol_span = params.vol_ratio_high - params.vol_ratio_low
    c5 = np.where(
        r20 < params.r20_sweet_low,
        (r20 - params.r20_min) / (params.r20_sweet_low - params.r20_min),
        np.where(
            r20 > params.r20_sweet_high,
            (params.r20_max - r20) / (params.r20_max - params.r20_sweet_high),
            1.0,
        ),
    )
    return {
        "C1": C1_MAX * np.minimum(1.0, alignment / params.align_full),
        "C2": C2_MAX * pr,
        "C3": C3_MAX * np.maximum(0.0, 1.0 - np.abs(rsi - params.rsi_center) / params.rsi_width),
        "C4": C4_MAX * np.minimum(1.0, np.maximum(0.0, (q - params.vol_ratio_low) / vol_span)),
        "C5": C5_MAX * c5,
    }


def score_label(score: float, params: MidtermParams) -> str:
    """§7.2: ≥ 8 → 강한 매수, ≥ 7 → 매수 후보, ≥ 6 → 관심 종목, else 후보 종목."""
    for threshold, label in zip(params.label_thresholds, LABELS, strict=True):
        if score >= threshold:
            return label
    return LABEL_OTHER


@dataclass(frozen=True, eq=False)
class MidtermOutcome:
    """Every ``(N,)`` array of one midterm run, aligned with ``inp.codes``.

    ``computable``: bar on D and ≥ min_bars. ``evaluated``: computable members (the evaluated
    set). ``passes``: computable and every check passes (members or not). ``matched``:
    evaluated and passes. ``score``: C1 + … + C5 where ``passes``, else NaN. ``picked``: indices
    in rank order (rank = position + 1).
    """

    params: MidtermParams
    checks: CheckList
    computable: np.ndarray
    evaluated: np.ndarray
    passes: np.ndarray
    matched: np.ndarray
    components: dict[str, np.ndarray]
    percentile: np.ndarray
    set_size: np.ndarray
    score: np.ndarray
    picked: np.ndarray

    def label(self, index: int) -> str | None:
        """score_label, or None when the ticker has no score."""
        score = float(self.score[index])
        return None if math.isnan(score) else score_label(score, self.params)

    def flags(self, index: int) -> dict[str, Any]:
        """The midterm-specific flags of §8.3 (check booleans, C1 … C5, pr, set size)."""
        scored = bool(self.passes[index])
        return {
            "checks": {check.code: bool(check.passed[index]) for check in self.checks.checks},
            **{
                name: plain(self.components[name][index]) if scored else None for name in COMPONENTS
            },
            "slope_percentile": plain(self.percentile[index]),
            "evaluated_set_size": int(self.set_size[index]),
        }

    def details(self, index: int) -> dict[str, Any] | None:
        """The score breakdown {C1 … C5, pr} of §8.1, or None without a score."""
        if not self.passes[index]:
            return None
        return {
            **{name: plain(self.components[name][index]) for name in COMPONENTS},
            "pr": plain(self.percentile[index]),
        }

    def indicators(self, inp: EngineInput, index: int) -> dict[str, Any]:
        """The §8.2 keys of v3 midterm on bar t."""
        ind, sc = inp.indicators, inp.scalars
        return {
            "EMA20": plain(ind.EMA20[-1, index]),
            "EMA60": plain(ind.EMA60[-1, index]),
            "RSI14": plain(ind.RSI14[-1, index]),
            "VMA5": plain(ind.VOL_MA5[-1, index]),
            "VMA20": plain(ind.VMA20[-1, index]),
            "R20": plain(sc.R20[index]),
            "turnover20": plain(sc.turnover20[index]),
            "close": plain(inp.window.close[-1, index]),
        }


def evaluate_midterm(inp: EngineInput, params: MidtermParams) -> MidtermOutcome:
    """Run §7.2 on every ticker of ``inp``.

    Parameters
    ----------
    inp
        The run's input; its window's lookback is ``params.lookback`` (checked by the caller).
    params
        Effective ``[engines.v3.midterm]`` parameters.

    Returns
    -------
    MidtermOutcome
        Checks, masks, score components and the picks in rank order.
    """
    able = computable(inp, params.min_bars)
    evaluated = able & inp.universe.member
    checks = midterm_checks(inp, params)
    passes = checks.all_passed(able)
    matched = passes & evaluated
    pr, set_size = percentile_ranks(inp.scalars.EMA60_SLOPE20_PCT, evaluated, able & ~evaluated)
    components = score_components(inp, params, pr)
    total = components["C1"] + components["C2"] + components["C3"]
    total = total + components["C4"] + components["C5"]
    score = np.where(passes, total, np.nan)
    picked = ranked(score, inp, matched)[: params.top_n]
    return MidtermOutcome(
        params=params,
        checks=checks,
        computable=able,
        evaluated=evaluated,
        passes=passes,
        matched=matched,
        components=components,
        percentile=pr,
        set_size=set_size,
        score=score,
        picked=picked,
    )
