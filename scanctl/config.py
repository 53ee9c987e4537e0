"""Declared configuration: how a setting is declared once, and the one reader of its sources.

A configuration section is a frozen dataclass deriving from `Section`; each key is a field made
with `setting(default, doc, ge=…, choices=…, secret=…)`. That one declaration gives the key its
type (from the default, or ``kind=``), its default, its bounds and its one-line description, and
it is what validation, `config show`, `config keys` and the README's configuration reference
read. Cross-key rules go in `Section.validate`.

Values come from three places, later ones winning: the TOML file (``--config`` /
``SCANCTL_CONFIG`` / ``$XDG_CONFIG_HOME/scanctl/config.toml``; a missing default file is an empty
configuration, a missing explicit file an error), ``SCANCTL_<SECTION>_<KEY>`` variables, then
command-line flags. `read_sources` reads them into a `Config` that remembers where each value came
from, so that a bad value is reported as, e.g.::

    [scan] kospi_limit must be an integer ≥ 0, got -1 (from SCANCTL_SCAN_KOSPI_LIMIT)

This module is the only one that parses TOML. It sits at the bottom of the package: every layer
declares its own sections with it, and `scanctl.settings` assembles them into one `Settings`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Self

from scanctl.errors import ConfigError

CONFIG_ENV = "SCANCTL_CONFIG"
ENV_PREFIX = "SCANCTL_"
# Variables that are options of their own rather than configuration keys.
RESERVED_ENV = {"SCANCTL_CONFIG", "SCANCTL_DB", "SCANCTL_NOW"}

# The sections of every layer but the engines, whose sections the engine registry names
# (`scanctl.settings.read_sources` passes both).
SECTIONS = ("store", "scan", "market", "costs", "data", "notify", "healthcheck")

_SECRET = re.compile(
    r"(secret|token|password|passwd|api_?key|app_?key|auth|webhook|ping_url)", re.I
)
MASK = "********"
RULE = "scanctl.rule"


# --------------------------------------------------------------------------- declaring keys


@dataclass(frozen=True)
class Rule:
    """What a declared key accepts, and the one line that describes it."""

    doc: str
    kind: str  # integer | number | flag | text | texts | numbers | url | table | tables
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] | None = None
    secret: bool = False

    def expected(self) -> str:
        """The accepted values in words, as error messages and the reference show them."""
        if self.choices is not None:
            listed = ", ".join(self.choices)
            return f"a list drawn from {listed}" if self.kind == "texts" else f"one of {listed}"
        words = {
            "integer": "an integer",
            "number": "a number",
            "flag": "true or false",
            "text": "a non-empty string",
            "texts": "a list of non-empty strings",
            "numbers": "a list of numbers",
            "url": "an http:// or https:// URL",
            "table": "a table",
            "tables": "a list of tables",
        }[self.kind]
        bounds = self.bounds()
        return f"{words} {bounds}" if bounds else words

    def refusal(self, value: Any) -> str:
        """`expected` for a refused ``value``, naming a list entry that is not a choice."""
        expected = self.expected()
        if self.kind == "texts" and self.choices is not None and isinstance(value, list | tuple):
            strays = [item for item in value if item not in self.choices]
            if strays:
                return f"{expected}; {strays[0]!r} is not one"
        return expected

    def bounds(self) -> str:
        """``≥ 0``, ``between 1 and 10``, ``> 0 and < 1``: the range in words ('' if none)."""
        if self.kind == "integer" and self.ge is not None and self.le is not None:
            return f"between {self.ge:g} and {self.le:g}"
        parts = [
            f"{sign} {value:g}"
            for sign, value in (("≥", self.ge), (">", self.gt), ("≤", self.le), ("<", self.lt))
            if value is not None
        ]
        return " and ".join(parts)

    def check(self, value: Any, *, as_float: bool = False) -> Any:
        """``value`` normalised (lists → tuples), or None when it is not acceptable."""
        kind = self.kind
        if kind == "flag":
            return value if isinstance(value, bool) else None
        if kind in ("integer", "number"):
            if not _is_number(value) or (kind == "integer" and not isinstance(value, int)):
                return None
            if not self._in_range(value):
                return None
            return float(value) if as_float and kind == "number" else value
        if kind == "text":
            if not isinstance(value, str) or not value.strip():
                return None
            return value if self.choices is None or value in self.choices else None
        if kind == "url":
            return value.strip().rstrip("/") if is_http_url(value) else None
        if kind in ("texts", "numbers"):
            if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
                return None
            good = _is_text if kind == "texts" else _is_number
            if not all(good(item) for item in value):
                return None
            if self.choices is not None and any(item not in self.choices for item in value):
                return None
            return tuple(float(x) for x in value) if kind == "numbers" else tuple(value)
        return value  # table, tables: the section's `validate` checks them

    def _in_range(self, value: float) -> bool:
        return (
            (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.lt is None or value < self.lt)
        )


def setting(
    default: Any,
    doc: str,
    *,
    kind: str | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: Sequence[str] | None = None,
    secret: bool = False,
) -> Any:
    """Declare one configuration key: its default, its one-line description and its rule.

    The kind follows the default (bool → flag, int → integer, float → number, str → text, a
    tuple of str → texts, of numbers → numbers) unless ``kind`` names it (``url``, ``table``,
    or any kind when the default is None).
    """
    rule = Rule(
        doc=doc,
        kind=kind or _kind_of(default),
        ge=ge,
        gt=gt,
        le=le,
        lt=lt,
        choices=tuple(choices) if choices is not None else None,
        secret=secret,
    )
    # A secret stays out of the dataclass repr, so that it never reaches a log line or traceback.
    return field(default=default, repr=not secret, metadata={RULE: rule})


def _kind_of(default: Any) -> str:
    if isinstance(default, bool):
        return "flag"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "number"
    if isinstance(default, str):
        return "text"
    if isinstance(default, tuple) and all(isinstance(x, str) for x in default):
        return "texts"
    if isinstance(default, tuple) and all(_is_number(x) for x in default):
        return "numbers"
    raise TypeError(f"declare kind= for a setting whose default is {default!r}")


@dataclass(frozen=True)
class KeyDoc:
    """One declared key as the reference shows it.

    ``when`` names the condition under which the key applies, for tables whose keys depend on
    another key (``type = "telegram"`` for a notification channel); '' when it always does.
    """

    section: str
    key: str
    kind: str
    default: Any
    accepts: str
    doc: str
    secret: bool
    when: str = ""

    @property
    def env(self) -> str:
        """The ``SCANCTL_<SECTION>_<KEY>`` variable that sets this key."""
        name = f"{self.section}_{self.key}".replace(".", "_").replace("-", "_").upper()
        return f"{ENV_PREFIX}{name}"


class Section:
    """Base of every declared section: a frozen dataclass whose fields come from `setting`.

    Building one checks every declared field against its rule (lists become tuples), then calls
    `validate` for the rules that tie keys together. A bad value raises `ConfigError` naming the
    section, the key, what it accepts and the value received.
    """

    SECTION: ClassVar[str]
    # Store accepted ints as floats in number keys (the v3 sub-engines record floats).
    FLOAT_NUMBERS: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            rule = f.metadata.get(RULE)
            if rule is None:
                continue
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue  # an optional key left unset
            checked = rule.check(value, as_float=self.FLOAT_NUMBERS)
            if checked is None:
                raise self.fail(f.name, rule.refusal(value), value, secret=rule.secret)
            object.__setattr__(self, f.name, checked)
        self.validate()

    def validate(self) -> None:
        """Rules between keys (e.g. a minimum below its maximum); none by default."""

    def fail(self, name: str, expected: str, value: object, *, secret: bool = False) -> ConfigError:
        """The error for key ``name``: ``[section] name must be <expected>, got <value>``."""
        shown = "a secret value" if secret or is_secret_key(name) else repr(value)
        return SettingError(self.SECTION, name, f"{name} must be {expected}, got {shown}")

    def check_order(self, low: str, high: str, *, strict: bool = False) -> None:
        """The cross-key rule ``low ≤ high`` (``<`` when ``strict``); the error names ``high``:
        ``rsi_max must be a number ≥ rsi_min (45), got 40.0``."""
        lo, hi = getattr(self, low), getattr(self, high)
        if hi < lo or (strict and hi == lo):
            rule = self.rule(high)
            words = "an integer" if rule is not None and rule.kind == "integer" else "a number"
            raise self.fail(high, f"{words} {'>' if strict else '≥'} {low} ({lo:g})", hi)

    @classmethod
    def rule(cls, key: str) -> Rule | None:
        """The declared rule of ``key`` (None for a field that is not a key)."""
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name == key:
                return f.metadata.get(RULE)
        return None

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The declared keys, in declaration order (fields that are not keys left out)."""
        return tuple(
            f.name
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if RULE in f.metadata
        )

    @classmethod
    def check_keys(
        cls,
        mapping: Mapping[str, Any],
        origin: Origin | None = None,
        known: Sequence[str] | None = None,
    ) -> None:
        """Refuse a key of ``mapping`` that is not one of ``known`` (default: `keys`)."""
        known = cls.keys() if known is None else known
        for key in mapping:
            if key not in known:
                error = SettingError(
                    cls.SECTION, key, f"unknown key {key!r}; known keys: {', '.join(known)}"
                )
                raise error.located(origin)

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any] | None = None, origin: Origin | None = None
    ) -> Self:
        """Build from a TOML-like table: missing keys take their defaults.

        ``origin(key)`` says where a key's value came from; it is added to the error.

        Raises
        ------
        ConfigError
            On an unknown key (named, with the known keys) or an invalid value.
        """
        mapping = mapping or {}
        cls.check_keys(mapping, origin)
        try:
            return cls(**mapping)
        except SettingError as exc:
            raise exc.located(origin) from None

    @classmethod
    def from_config(cls, config: Config) -> Self:
        """Build from the section `SECTION` of ``config``, naming the source of a bad value."""
        return cls.from_mapping(config.section(cls.SECTION), config.origin(cls.SECTION))

    def to_record(self) -> dict[str, Any]:
        """The effective values as plain JSON types (ENGINES.md §8.6 `params`)."""
        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    @classmethod
    def describe(cls) -> list[KeyDoc]:
        """Every declared key of the section, for `config keys` and the README."""
        docs = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            rule = f.metadata.get(RULE)
            if rule is not None:
                default = f.default if f.default is not dataclasses.MISSING else None
                docs.append(
                    KeyDoc(
                        cls.SECTION,
                        f.name,
                        rule.kind,
                        _plain(default),
                        rule.expected(),
                        rule.doc,
                        rule.secret or is_secret_key(f.name),
                    )
                )
        return docs


def _plain(value: Any) -> Any:
    if isinstance(value, Section):
        return value.to_record()
    if hasattr(value, "to_record"):
        return value.to_record()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


Origin = Callable[[str], str | None]


class SettingError(ConfigError):
    """A key of a section is unknown or has a bad value; `located` adds where it came from."""

    def __init__(self, section: str, key: str, problem: str, where: str | None = None) -> None:
        self.section, self.key, self.problem, self.where = section, key, problem, where
        suffix = f" (from {where})" if where else ""
        super().__init__(f"[{section}] {problem}{suffix}")

    def located(self, origin: Origin | None) -> SettingError:
        """This error with the source of its key (its top-level name) named, when known."""
        if origin is None or self.where is not None:
            return self
        where = origin(re.split(r"[.\[]", self.key, maxsplit=1)[0])
        return SettingError(self.section, self.key, self.problem, where) if where else self


def _is_number(value: object) -> bool:
    """A finite int or float that is not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def is_http_url(value: object) -> bool:
    """An ``http://`` or ``https://`` URL with a host."""
    from urllib.parse import urlsplit

    if not isinstance(value, str):
        return False
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


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


# --------------------------------------------------------------------------- reading sources


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/scanctl/config.toml`` (``~/.config`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "scanctl" / "config.toml"


@dataclass(frozen=True)
class Config:
    """What the file, the environment and the flags say: section → key → value, with the
    source of every value. Only `scanctl.settings` reads it, to build the typed `Settings`."""

    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: Path | None = None
    origins: Mapping[tuple[str, str], str] = field(default_factory=dict)
    known: tuple[str, ...] = SECTIONS

    def section(self, name: str) -> Mapping[str, Any]:
        """The keys of one section (``engines.v3.midterm`` style names); empty when absent."""
        return self.sections.get(name, MappingProxyType({}))

    def get(self, name: str, key: str, default: Any = None) -> Any:
        return self.section(name).get(key, default)

    def origin(self, name: str) -> Origin:
        """Where each key of section ``name`` came from: the file, a variable or a flag."""
        return lambda key: self.origins.get((name, key))

    def with_flags(self, flags: Mapping[str, Mapping[str, Any]]) -> Config:
        """A copy with command-line flags applied over the file and the environment, keyed
        ``section → key → value`` (None values are ignored)."""
        sections = {name: dict(values) for name, values in self.sections.items()}
        origins = dict(self.origins)
        for name, values in flags.items():
            for key, value in values.items():
                if value is not None:
                    sections.setdefault(name, {})[key] = value
                    origins[(name, key)] = f"--{key.replace('_', '-')}"
        frozen = {name: MappingProxyType(values) for name, values in sections.items()}
        return Config(MappingProxyType(frozen), self.path, MappingProxyType(origins), self.known)

    def masked(self) -> dict[str, dict[str, Any]]:
        """Every section with secret values replaced by a mask."""
        return {
            name: {key: mask_value(key, value) for key, value in sorted(values.items())}
            for name, values in self.sections.items()
        }


def load_config(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    sections: Sequence[str] = SECTIONS,
    keys: Mapping[str, Collection[str]] | None = None,
) -> Config:
    """Read the file, then apply ``SCANCTL_*`` variables, then ``overrides`` (from flags, keyed
    ``section → key → value``; None values are ignored). ``sections`` are the known sections,
    ``keys`` the declared keys of each (to split ``SCANCTL_*`` names where sections nest).

    Raises
    ------
    ConfigError
        Unreadable or invalid TOML, an unknown section, or an explicit file that does not exist.
    """
    environ = os.environ if environ is None else environ
    explicit = path if path is not None else environ.get(CONFIG_ENV)
    config_path = Path(explicit) if explicit else default_config_path()
    known = tuple(sections)
    values_by_section: dict[str, dict[str, Any]] = {}
    origins: dict[tuple[str, str], str] = {}
    if config_path.exists():
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {str(config_path)!r}: {exc}") from None
        _flatten(raw, "", values_by_section, known, config_path)
        for name, values in values_by_section.items():
            origins.update({(name, key): f"config file {str(config_path)!r}" for key in values})
    elif explicit:
        raise ConfigError(f"config file {str(config_path)!r} does not exist")
    for name, key, value, variable in _from_environ(environ, known, keys or {}):
        values_by_section.setdefault(name, {})[key] = value
        origins[(name, key)] = variable
    frozen = {name: MappingProxyType(dict(values)) for name, values in values_by_section.items()}
    config = Config(
        sections=MappingProxyType(frozen),
        path=config_path if config_path.exists() else None,
        origins=MappingProxyType(origins),
        known=known,
    )
    return config.with_flags(overrides or {})


def _flatten(
    table: Mapping[str, Any], prefix: str, out: dict, known: tuple[str, ...], path: Path
) -> None:
    """Split nested TOML tables into dotted section names (engines.v3.midterm)."""
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and any(
            section == name or section.startswith(f"{name}.") for section in known
        ):
            _flatten(value, f"{name}.", out, known, path)
        elif prefix and prefix[:-1] in known:
            out.setdefault(prefix[:-1], {})[key] = value
        else:
            raise ConfigError(
                f"config file {str(path)!r}: unknown section [{name}]; known: {', '.join(known)}"
            )


def _from_environ(
    environ: Mapping[str, str],
    known: tuple[str, ...],
    keys: Mapping[str, Collection[str]],
) -> list[tuple[str, str, Any, str]]:
    """``SCANCTL_ENGINES_V3_MIDTERM_TOP_N=5`` → (``engines.v3.midterm``, ``top_n``, 5, name).

    The longest section name that prefixes the variable wins, unless ``keys`` says that section
    has no such key and a shorter one has (``SCANCTL_ENGINES_V3_PULLBACK_ENABLED`` is
    ``[engines.v3] pullback_enabled``, not ``[engines.v3.pullback] enabled``).
    """
    found = []
    by_length = sorted(known, key=len, reverse=True)
    for variable, text in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX) or variable in RESERVED_ENV:
            continue
        rest = variable[len(ENV_PREFIX) :].lower()
        candidates = [
            (section, rest[len(head) :])
            for section in by_length
            if rest.startswith(head := section.replace(".", "_") + "_") and len(rest) > len(head)
        ]
        declared = [(s, key) for s, key in candidates if key in keys.get(s, ())]
        if candidates:
            section, key = (declared or candidates)[0]
            found.append((section, key, _parse_env_value(text), variable))
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
        lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)


def toml_value(value: Any) -> str:
    """One value in TOML syntax."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items())
        return "{ " + inner + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
