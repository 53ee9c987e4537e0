"""The run record of ENGINES.md §8.6 for one (date, version): what `scan_runs` stores of it and
the one object `runs --json`, `inspect` and `report` show.

A run row keeps the record in three columns: ``market_condition`` (§3.8, the same object for
every version of a date), ``params`` (the `[scan]` and `[market]` parameters and the engine's
effective ones: v1 with every fallback step resolved, v2 with the values the market condition
set) and ``record`` (the final universe — limits after the resize, base and final sizes, unknown
security types, members with market_rank and traded_value — the counts and the version's own
block: v1 target band, chosen step and matched per step; v2 gate, regime row, caps, qualified
and kept per horizon; v3 routing and per sub-engine counts). The engines return the counts
and their block (`EngineResult.run_record`) and their effective parameters
(`EngineResult.params`); the universe comes from the inputs shared by the versions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from typing import Any

from scanctl.engines.base import EngineResult, plain
from scanctl.engines.params import RunParams

PARTS = ("market_condition", "params", "record")
"""The `scan_runs` columns that hold the run record."""


def stored_params(
    params: RunParams, version: str, effective: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The ``params`` column: universe and market parameters, and the engine's effective
    parameters (``effective``, from the engine's result) or its configured ones when it
    failed before returning any."""
    record = params.record(version)
    if effective is not None:
        record[version] = dict(effective)
    return plain(record)


def stored_record(universe: Mapping[str, Any], result: EngineResult) -> dict[str, Any]:
    """The ``record`` column of a version that ran: the final universe (`Universe.to_record`),
    the counts and the version's block."""
    return plain({"universe": dict(universe), **result.run_record})


def full_record(
    market_condition: Mapping[str, Any] | None,
    params: Mapping[str, Any] | None,
    record: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """The §8.6 object from its three stored parts; None when a run stored none of them (a
    skipped run). A run stored before the record existed (schema < 5) or a failed version has
    only the market condition and the parameters."""
    if market_condition is None and params is None and record is None:
        return None
    return {"market_condition": market_condition, "params": params, **(record or {})}


def pop_record(row: MutableMapping[str, Any]) -> dict[str, Any] | None:
    """Remove the three stored parts (JSON text or None) from a `scan_runs` row and return the
    §8.6 object they make (`full_record`)."""
    parts = [row.pop(column) for column in PARTS]
    return full_record(*(json.loads(part) if part else None for part in parts))
