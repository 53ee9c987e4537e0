"""The engine registry: every engine version is declared once, here.

An entry names the version, says in one line what it does, lists the strategy labels its picks
carry, and points at the module that holds its compute function and its parameter class. The
module is imported on first use, so resolving ``--version`` (and ``scanctl --help``) never
loads numpy. Adding an engine is one module plus one `register` call.

`parse_versions` and `resolve_versions` are the one place where ``v2,v3``, ``all`` and the
``active_engine`` fallback become a tuple of registered versions; the CLI calls them before any
lock, healthcheck ping or write.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scanctl.errors import BadInput

if TYPE_CHECKING:
    from scanctl.config import Config
    from scanctl.engines.base import EngineInput, EngineResult

ALL = "all"


@dataclass(frozen=True)
class EngineSpec:
    """One registered engine.

    Attributes
    ----------
    name
        The version users type (``v2``) and the `scan_rank.scanner_version` it stores.
    description
        One line in plain words, for help texts and the README (no internal terms).
    module
        Import path of the module with ``compute(inp, params) -> EngineResult`` and ``Params``
        (a `scanctl.config.Section` whose ``lookback`` is the window the engine reads).
    labels
        The strategy labels of its picks.
    sections
        The configuration sections its parameters read (``engines.<name>`` and sub-tables).
    """

    name: str
    description: str
    module: str
    labels: tuple[str, ...]
    sections: tuple[str, ...]

    def _load(self) -> Any:
        return importlib.import_module(self.module)

    @property
    def params_class(self) -> type:
        return self._load().Params

    @property
    def compute(self) -> Callable[[EngineInput, Any], EngineResult]:
        return self._load().compute

    def default_params(self) -> Any:
        return self.params_class()

    def params_from(self, config: Config) -> Any:
        """The engine's effective parameters: its sections of ``config`` over the defaults.

        Raises
        ------
        ConfigError
            An unknown key or a bad value, naming the section, the key and its source.
        """
        return self.params_class.from_config(config)


_ENGINES: dict[str, EngineSpec] = {}


def register(spec: EngineSpec) -> EngineSpec:
    """Add an engine (its name must be new and not ``all``)."""
    if spec.name in _ENGINES or spec.name == ALL or "," in spec.name:
        raise ValueError(f"engine name {spec.name!r} is taken or reserved")
    _ENGINES[spec.name] = spec
    return spec


@contextmanager
def registered(spec: EngineSpec) -> Iterator[EngineSpec]:
    """`register` for the duration of a block (tests register toy engines this way)."""
    register(spec)
    try:
        yield spec
    finally:
        del _ENGINES[spec.name]


@contextmanager
def substituted(spec: EngineSpec) -> Iterator[EngineSpec]:
    """Replace the registered engine of the same name for the duration of a block (tests put a
    failing or slow engine in place of a real one this way)."""
    original = get(spec.name)
    _ENGINES[spec.name] = spec
    try:
        yield spec
    finally:
        _ENGINES[spec.name] = original


def engines() -> Mapping[str, EngineSpec]:
    """Every registered engine, in registration order."""
    return dict(_ENGINES)


def names() -> tuple[str, ...]:
    """The registered versions, in registration order (the order versions run and show in)."""
    return tuple(_ENGINES)


def get(name: str) -> EngineSpec:
    """The engine called ``name``.

    Raises
    ------
    BadInput
        When no engine has that name.
    """
    try:
        return _ENGINES[name]
    except KeyError:
        raise BadInput(f"unknown version {name!r}; choose from {', '.join(_ENGINES)}") from None


def engine_sections() -> tuple[str, ...]:
    """The configuration sections of every registered engine."""
    return tuple(section for spec in _ENGINES.values() for section in spec.sections)


def parse_versions(text: str, *, allow_all: bool = False) -> tuple[str, ...]:
    """A comma list of versions (``v2,v3``) in registration order, without repeats.

    ``all`` is accepted only when ``allow_all``, and returned as ``("all",)`` for
    `resolve_versions` to expand.

    Raises
    ------
    BadInput
        An unknown version, or an empty text or list (``--version ''``).
    """
    parts = [part.strip().lower() for part in text.split(",") if part.strip()]
    if allow_all and parts == [ALL]:
        return (ALL,)
    unknown = [part for part in parts if part not in _ENGINES]
    if unknown or not parts:
        choices = ", ".join(_ENGINES) + (f", {ALL}" if allow_all else "")
        shown = unknown[0] if unknown else text
        raise BadInput(f"unknown version {shown!r}; choose from {choices} or a comma list")
    return tuple(name for name in _ENGINES if name in parts)


def resolve_versions(text: str | None, active_engine: str, all_versions: str) -> tuple[str, ...]:
    """What ``--version`` means: None → ``active_engine``; ``all`` → ``all_versions`` (the
    `scan_all_versions` setting); else a comma list.

    Raises
    ------
    BadInput
        ``--version ''``, an unknown version, or a stored setting naming an unregistered one.
    """
    if text is None:
        return parse_versions(active_engine)
    versions = parse_versions(text, allow_all=True)
    return parse_versions(all_versions) if versions == (ALL,) else versions


def filter_versions(text: str | None) -> tuple[str, ...] | None:
    """A ``--version`` that filters stored results: None or ``all`` → no filter."""
    if text is None or text.strip().lower() == ALL:
        return None
    return parse_versions(text)


def sort_key(version: str) -> tuple[int, str]:
    """Registration order, unknown (stored by an older scanctl) versions last."""
    order = names()
    return (order.index(version) if version in order else len(order), version)


_SCORE_LABELS = ("스윙", "포지션", "장기", "관찰")  # ENGINES.md §4.3

register(
    EngineSpec(
        name="v1",
        description="Stocks turning up on rising volume; relaxes its rules to find 3-5 picks.",
        module="scanctl.engines.v1",
        labels=_SCORE_LABELS,
        sections=("engines.v1",),
    )
)
register(
    EngineSpec(
        name="v2",
        description="Stocks in an uptrend, scored with risk and the market's mood; "
        "none in a falling market.",
        module="scanctl.engines.v2",
        labels=_SCORE_LABELS,
        sections=("engines.v2",),
    )
)
register(
    EngineSpec(
        name="v3",
        description="Steady uptrends for a 2-4 week hold, plus dips within an uptrend when the "
        "market is calm.",
        module="scanctl.engines.v3",
        labels=("midterm", "v2_lite"),
        sections=("engines.v3", "engines.v3.midterm", "engines.v3.pullback"),
    )
)
