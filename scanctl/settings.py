"""The one settings object: every configuration section, parsed and validated once.

`load_settings` reads the sources (`scanctl.config.load_config`: file, ``SCANCTL_*`` variables,
flags) and builds each layer's declared sections from them; the CLI calls it once per command
and hands the library the typed pieces it needs (`Settings.run`, `Settings.notify`, …). A bad
key or value fails here, before any lock, ping or write, naming the key and its source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from scanctl.config import (
    SECTIONS,
    Config,
    KeyDoc,
    Section,
    load_config,
    mask_value,
    setting,
)
from scanctl.engines import registry
from scanctl.engines.params import RunParams
from scanctl.market.costs import TradingCosts
from scanctl.market.params import MarketParams, ScanOptions, UniverseParams
from scanctl.notify.config import (
    HealthcheckSettings,
    NotifySettings,
    load_healthcheck_settings,
    load_notify_settings,
)
from scanctl.providers.settings import DataConfig


@dataclass(frozen=True)
class StoreSettings(Section):
    """``[store]``: where the SQLite store lives."""

    SECTION: ClassVar[str] = "store"

    db: str | None = setting(
        None, "SQLite store path (--db and SCANCTL_DB win; default: XDG data dir)", kind="text"
    )


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one command (immutable)."""

    path: Path | None
    store: StoreSettings
    scan: ScanOptions
    run: RunParams
    data: DataConfig
    notify: NotifySettings
    healthcheck: HealthcheckSettings
    costs: TradingCosts
    # What the file and the variables said (`config show` lists the provider and channel
    # tables as given, masked).
    sources: Config

    @property
    def db_path(self) -> Path | None:
        """``[store] db`` when set."""
        return Path(self.store.db) if self.store.db else None

    def masked(self) -> dict[str, dict[str, Any]]:
        """Every section with its effective values (defaults included), secrets masked: what
        `config show` prints."""
        sections: dict[str, dict[str, Any]] = {
            "store": self.store.to_record(),
            "scan": {**self.run.universe.to_record(), **_record(self.scan)},
            "market": self.run.market.to_record(),
            "costs": self.costs.to_record(),
        }
        for name, params in self.run.engines.items():
            sections.update(_engine_sections(registry.get(name), params.to_record()))
        given = self.sources.masked()
        sections["data"] = {**_record(self.data.settings), **given.get("data", {})}
        for name in ("notify", "healthcheck"):
            if name in given:
                sections[name] = given[name]
        return {
            name: {key: mask_value(key, value) for key, value in values.items()}
            for name, values in sections.items()
            if any(value is not None for value in values.values())
        }


def _engine_sections(spec: registry.EngineSpec, record: dict[str, Any]) -> dict[str, dict]:
    """An engine's record split into its sections (v3's sub-tables are their own sections)."""
    main, *subs = spec.sections
    out = {main: {k: v for k, v in record.items() if f"{main}.{k}" not in subs}}
    for sub in subs:
        out[sub] = record[sub.rsplit(".", 1)[1]]
    return out


def _record(section: Any) -> dict[str, Any]:
    if hasattr(section, "to_record"):
        return section.to_record()
    import dataclasses

    return dataclasses.asdict(section)


def read_sources(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """The file, the ``SCANCTL_*`` variables and the flags, with every layer's sections known
    (the engines' from the registry)."""
    sections = (StoreSettings, UniverseParams, ScanOptions, MarketParams, TradingCosts)
    engines = [_with_subsections(spec.params_class) for spec in registry.engines().values()]
    keys: dict[str, set[str]] = {}
    for section in (*sections, *(cls for classes in engines for cls in classes)):
        keys.setdefault(section.SECTION, set()).update(section.keys())
    return load_config(path, environ, flags, (*SECTIONS, *registry.engine_sections()), keys)


def _with_subsections(section: type) -> list[type]:
    return [
        section,
        *(cls for sub in getattr(section, "SUBSECTIONS", ()) for cls in _with_subsections(sub)),
    ]


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Read the file, the ``SCANCTL_*`` variables and the flags, and validate every section.

    Raises
    ------
    ConfigError
        The first unknown key or bad value, naming the key and where it came from.
    """
    return settings_from(read_sources(path, environ, flags))


def settings_from(config: Config) -> Settings:
    """Validate every section of ``config`` (see `load_settings`)."""
    return Settings(
        path=config.path,
        store=StoreSettings.from_config(config),
        scan=ScanOptions.from_mapping(config.section("scan"), config.origin("scan")),
        run=RunParams.from_config(config),
        data=DataConfig.from_config(config),
        notify=load_notify_settings(config),
        healthcheck=load_healthcheck_settings(config),
        costs=TradingCosts.from_config(config),
        sources=config,
    )


def declared_keys() -> list[KeyDoc]:
    """Every declared key, section by section: the one source of `config keys` and of the
    README's configuration reference."""
    import scanctl.notify.config as notify_config
    import scanctl.providers.settings as provider_settings

    docs: list[KeyDoc] = []
    for section in (StoreSettings, UniverseParams, ScanOptions, MarketParams, TradingCosts):
        docs.extend(_describe(section))
    for spec in registry.engines().values():
        docs.extend(_describe(spec.params_class))
    for module in (provider_settings, notify_config):
        describe = getattr(module, "describe", None)
        if describe is not None:
            docs.extend(describe())
    return docs


def _describe(section: type) -> list[KeyDoc]:
    """A section's keys, with those of its sub-sections (v3's midterm and pullback)."""
    return [doc for cls in _with_subsections(section) for doc in cls.describe()]


def reference_markdown() -> str:
    """The configuration reference as Markdown tables, one per section (README, `config keys`)."""
    lines: list[str] = []
    current: tuple[str, str] | None = None
    for doc in declared_keys():
        if (doc.section, doc.when) != current:
            current = (doc.section, doc.when)
            title = f"`[{doc.section}]`" + (f" with `{doc.when}`" if doc.when else "")
            lines += ["", title, "", "| key | default | accepts | meaning |"]
            lines.append("|---|---|---|---|")
        default = "(secret)" if doc.secret and doc.default else _shown(doc.default)
        lines.append(f"| `{doc.key}` | {default} | {doc.accepts} | {doc.doc} |")
    return "\n".join(lines).strip() + "\n"


def _shown(value: Any) -> str:
    from scanctl.config import toml_value

    return "unset" if value is None else f"`{toml_value(value)}`".replace("|", "\\|")


def write_reference(readme: Path) -> bool:
    """Replace the configuration reference between the README's markers; True if it changed."""
    start, end = (
        "<!-- config-reference:start (scanctl config keys) -->",
        "<!-- config-reference:end -->",
    )
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{start}\n\n{reference_markdown()}\n{end}{tail}"
    readme.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":  # `make docs`
    import sys

    write_reference(Path(sys.argv[1]))
