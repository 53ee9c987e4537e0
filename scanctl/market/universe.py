"""The scan universe of ENGINES.md §2: eligibility on D, per-market ranking, limits, resize.

`build_universe` is a pure function of one evaluation window, the ticker master and the
`[scan]` parameters. It is called twice per scan date (ENGINES.md §0.2): once with the configured
limits (the *base* universe, read by the market condition for breadth and volume trend) and once
with the limits of `resize_limits` (the *final* universe, the engines' input).

Resolved ambiguities:

* ``why`` records the first failed §2.1 rule in table order (a ticker without a bar on D is
  ``no_bar_on_date`` whatever its market), then ``rank`` for eligible tickers beyond the limit.
* ``market_rank`` is the 1-based rank among the eligible tickers of the same market, kept for
  eligible tickers beyond the limit too (``inspect`` shows how far out they were); 0 when not
  eligible.
* ``traded_value`` is the `value` of the bar on D for every ticker that has one (eligible or
  not), NaN otherwise.
* ``unknown_security_types`` counts the tickers that reach rule 3 (a bar on D, market KOSPI or
  KOSDAQ) with a null security type, whatever `include_unknown_security_type` says, so it is the
  same in the base and the final universe; the record also gives how many members have a null
  type (``unknown_security_type_members``).
* Limit overrides passed to `build_universe` are validated like the configured limits (integer
  ≥ 0, else `ConfigError`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scanctl.errors import ConfigError

if TYPE_CHECKING:
    from scanctl.market.condition import MarketCondition
    from scanctl.market.params import UniverseParams
    from scanctl.market.window import Window
    from scanctl.store.tickers import TickerMaster

MARKETS = ("KOSPI", "KOSDAQ")  # §2.1 rule 2

WHY_NO_BAR = "no_bar_on_date"
WHY_MARKET = "market"
WHY_SECURITY_TYPE = "security_type"
WHY_MANAGED = "managed"
WHY_HALTED = "halted"
WHY_RANK = "rank"

# §2.4: the divergence resize factors (KOSPI, KOSDAQ) by divergence_type.
RESIZE_FACTORS = {
    "kospi_up_kosdaq_down": (1.5, 0.5),
    "kospi_down_kosdaq_up": (0.5, 1.5),
}


@dataclass(frozen=True, eq=False)
class Universe:
    """The universe of one scan date; every array is ``(N,)`` and aligned with ``codes``.

    Attributes
    ----------
    date
        The scan date D.
    codes, markets
        The window's codes and the master's market of each (None for a code absent from it).
    eligible
        bool: passes every §2.1 rule.
    why
        object: None for members, else the first failed §2.1 rule or ``rank`` (beyond the limit).
    market_rank
        int64: 1-based rank by traded value on D within the market (ties: code ascending) for
        eligible tickers; 0 otherwise.
    traded_value
        float64: `value` of the bar on D; NaN without a bar on D.
    member
        bool: eligible and within its market's limit.
    kospi_limit, kosdaq_limit
        The limits used (0 = the whole eligible market).
    unknown_security_types
        Tickers with a bar on D in KOSPI/KOSDAQ whose security type is null.
    unknown_security_member
        bool: members with a null security type.
    """

    date: dt.date
    codes: np.ndarray
    markets: np.ndarray
    eligible: np.ndarray
    why: np.ndarray
    market_rank: np.ndarray
    traded_value: np.ndarray
    member: np.ndarray
    kospi_limit: int
    kosdaq_limit: int
    unknown_security_types: int
    unknown_security_member: np.ndarray

    @property
    def size(self) -> int:
        """Number of members."""
        return int(self.member.sum())

    def take(self, columns: np.ndarray) -> Universe:
        """The universe of the tickers at ``columns`` only (an engine's evaluated set); the
        limits and the unknown-type count stay those of the whole market."""
        arrays = {
            f.name: getattr(self, f.name)[columns]
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }
        return dataclasses.replace(self, **arrays)

    def member_indices(self) -> np.ndarray:
        """Column indices of the members, ordered by the tie-break of ENGINES.md §0.5."""
        members = np.flatnonzero(self.member)
        return members[tie_break_order(self.traded_value[members], self.codes[members])]

    def member_codes(self) -> list[str]:
        """Member codes in tie-break order."""
        return [str(code) for code in self.codes[self.member_indices()]]

    def counts(self) -> dict[str, int]:
        """Members per market."""
        return {market: int((self.member & (self.markets == market)).sum()) for market in MARKETS}

    def eligible_counts(self) -> dict[str, int]:
        """Eligible tickers per market (members plus those beyond the limit)."""
        return {market: int((self.eligible & (self.markets == market)).sum()) for market in MARKETS}

    def ticker_record(self, index: int) -> dict[str, Any]:
        """The `universe` field of an explain record (ENGINES.md §8.4) for column ``index``."""
        value = float(self.traded_value[index])
        return {
            "in_universe": bool(self.member[index]),
            "why": self.why[index],
            "market_rank": int(self.market_rank[index]) or None,
            "traded_value": None if math.isnan(value) else value,
        }

    def to_record(self, base: Universe | None = None) -> dict[str, Any]:
        """The `universe` object of the run record (ENGINES.md §8.6), plain JSON types.

        Parameters
        ----------
        base
            The base universe when ``self`` is the final (resized) one; None when both are the
            same universe (no resize).
        """
        base = self if base is None else base
        members = self.member_indices()
        return {
            "limits": {"kospi": self.kospi_limit, "kosdaq": self.kosdaq_limit},
            "base_limits": {"kospi": base.kospi_limit, "kosdaq": base.kosdaq_limit},
            "resized": (base.kospi_limit, base.kosdaq_limit)
            != (self.kospi_limit, self.kosdaq_limit),
            "base_size": base.size,
            "final_size": self.size,
            "sizes": self.counts(),
            "eligible": self.eligible_counts(),
            "unknown_security_types": self.unknown_security_types,
            "unknown_security_type_members": int(self.unknown_security_member.sum()),
            "members": [
                {
                    "code": str(self.codes[i]),
                    "market": self.markets[i],
                    "market_rank": int(self.market_rank[i]),
                    "traded_value": float(self.traded_value[i]),
                }
                for i in members
            ],
        }


def tie_break_order(traded_values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Order of ENGINES.md §0.5: higher traded value first, then code ascending (NaN last).

    Parameters
    ----------
    traded_values
        ``(K,)`` float64.
    codes
        ``(K,)`` str codes.

    Returns
    -------
    np.ndarray
        ``(K,)`` int positions into the inputs.
    """
    return np.lexsort((codes, -np.asarray(traded_values, dtype=np.float64)))


def build_universe(
    window: Window,
    master: TickerMaster,
    params: UniverseParams,
    kospi_limit: int | None = None,
    kosdaq_limit: int | None = None,
) -> Universe:
    """Apply §2.1 eligibility and the §2.2 per-market ranking and limits.

    Parameters
    ----------
    window
        The evaluation window of D (only its last row and ``bar_on_date`` are read).
    master
        The ticker master aligned with ``window.codes``.
    params
        `[scan]` parameters; their limits are used unless overridden.
    kospi_limit, kosdaq_limit
        Override the configured limits (the §2.4 resize); 0 = the whole eligible market.

    Returns
    -------
    Universe

    Raises
    ------
    ConfigError
        A limit override that is not an integer ≥ 0.
    ValueError
        ``master`` is not aligned with ``window.codes``.
    """
    codes = np.asarray(window.codes)
    if len(master.codes) != len(codes) or not np.array_equal(master.codes, codes):
        raise ValueError("ticker master is not aligned with the window codes")
    limits = {
        "KOSPI": _limit("kospi_limit", params.kospi_limit if kospi_limit is None else kospi_limit),
        "KOSDAQ": _limit(
            "kosdaq_limit", params.kosdaq_limit if kosdaq_limit is None else kosdaq_limit
        ),
    }
    n = len(codes)
    markets = master.markets
    types = master.security_types
    has_bar = np.asarray(window.bar_on_date, dtype=bool)
    in_market = _any_equal(markets, MARKETS)  # None / KONEX → False
    unknown_type = np.equal(types, None)
    type_ok = _any_equal(types, params.include_security_types)
    if params.include_unknown_security_type:
        type_ok |= unknown_type
    managed_ok = ~master.managed if params.exclude_managed else np.ones(n, dtype=bool)
    halted_ok = ~master.halted if params.exclude_halted else np.ones(n, dtype=bool)

    why = np.full(n, None, dtype=object)
    # Assign in reverse rule order so that the first failed rule wins.
    for ok, code in (
        (halted_ok, WHY_HALTED),
        (managed_ok, WHY_MANAGED),
        (type_ok, WHY_SECURITY_TYPE),
        (in_market, WHY_MARKET),
        (has_bar, WHY_NO_BAR),
    ):
        why[~ok] = code
    eligible = has_bar & in_market & type_ok & managed_ok & halted_ok

    traded_value = np.where(has_bar, window.value[-1], np.nan)
    market_rank = np.zeros(n, dtype=np.int64)
    member = np.zeros(n, dtype=bool)
    for market in MARKETS:
        candidates = np.flatnonzero(eligible & (markets == market))
        ranked = candidates[tie_break_order(traded_value[candidates], codes[candidates])]
        market_rank[ranked] = np.arange(1, len(ranked) + 1)
        limit = limits[market]
        member[ranked if limit == 0 else ranked[:limit]] = True
    why[eligible & ~member] = WHY_RANK

    return Universe(
        date=window.date,
        codes=codes,
        markets=markets,
        eligible=eligible,
        why=why,
        market_rank=market_rank,
        traded_value=traded_value,
        member=member,
        kospi_limit=limits["KOSPI"],
        kosdaq_limit=limits["KOSDAQ"],
        unknown_security_types=int((has_bar & in_market & unknown_type).sum()),
        unknown_security_member=member & unknown_type,
    )


def resize_limits(params: UniverseParams, condition: MarketCondition) -> tuple[int, int]:
    """The final-universe limits (kospi, kosdaq) of ENGINES.md §2.4.

    The configured limits are resized only when the condition has status ``ok``, reports a
    market divergence and `divergence_resize` is on: max(1, floor(f·limit)) with f = 1.5 / 0.5
    by `divergence_type`; a limit of 0 (no limit) stays 0. Otherwise the configured limits.
    """
    return limits_after_resize(
        params, condition.status, condition.market_divergence, condition.divergence_type
    )


def limits_after_resize(
    params: UniverseParams,
    status: str | None,
    market_divergence: bool | None,
    divergence_type: str | None,
) -> tuple[int, int]:
    """`resize_limits` from the condition's three fields (as a stored run record keeps them:
    ``status``, ``divergence.market_divergence``, ``divergence.divergence_type``)."""
    kospi, kosdaq = params.kospi_limit, params.kosdaq_limit
    factors = RESIZE_FACTORS.get(divergence_type or "")
    if not (
        params.divergence_resize
        and status == "ok"
        and market_divergence is True
        and factors is not None
    ):
        return kospi, kosdaq
    return _resized(kospi, factors[0]), _resized(kosdaq, factors[1])


def _resized(limit: int, factor: float) -> int:
    return 0 if limit == 0 else max(1, math.floor(factor * limit))


def _any_equal(labels: np.ndarray, choices: tuple[str, ...]) -> np.ndarray:
    """``(N,)`` bool: the object-array label is one of ``choices`` (None never is)."""
    out = np.zeros(len(labels), dtype=bool)
    for choice in choices:
        out |= np.equal(labels, choice)
    return out


def _limit(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ConfigError(f"{name} must be an integer ≥ 0, got {value!r}")
    return int(value)
