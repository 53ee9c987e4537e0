"""Stand-in engines for fault tests, put in place of a real one with `registry.substituted`:
one that always fails (a version's failure is recorded while the others are stored, PRODUCT.md
§5) and one that is slow (a run that holds the lock for a while)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from scanctl.engines import registry


@dataclasses.dataclass(frozen=True)
class FailingSpec(registry.EngineSpec):
    """The real engine's entry (its parameters are validated as usual) with a compute that
    raises."""

    @property
    def compute(self) -> Callable[[Any, Any], Any]:
        def fail(inp: Any, params: Any) -> Any:
            raise RuntimeError(f"injected failure in {self.name} on {inp.date.isoformat()}")

        return fail


@dataclasses.dataclass(frozen=True)
class SlowSpec(registry.EngineSpec):
    """The real engine, ``seconds`` slower."""

    seconds: float = 1.0

    @property
    def compute(self) -> Callable[[Any, Any], Any]:
        real = registry.EngineSpec.compute.fget(self)  # type: ignore[attr-defined]

        def slow(inp: Any, params: Any) -> Any:
            time.sleep(self.seconds)
            return real(inp, params)

        return slow


def _fields(version: str) -> dict[str, Any]:
    spec = registry.get(version)
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(registry.EngineSpec)}


def failing(version: str) -> FailingSpec:
    """A failing stand-in for the registered engine ``version``."""
    return FailingSpec(**_fields(version))


def slow(version: str, seconds: float) -> SlowSpec:
    """A stand-in for ``version`` that sleeps ``seconds`` before computing."""
    return SlowSpec(**_fields(version), seconds=seconds)
