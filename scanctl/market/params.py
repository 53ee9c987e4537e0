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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from scanctl.config import Origin, Section, setting

# ENGINES.md §0.3: the values of `tickers.security_type` (null = unknown).
SECURITY_TYPES = ("stock", "preferred", "etf", "etn", "spac", "reit", "fund", "other")


@dataclass(frozen=True)
class UniverseParams(Section):
    """`[scan]` universe parameters (ENGINES.md §9.1, rules of §2)."""

    SECTION: ClassVar[str] = "scan"

    kospi_limit: int = setting(
        100, "top-N KOSPI by traded value on D; 0 = whole market (§9.1, §2.2)", ge=0
    )
    kosdaq_limit: int = setting(
        100, "top-N KOSDAQ by traded value on D; 0 = whole market (§9.1, §2.2)", ge=0
    )
    include_security_types: tuple[str, ...] = setting(
        ("stock", "preferred"),
        "eligible security types (§9.1, §2.1 rule 3)",
        choices=SECURITY_TYPES,
    )
    include_unknown_security_type: bool = setting(
        True, "a null security type is eligible (§9.1, §2.1 rule 3)"
    )
    exclude_managed: bool = setting(True, "exclude managed tickers (§9.1, §2.1 rule 4)")
    exclude_halted: bool = setting(True, "exclude halted tickers (§9.1, §2.1 rule 5)")
    divergence_resize: bool = setting(True, "apply the §2.4 resize (§9.1)")


@dataclass(frozen=True)
class MarketParams(Section):
    """`[market]` market-condition parameters (ENGINES.md §9.2, rules of §3)."""

    SECTION: ClassVar[str] = "market"

    enable: bool = setting(True, "false → status disabled (§9.2, §3.9)")
    kospi_index: str = setting("KOSPI", "index code, first choice for P (§9.2, §3.1)")
    kospi_etf: str = setting(
        "069500", "ETF code: P fallback (KODEX 200) and the E reference (§9.2, §3.1)"
    )
    kosdaq_index: str = setting("KOSDAQ", "index code, first choice for Q (§9.2, §3.1)")
    kosdaq_etf: str = setting("229200", "ETF code: Q fallback (KODEX KOSDAQ150) (§9.2, §3.1)")
    us_spy: str = setting("SPY", "index code of the optional US S&P 500 series (§9.2)")
    us_qqq: str = setting("QQQ", "index code of the optional US Nasdaq-100 series (§9.2)")
    us_vix: str = setting("VIX", "index code of the optional US VIX series (§9.2)")
    us_max_staleness_days: int = setting(
        7, "US series older than this many days are absent (§9.2, §3.1)", ge=0
    )
    midterm_hysteresis_sessions: int = setting(
        60, "depth of the §3.4 recursion in sessions (§9.2)", ge=0
    )

    def validate(self) -> None:
        """ETF codes have the shape of a ticker code: 6 ASCII letters or digits."""
        for name in ("kospi_etf", "kosdaq_etf"):
            value = getattr(self, name)
            if not (len(value) == 6 and value.isascii() and value.isalnum()):
                raise self.fail(name, "a 6-character ticker code such as '069500'", value)


@dataclass(frozen=True)
class ScanOptions(Section):
    """How the daily job decides whether to run (PRODUCT.md §5, §7).

    `[scan]` also holds the universe keys (`UniverseParams`); each class reads its own.
    """

    SECTION: ClassVar[str] = "scan"

    close_margin_minutes: int = setting(
        10, "minutes after the close before today's scan may run (PRODUCT.md §5)", ge=0, le=600
    )
    max_wait_minutes: int = setting(
        90,
        "a run started before the close plus the margin waits this long at most for it "
        "(late-close days such as the CSAT close at 16:30); 0 = never wait (PRODUCT.md §5)",
        ge=0,
        le=600,
    )
    catch_up_sessions: int = setting(
        5,
        "scan --catch-up first heals this many completed sessions before the scan date: "
        "missing bars are synced (with --sync), missing results scanned (PRODUCT.md §5)",
        ge=0,
        le=60,
    )
    data_gate_threshold: float = setting(
        0.95,
        "share of the previous session's tickers needing a bar on D (PRODUCT.md §5)",
        gt=0,
        le=1,
    )

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any] | None = None, origin: Origin | None = None
    ) -> Self:
        """The job's keys of `[scan]`; a key that is neither a job nor a universe key is refused."""
        mapping = mapping or {}
        own, universe = cls.keys(), UniverseParams.keys()
        cls.check_keys(mapping, origin, known=sorted((*own, *universe)))
        return super().from_mapping({k: v for k, v in mapping.items() if k in own}, origin)
