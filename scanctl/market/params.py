"""Frozen parameters of the universe (ENGINES.md §9.1, `[scan]`) and of the market condition
(ENGINES.md §9.2, `[market]`).

Every default cites the spec. Values are checked once, when built: a bad value raises
`ConfigError` (exit 2) naming the section, the key and the value received. `from_mapping` builds
one from a TOML table and rejects unknown keys.

Resolved ambiguities:

* ``from_mapping`` accepts exactly the keys of §9.1 / §9.2. The `[scan]` table of PRODUCT.md §7
  also holds keys that are not universe parameters (close margin, data-gate threshold): the
  config loader must pass only the §9.1 keys to `UniverseParams.from_mapping`.
* Integers must be real integers (a bool, a float or a string is rejected, even ``100.0``).
* ``include_security_types`` accepts any sequence of strings (a TOML array arrives as a list) and
  is stored as a tuple in the order given; each entry must be one of the master's security types
  (ENGINES.md §0.3). An empty list is allowed: then only unknown types can be eligible.
* Index codes must be non-empty strings. ETF codes must be 6 ASCII letters or digits, the shape
  of a ticker code (a longer code could never match the panel's ``<U6`` codes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from scanctl.config import SectionParams
from scanctl.errors import ConfigError

# ENGINES.md §0.3: the values of `tickers.security_type` (null = unknown).
SECURITY_TYPES = ("stock", "preferred", "etf", "etn", "spac", "reit", "fund", "other")


class _Section(SectionParams):
    """Shared recording and validation of the parameter dataclasses."""

    def to_record(self) -> dict[str, Any]:
        """The effective values as plain JSON types (ENGINES.md §8.6 `params`)."""
        record = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in record.items()
        }

    def _fail(self, name: str, expected: str, value: object) -> ConfigError:
        return ConfigError(f"[{self.SECTION}] {name} must be {expected}, got {value!r}")

    def _check_count(self, name: str) -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(name, "an integer ≥ 0", value)

    def _check_flag(self, name: str) -> None:
        value = getattr(self, name)
        if not isinstance(value, bool):
            raise self._fail(name, "true or false", value)

    def _check_index_code(self, name: str) -> None:
        value = getattr(self, name)
        if not isinstance(value, str) or not value.strip():
            raise self._fail(name, "a non-empty index code", value)

    def _check_ticker_code(self, name: str) -> None:
        value = getattr(self, name)
        if not (isinstance(value, str) and len(value) == 6 and value.isascii() and value.isalnum()):
            raise self._fail(name, "a 6-character ticker code such as '069500'", value)


@dataclass(frozen=True)
class UniverseParams(_Section):
    """`[scan]` universe parameters (ENGINES.md §9.1, rules of §2)."""

    SECTION: ClassVar[str] = "scan"

    kospi_limit: int = 100  # §9.1: top-N KOSPI by traded value on D; 0 = whole market (§2.2)
    kosdaq_limit: int = 100  # §9.1: same for KOSDAQ
    include_security_types: tuple[str, ...] = ("stock", "preferred")  # §9.1, §2.1 rule 3
    include_unknown_security_type: bool = True  # §9.1: a null security type is eligible
    exclude_managed: bool = True  # §9.1, §2.1 rule 4
    exclude_halted: bool = True  # §9.1, §2.1 rule 5
    divergence_resize: bool = True  # §9.1: apply the §2.4 resize

    def __post_init__(self) -> None:
        self._check_count("kospi_limit")
        self._check_count("kosdaq_limit")
        types = self.include_security_types
        if isinstance(types, str | bytes) or not isinstance(types, Sequence):
            raise self._fail("include_security_types", "a list of security types", types)
        for entry in types:
            if entry not in SECURITY_TYPES:
                raise self._fail(
                    "include_security_types",
                    f"a list drawn from {', '.join(SECURITY_TYPES)}; {entry!r} is not one",
                    list(types),
                )
        object.__setattr__(self, "include_security_types", tuple(types))
        for name in (
            "include_unknown_security_type",
            "exclude_managed",
            "exclude_halted",
            "divergence_resize",
        ):
            self._check_flag(name)


@dataclass(frozen=True)
class MarketParams(_Section):
    """`[market]` market-condition parameters (ENGINES.md §9.2, rules of §3)."""

    SECTION: ClassVar[str] = "market"

    enable: bool = True  # §9.2: false → status `disabled` (§3.9)
    kospi_index: str = "KOSPI"  # §9.2, §3.1: first choice for P
    kospi_etf: str = "069500"  # §9.2, §3.1: P fallback (KODEX 200) and the E reference
    kosdaq_index: str = "KOSDAQ"  # §9.2, §3.1: first choice for Q
    kosdaq_etf: str = "229200"  # §9.2, §3.1: Q fallback (KODEX KOSDAQ150)
    us_spy: str = "SPY"  # §9.2: index code of the optional US series
    us_qqq: str = "QQQ"  # §9.2
    us_vix: str = "VIX"  # §9.2
    us_max_staleness_days: int = 7  # §9.2, §3.1: older US series are absent
    midterm_hysteresis_sessions: int = 60  # §9.2, §3.4: depth of the recursion

    def __post_init__(self) -> None:
        self._check_flag("enable")
        for name in ("kospi_index", "kosdaq_index", "us_spy", "us_qqq", "us_vix"):
            self._check_index_code(name)
        self._check_ticker_code("kospi_etf")
        self._check_ticker_code("kosdaq_etf")
        self._check_count("us_max_staleness_days")
        self._check_count("midterm_hysteresis_sessions")


@dataclass(frozen=True)
class ScanOptions:
    """How the daily job decides whether to run (PRODUCT.md §5, §7).

    Attributes
    ----------
    close_margin_minutes
        Minutes after the session's close before today's scan may run (default 10).
    data_gate_threshold
        Bars on the scan date needed, as a fraction of the tickers with bars on the previous
        session (default 0.95).
    """

    close_margin_minutes: int = 10
    data_gate_threshold: float = 0.95

    def __post_init__(self) -> None:
        margin = self.close_margin_minutes
        if isinstance(margin, bool) or not isinstance(margin, int) or not 0 <= margin <= 600:
            raise ConfigError(f"[scan] close_margin_minutes must be 0 … 600, got {margin!r}")
        gate = self.data_gate_threshold
        if isinstance(gate, bool) or not isinstance(gate, int | float) or not 0 < gate <= 1:
            raise ConfigError(f"[scan] data_gate_threshold must be in (0, 1], got {gate!r}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], origin: Any = None) -> ScanOptions:
        """The job's keys of `[scan]`; a key that is neither a job nor a universe key is refused."""
        own = {f.name for f in dataclasses.fields(cls)}
        universe = {f.name for f in dataclasses.fields(UniverseParams)}
        for key in mapping:
            if key not in own | universe:
                known = ", ".join(sorted(own | universe))
                raise ConfigError(f"[scan] unknown key {key!r}; known keys: {known}")
        return cls(**{key: value for key, value in mapping.items() if key in own})
