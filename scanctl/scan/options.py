"""The `[scan]` keys that belong to the daily job rather than to the universe (ENGINES.md §9.1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from scanctl.config import Origin, Section, setting
from scanctl.market.params import UniverseParams


@dataclass(frozen=True)
class ScanOptions(Section):
    """How the daily job decides whether to run (PRODUCT.md §5, §7).

    `[scan]` also holds the universe keys (`UniverseParams`); each class reads its own.
    """

    SECTION: ClassVar[str] = "scan"

    close_margin_minutes: int = setting(
        10, "minutes after the close before today's scan may run (PRODUCT.md §5)", ge=0, le=600
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
