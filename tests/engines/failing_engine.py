"""An engine that always fails, put in place of a real one with `registry.substituted` to test
that one version's failure is recorded while the others are stored (PRODUCT.md §5)."""

from __future__ import annotations

import dataclasses
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


def failing(version: str) -> FailingSpec:
    """A failing stand-in for the registered engine ``version``."""
    return FailingSpec(
        **{
            f.name: getattr(registry.get(version), f.name)
            for f in dataclasses.fields(registry.EngineSpec)
        }
    )
