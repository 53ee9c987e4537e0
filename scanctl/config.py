"""Configuration: a TOML file, overridden by ``SCANCTL_<SECTION>_<KEY>`` variables and flags.

The file is ``--config`` / ``SCANCTL_CONFIG`` / ``$XDG_CONFIG_HOME/scanctl/config.toml`` (a missing
default file is an empty configuration; a missing explicit file is an error). Sections are those
of PRODUCT.md §7; each consumer validates its own keys (engine parameters, channels, …) and
rejects unknown ones. `Config` is immutable and passed to whoever needs it: nothing global.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Self

from scanctl.errors import ConfigError

CONFIG_ENV = "SCANCTL_CONFIG"
ENV_PREFIX = "SCANCTL_"
# Variables that are options of their own rather than configuration keys.
RESERVED_ENV = {"SCANCTL_CONFIG", "SCANCTL_DB", "SCANCTL_NOW", "SCANCTL_TEST_HOOK"}

SECTIONS = (
    "store",
    "scan",
    "market",
    "engines.v1",
    "engines.v2",
    "engines.v3",
    "engines.v3.midterm",
    "engines.v3.pullback",
    "data",
    "notify",
    "healthcheck",
)

_SECRET = re.compile(
    r"(secret|token|password|passwd|api_?key|app_?key|auth|webhook|ping_url)", re.I
)
MASK = "********"


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/scanctl/config.toml`` (``~/.config`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "scanctl" / "config.toml"


@dataclass(frozen=True)
class Config:
    """The effective configuration: section name → read-only mapping of keys to values."""

    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: Path | None = None

    def section(self, name: str) -> Mapping[str, Any]:
        """The keys of one section (``engines.v3.midterm`` style names); empty when absent."""
        if name not in SECTIONS:
            raise KeyError(name)
        return self.sections.get(name, MappingProxyType({}))

    def get(self, name: str, key: str, default: Any = None) -> Any:
        return self.section(name).get(key, default)

    def masked(self) -> dict[str, dict[str, Any]]:
        """Every section with secret values replaced by a mask (for `config show`)."""
        return {
            name: {key: mask_value(key, value) for key, value in sorted(values.items())}
            for name, values in self.sections.items()
        }


class SectionParams:
    """Base of the frozen parameter dataclasses read from one TOML section (`SECTION`)."""

    SECTION: ClassVar[str]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Self:
        """Build from a TOML-like table: missing keys take their defaults.

        Raises
        ------
        ConfigError
            On an unknown key (named, with the known keys) or an invalid value.
        """
        known = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        for key in mapping:
            if key not in known:
                raise ConfigError(
                    f"[{cls.SECTION}] unknown key {key!r}; known keys: {', '.join(known)}"
                )
        return cls(**mapping)


def is_secret_key(key: str) -> bool:
    """Keys whose values never appear in output (tokens, keys, passwords, webhook URLs)."""
    return bool(_SECRET.search(key))


def mask_value(key: str, value: Any) -> Any:
    """``value`` with every secret inside it masked, recursing into channel tables and lists."""
    if isinstance(value, Mapping):
        return {k: mask_value(k, v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [mask_value(key, item) for item in value]
    if is_secret_key(key) and value not in (None, ""):
        return MASK
    return value


def load_config(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Read the file, then apply ``SCANCTL_*`` variables, then ``overrides`` (from flags).

    Raises
    ------
    ConfigError
        Unreadable or invalid TOML, an unknown section, or an explicit file that does not exist.
    """
    environ = os.environ if environ is None else environ
    explicit = path if path is not None else environ.get(CONFIG_ENV)
    config_path = Path(explicit) if explicit else default_config_path()
    sections: dict[str, dict[str, Any]] = {}
    if config_path.exists():
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {str(config_path)!r}: {exc}") from None
        _flatten(raw, "", sections, config_path)
    elif explicit:
        raise ConfigError(f"config file {str(config_path)!r} does not exist")
    for name, key, value in _from_environ(environ):
        sections.setdefault(name, {})[key] = value
    for name, values in (overrides or {}).items():
        for key, value in values.items():
            if value is not None:
                sections.setdefault(name, {})[key] = value
    frozen = {name: MappingProxyType(dict(values)) for name, values in sections.items()}
    return Config(
        sections=MappingProxyType(frozen), path=config_path if config_path.exists() else None
    )


def _flatten(table: Mapping[str, Any], prefix: str, out: dict, path: Path) -> None:
    """Split nested TOML tables into dotted section names (engines.v3.midterm)."""
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and _is_section_prefix(name):
            _flatten(value, f"{name}.", out, path)
        elif prefix and prefix[:-1] in SECTIONS:
            out.setdefault(prefix[:-1], {})[key] = value
        else:
            known = ", ".join(SECTIONS)
            raise ConfigError(
                f"config file {str(path)!r}: unknown section [{name}]; known: {known}"
            )


def _is_section_prefix(name: str) -> bool:
    return any(section == name or section.startswith(f"{name}.") for section in SECTIONS)


def _from_environ(environ: Mapping[str, str]) -> list[tuple[str, str, Any]]:
    """``SCANCTL_ENGINES_V3_MIDTERM_TOP_N=5`` → (``engines.v3.midterm``, ``top_n``, 5)."""
    found = []
    by_length = sorted(SECTIONS, key=len, reverse=True)
    for variable, text in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX) or variable in RESERVED_ENV:
            continue
        rest = variable[len(ENV_PREFIX) :].lower()
        for section in by_length:
            head = section.replace(".", "_") + "_"
            if rest.startswith(head) and len(rest) > len(head):
                found.append((section, rest[len(head) :], _parse_env_value(text)))
                break
        else:
            raise ConfigError(
                f"{variable}: no such configuration section; "
                "use SCANCTL_<SECTION>_<KEY>, e.g. SCANCTL_SCAN_KOSPI_LIMIT"
            )
    return found


def _parse_env_value(text: str) -> Any:
    """A TOML value when the text is one (numbers, booleans, arrays), else the text itself."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def render_toml(sections: Mapping[str, Mapping[str, Any]]) -> str:
    """A readable TOML rendering of (already masked) sections, for `config show`."""
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items())
        return "{ " + inner + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
