"""The effective parameters of a run: the universe, the market condition and every registered
engine's parameters (ENGINES.md §9), built once from the configuration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from scanctl.engines import registry
from scanctl.market.params import MarketParams, UniverseParams

if TYPE_CHECKING:
    from scanctl.config import Config


@dataclass(frozen=True)
class RunParams:
    """The effective parameters of a run: the universe, the market condition, and every
    registered engine's parameters (ENGINES.md §9)."""

    universe: UniverseParams
    market: MarketParams
    engines: Mapping[str, Any]

    @classmethod
    def from_config(cls, config: Config) -> RunParams:
        """Defaults overridden by the config's `[scan]` (§9.1 keys only), `[market]` and every
        registered engine's sections.

        Raises
        ------
        ConfigError
            An unknown key or an invalid value, naming the section, the key and its source.
        """
        universe_keys = {field.name for field in fields(UniverseParams)}
        scan = {k: v for k, v in config.section("scan").items() if k in universe_keys}
        return cls(
            universe=UniverseParams.from_mapping(scan, config.origin("scan")),
            market=MarketParams.from_config(config),
            engines=MappingProxyType(
                {name: spec.params_from(config) for name, spec in registry.engines().items()}
            ),
        )

    def of(self, version: str) -> Any:
        """The parameters of engine ``version``."""
        return self.engines[version]

    def lookback(self, version: str) -> int:
        return self.engines[version].lookback

    def max_lookback(self, versions: Iterable[str]) -> int:
        """The longest window any of ``versions`` reads."""
        return max(self.lookback(version) for version in versions)

    def with_limits(self, kospi_limit: int | None, kosdaq_limit: int | None) -> RunParams:
        """A copy whose universe limits are replaced where given (the --kospi-limit flags)."""
        record = self.universe.to_record()
        if kospi_limit is not None:
            record["kospi_limit"] = kospi_limit
        if kosdaq_limit is not None:
            record["kosdaq_limit"] = kosdaq_limit
        return RunParams(UniverseParams.from_mapping(record), self.market, self.engines)

    def record(self, version: str) -> dict[str, Any]:
        """What a `scan_runs` row stores as the parameters of ``version`` (§8.6)."""
        return {
            "universe": self.universe.to_record(),
            "market": self.market.to_record(),
            version: self.engines[version].to_record(),
        }
