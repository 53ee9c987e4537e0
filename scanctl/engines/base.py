"""The contract every engine shares: its input, its result, checks with reason codes, ordering.

An engine is a pure function ``run(inp: EngineInput, params) -> EngineResult``. Everything it
reads is in `EngineInput` (built once per run and shared by every version); everything it
decides is in `EngineResult`: the ranked picks (`Pick`, ENGINES.md §8.1), a reason code for every
ticker (§8.5; None = picked), the per-ticker checks for explain records (§8.4) and the run
record parts (§8.6). Checks are `(N,)` boolean arrays in pipeline order; the first failing one
is a ticker's reason, so "why was X not picked" reads the same arrays the selection used.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scanctl.engines.indicators import Indicators
from scanctl.engines.scalars import Scalars
from scanctl.market.condition import MarketCondition
from scanctl.market.universe import Universe
from scanctl.market.window import Window
from scanctl.store.tickers import TickerMaster

NO_BAR_ON_DATE = "no_bar_on_date"
INSUFFICIENT_HISTORY = "insufficient_history"
NOT_IN_UNIVERSE = "not_in_universe"
REGIME_GATE = "regime_gate"
NOT_IN_TOP_K = "not_in_top_k"
MIN_HISTORY = 21  # ENGINES.md §0.4


@dataclass(frozen=True, eq=False)
class EngineInput:
    """What every engine of one run reads for scan date D (all arrays aligned with codes).

    Attributes
    ----------
    date
        The scan date D.
    window
        The right-aligned evaluation windows (ENGINES.md §0.4) for the engines' lookback.
    indicators, scalars
        ENGINES.md §1, computed once on ``window``.
    master
        Names, markets and security types aligned with ``window.codes``.
    universe
        The final universe (§2.4), aligned with ``window.codes``.
    condition
        The market condition of D (§3).
    """

    date: dt.date
    window: Window
    indicators: Indicators
    scalars: Scalars
    master: TickerMaster
    universe: Universe
    condition: MarketCondition

    @property
    def codes(self) -> np.ndarray:
        return self.window.codes

    @property
    def n_tickers(self) -> int:
        return len(self.window.codes)

    def last(self, series: np.ndarray) -> np.ndarray:
        """The value of a ``(L, N)`` series on bar t (the bar on D for evaluated tickers)."""
        return series[-1]


@dataclass(frozen=True, eq=False)
class Check:
    """One per-ticker check: its reason code, where it passes, and what it compared.

    ``values`` maps a name to a ``(N,)`` array (the measured quantities); ``thresholds`` maps a
    name to the scalar limit used (or a ``(N,)`` array when it varies by ticker).
    """

    code: str
    passed: np.ndarray
    values: Mapping[str, np.ndarray] = field(default_factory=dict)
    thresholds: Mapping[str, Any] = field(default_factory=dict)


class CheckList:
    """Checks in pipeline order; evaluation of a ticker stops at its first failure."""

    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = tuple(checks)

    def all_passed(self, mask: np.ndarray) -> np.ndarray:
        """``(N,)`` bool: ``mask`` and every check passes."""
        passed = mask.copy()
        for check in self.checks:
            passed &= check.passed
        return passed

    def first_failure(self, mask: np.ndarray) -> np.ndarray:
        """``(N,)`` object: the code of the first failing check where ``mask``, else None."""
        reasons = np.full(len(mask), None, dtype=object)
        open_ = mask.copy()
        for check in self.checks:
            failing = open_ & ~check.passed
            reasons[failing] = check.code
            open_ &= check.passed
        return reasons

    def explain(self, index: int) -> list[dict[str, Any]]:
        """The §8.4 ``checks`` list of one ticker: up to and including its first failure."""
        out = []
        for check in self.checks:
            passed = bool(check.passed[index])
            out.append(
                {
                    "code": check.code,
                    "passed": passed,
                    "values": {k: plain(v[index]) for k, v in check.values.items()},
                    "thresholds": {k: _threshold(v, index) for k, v in check.thresholds.items()},
                }
            )
            if not passed:
                break
        return out


@dataclass(frozen=True)
class Pick:
    """One pick of an engine: the ENGINES.md §8.1 record.

    ``engine`` is the version; ``sub_engine`` is ``midterm`` / ``v2_lite`` for v3, else None.
    ``rank`` is 1-based within (version, sub-engine). Values are plain Python (NaN → None,
    §0.5). ``indicators`` (§8.2), ``trend``, ``flags`` (§8.3) and ``details`` are plain JSON
    objects: the pick is frozen, but these dicts are shared, so treat them as read-only.
    """

    ticker: str
    name: str
    market: str
    engine: str
    sub_engine: str | None
    rank: int
    score: float | None
    score_label: str
    strategy: str
    close: int
    volume: int
    change_rate: float | None
    traded_value: float | None
    indicators: dict[str, Any]
    trend: dict[str, Any]
    flags: dict[str, Any]
    details: dict[str, Any]

    def to_record(self) -> dict[str, Any]:
        """The §8.1 record as a JSON-ready dict, keys in field order; a deep copy."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class SubResult:
    """One engine or sub-engine's outcome (v1, v2; v3 has `midterm` and `v2_lite`)."""

    name: str
    picks: tuple[Pick, ...]
    reasons: np.ndarray
    evaluated: np.ndarray
    matched: np.ndarray
    checks: CheckList
    diagnostic_reasons: np.ndarray
    explain_extra: Callable[[int], dict[str, Any]] | None = None


@dataclass(frozen=True, eq=False)
class EngineResult:
    """The outcome of one engine version for one scan date.

    Attributes
    ----------
    version
        ``v1``, ``v2`` or ``v3``.
    picks
        The picks (ENGINES.md §8.1), in storage order: by sub-engine, then rank.
    subs
        Per (sub-)engine reasons, checks and explain hooks.
    run_record
        The engine's part of the §8.6 run record (counts and version-specific blocks).
    params
        The effective parameters, plain JSON (§9).
    """

    version: str
    picks: tuple[Pick, ...]
    subs: tuple[SubResult, ...]
    run_record: dict[str, Any]
    params: dict[str, Any]

    @property
    def matched_count(self) -> int:
        """Number of picks (the legacy meaning used by notifications); v3 counts distinct codes."""
        return len({pick.ticker for pick in self.picks})


def pre_reasons(inp: EngineInput, min_bars: int = MIN_HISTORY) -> np.ndarray:
    """``(N,)`` object: the reasons that come before any check (§8.4 precedence), else None.

    ``no_bar_on_date``, then ``insufficient_history`` (fewer than ``min_bars`` bars), then
    ``not_in_universe``.
    """
    reasons = np.full(inp.n_tickers, None, dtype=object)
    reasons[~inp.universe.member] = NOT_IN_UNIVERSE
    reasons[inp.window.n_bars < min_bars] = INSUFFICIENT_HISTORY
    reasons[~inp.window.bar_on_date] = NO_BAR_ON_DATE
    return reasons


def computable(inp: EngineInput, min_bars: int = MIN_HISTORY) -> np.ndarray:
    """``(N,)`` bool: a bar on D and enough history, so the checks can run (in universe or not)."""
    return inp.window.bar_on_date & (inp.window.n_bars >= min_bars)


def ranked(score: np.ndarray, inp: EngineInput, mask: np.ndarray, ascending=False) -> np.ndarray:
    """Indices where ``mask``, by score (desc, or asc), then traded value desc, then code asc.

    NaN scores sort last. This is the ordering of ENGINES.md §0.5 and D-7.
    """
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return idx
    key_score = score[idx] if ascending else -score[idx]
    key_score = np.where(np.isnan(key_score), np.inf, key_score)
    value = inp.universe.traded_value[idx]
    key_value = np.where(np.isnan(value), np.inf, -value)
    order = np.lexsort((inp.codes[idx], key_value, key_score))
    return idx[order]


def plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars to Python, NaN/inf to None (ENGINES.md §0.5)."""
    if isinstance(value, np.ndarray):
        return [plain(item) for item in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _threshold(value: Any, index: int) -> Any:
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return plain(value[index])
    return plain(value)
