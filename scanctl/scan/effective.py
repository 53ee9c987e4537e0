"""`config show`: the configuration as scanctl will use it, defaults included, secrets masked."""

from __future__ import annotations

import dataclasses
from typing import Any

from scanctl.config import Config
from scanctl.scan.options import ScanOptions
from scanctl.scan.prepare import RunParams


def effective_sections(config: Config) -> dict[str, dict[str, Any]]:
    """Every section with its effective values: validated parameters with their defaults for
    `[scan]`, `[market]` and `[engines.*]`, then the other sections as given (masked).

    Raises
    ------
    ConfigError
        Whatever the scan itself would refuse.
    """
    from scanctl.providers.settings import parse_data_settings

    params = RunParams.from_config(config)
    options = ScanOptions.from_mapping(config.section("scan"))
    v3 = params.v3.to_record()
    sections: dict[str, dict[str, Any]] = {
        "scan": {**params.universe.to_record(), **dataclasses.asdict(options)},
        "market": params.market.to_record(),
        "engines.v1": params.v1.to_record(),
        "engines.v2": params.v2.to_record(),
        "engines.v3": {"pullback_enabled": v3["pullback_enabled"]},
        "engines.v3.midterm": v3["midterm"],
        "engines.v3.pullback": v3["pullback"],
        "data": dataclasses.asdict(parse_data_settings(config)),
    }
    masked = config.masked()
    sections["data"] = {**sections["data"], **masked.get("data", {})}
    for name in ("store", "notify", "healthcheck"):
        if name in masked:
            sections[name] = masked[name]
    return {name: values for name, values in sections.items() if values}
