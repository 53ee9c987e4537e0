"""The `[scan]` keys that belong to the daily job rather than to the universe (ENGINES.md §9.1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from scanctl.errors import ConfigError
from scanctl.market.params import UniverseParams


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
    def from_mapping(cls, mapping: Mapping[str, Any]) -> ScanOptions:
        """The job's keys of `[scan]`; a key that is neither a job nor a universe key is refused."""
        own = {f.name for f in fields(cls)}
        universe = {f.name for f in fields(UniverseParams)}
        for key in mapping:
            if key not in own | universe:
                known = ", ".join(sorted(own | universe))
                raise ConfigError(f"[scan] unknown key {key!r}; known keys: {known}")
        return cls(**{key: value for key, value in mapping.items() if key in own})
