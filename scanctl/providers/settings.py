"""The ``[data]`` configuration: the provider, the sync gates, and one table per provider.

TOML shape (every key optional; the values shown are the defaults)::

    [data]
    provider = "naver"                  # the source `data sync` / `scan --sync` use
    coverage_min = 0.95                 # rows for D ≥ this share of the previous stored date's
    stamped_min = 0.95                  # rows the source stamps with D ≥ this share of its rows
    invalid_max = 0                     # rows allowed to break OHLC / price > 0 / volume ≥ 0
    corporate_action_tolerance = 0.005  # |source prev close / stored close − 1| above → refetch
    corporate_action_max = 100          # more disagreeing tickers than this → gate fails
    breaker_hours = 24                  # how long a block (a 403 without a documented error
                                        # code, a block page) keeps a source shut
    close_margin_minutes = 10           # today's bars only from the close + this margin

    [data.naver]                        # HTTP keys, common to every provider:
    base_url = "https://fchart.stock.naver.com"   # naver: the chart host (see naver.py)
    listing_url = "https://m.stock.naver.com"     # naver only: the market-listing host
    timeout_s = 20                      # read timeout per request (seconds)
    connect_timeout_s = 5
    max_in_flight = 4                   # concurrent requests, 1 … 5 (naver 4; others 5)
    rate_per_s = 10                     # requests per second, burst = in flight (naver 10;
                                        # kis 15, kiwoom 4, krx-openapi 5)
    max_attempts = 3                    # per request, for timeouts / 5xx / 429 only
    backoff_s = 0.5                     # exponential backoff base, with ±50 % jitter
    max_backoff_s = 8
    max_retry_after_s = 30              # a longer Retry-After is a failure, not a wait
    failure_budget = 20                 # consecutive failed requests before giving up the run
    retry_budget = 200                  # retries per run, all requests together

    [data.kis]                          # credentials live in the provider's table, e.g.
    app_key = "…"                       # (or SCANCTL_DATA_KIS_APP_KEY=…)

Every key is declared once, with `scanctl.config.setting`: `DataSettings` (``[data]``),
`HttpSettings` (the HTTP keys of every provider table; a provider's `ProviderSpec.http_defaults`
replace their defaults) and each provider's `ProviderOptions` subclass (its own keys and
credentials, declared next to the provider). `describe` lists them per provider table.

Every key can also come from ``SCANCTL_DATA_<KEY>`` and ``SCANCTL_DATA_<PROVIDER>_<KEY>``
(``krx-openapi`` → ``KRX_OPENAPI``); the environment wins over the file. An unknown key or a bad
value is a `ConfigError` naming the table, the key, what is accepted and where the value came
from, e.g. ``[data.naver] max_in_flight must be an integer between 1 and 5, got 8 (from
SCANCTL_DATA_NAVER_MAX_IN_FLIGHT)``. Secret values (credentials) are never shown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from scanctl.config import RULE, KeyDoc, Origin, Section, SettingError, is_secret_key, setting
from scanctl.errors import ConfigError
from scanctl.providers.names import DEFAULT_PROVIDER, PROVIDERS

if TYPE_CHECKING:
    from scanctl.config import Config
    from scanctl.providers.base import ProviderSpec

MAX_IN_FLIGHT = 5
PROVIDER_TABLE = "data.<provider>"


@dataclass(frozen=True)
class DataSettings(Section):
    """The ``[data]`` keys that are not per provider (see the module docstring)."""

    SECTION: ClassVar[str] = "data"
    FLOAT_NUMBERS: ClassVar[bool] = True

    provider: str = setting(
        DEFAULT_PROVIDER,
        "the source `data sync` and `scan --sync` use",
        choices=tuple(sorted(PROVIDERS)),
    )
    coverage_min: float = setting(
        0.95, "rows for D must reach this share of the previous stored date's rows", ge=0, le=1
    )
    stamped_min: float = setting(
        0.95, "rows the source stamps with D must reach this share of its rows", ge=0, le=1
    )
    invalid_max: int = setting(
        0, "rows allowed to break the OHLC order, price > 0 or volume ≥ 0", ge=0
    )
    corporate_action_tolerance: float = setting(
        0.005,
        "|source previous close / stored close − 1| above this marks a corporate action "
        "(the ticker's history is fetched again)",
        ge=0,
        le=1,
    )
    corporate_action_max: int = setting(
        100, "more tickers with a corporate action than this fail the sync", ge=0
    )
    breaker_hours: float = setting(
        24.0,
        "hours a block (a block page, or HTTP 403 without a documented error code) keeps a "
        "source shut",
        ge=0,
    )


@dataclass(frozen=True)
class HttpSettings(Section):
    """The HTTP keys every ``[data.<provider>]`` table accepts; a provider's spec gives its own
    defaults (``base_url`` always)."""

    SECTION: ClassVar[str] = PROVIDER_TABLE
    FLOAT_NUMBERS: ClassVar[bool] = True

    base_url: str = setting(None, "the source's host (default per provider)", kind="url")
    timeout_s: float = setting(20.0, "read timeout per request, seconds", ge=0.01, le=600)
    connect_timeout_s: float = setting(5.0, "connect timeout per request, seconds", ge=0.01, le=120)
    max_in_flight: int = setting(
        MAX_IN_FLIGHT, "requests in flight at once", ge=1, le=MAX_IN_FLIGHT
    )
    rate_per_s: float = setting(
        80.0, "token-bucket rate, requests per second (burst = max_in_flight)", ge=0.01, le=10_000
    )
    max_attempts: int = setting(
        3, "attempts per request (timeouts, HTTP 5xx and 429 only are retried)", ge=1, le=10
    )
    backoff_s: float = setting(
        0.5, "base of the exponential backoff, seconds (±50 % jitter)", ge=0, le=60
    )
    max_backoff_s: float = setting(8.0, "longest backoff, seconds", ge=0, le=600)
    max_retry_after_s: float = setting(
        30.0, "a longer Retry-After is a failure, not a wait (seconds)", ge=0, le=3_600
    )
    failure_budget: int = setting(
        20, "consecutive failed requests before the run gives the source up", ge=1
    )
    retry_budget: int = setting(200, "retries per run, all requests together", ge=0)
    max_bytes: int = setting(16_000_000, "the largest reply read, bytes", ge=1_000)
    user_agent: str = setting(
        "Mozilla/5.0 (compatible; scanctl/0.1)", "the User-Agent header of every request"
    )

    def validate(self) -> None:
        if self.base_url is None:
            raise self.fail("base_url", "an http:// or https:// URL", None)


@dataclass(frozen=True)
class ProviderOptions(Section):
    """Base of a provider's own keys under ``[data.<name>]`` (hosts, credentials, …).

    A provider module declares a subclass with `setting` and names it in its `ProviderSpec`;
    a credential has the default None, ``secret=True``, and is listed in
    `ProviderSpec.required`. An empty value counts as unset, and a number is taken as its
    digits (a ``SCANCTL_DATA_*`` variable of digits arrives as a number).
    """

    SECTION: ClassVar[str] = PROVIDER_TABLE

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            rule = f.metadata.get(RULE)
            value = getattr(self, f.name)
            if rule is None:
                continue
            if f.default is None and value == "":
                object.__setattr__(self, f.name, None)
            elif rule.kind == "text" and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, str(value))
        super().__post_init__()

    @classmethod
    def secret_keys(cls) -> frozenset[str]:
        """The keys declared secret (or named like a secret)."""
        return frozenset(
            f.name
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if RULE in f.metadata and (f.metadata[RULE].secret or is_secret_key(f.name))
        )


@dataclass(frozen=True)
class ProviderConfig:
    """One provider's effective settings: the HTTP keys and its own options (by key)."""

    name: str
    http: HttpSettings
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    secret_keys: frozenset[str] = frozenset()

    def secret_values(self) -> tuple[str, ...]:
        """Values of the secret options (tokens, keys, passwords), to scrub from logs."""
        return tuple(
            str(value)
            for key, value in self.options.items()
            if (key in self.secret_keys or is_secret_key(key)) and value not in (None, "")
        )


@dataclass(frozen=True)
class DataConfig:
    """What the data layer receives: the validated ``[data]`` keys, and each provider's table,
    validated (credentials included) when that provider is built: a provider module is
    imported only when it is used."""

    settings: DataSettings
    _sources: Config = field(repr=False)

    @classmethod
    def from_config(cls, config: Config) -> DataConfig:
        """``[data]`` of ``config``, validated now; the provider tables on first use.

        Raises
        ------
        ConfigError
            A bad ``[data]`` key or value.
        """
        return cls(parse_data_settings(config), config)

    def provider(self, spec: ProviderSpec) -> ProviderConfig:
        """The effective ``[data.<name>]`` of ``spec``'s provider (see `provider_config`)."""
        return provider_config(self._sources, spec)


def parse_data_settings(config: Config) -> DataSettings:
    """The ``[data]`` settings, validated.

    Raises
    ------
    ConfigError
        A value of the wrong type or out of range, or a key that is neither a ``[data]``
        setting nor a known provider's table or ``<provider>_<key>`` variable.
    """
    section = config.section("data")
    origin = config.origin("data")
    known = DataSettings.keys()
    for key in section:
        if key not in known and _provider_of(key) is None:
            tables = ", ".join(f"[data.{name}]" for name in sorted(PROVIDERS))
            problem = (
                f"{key}: unknown key; known keys: {', '.join(known)}; provider tables: {tables}"
            )
            raise SettingError("data", key, problem).located(origin)
    return DataSettings.from_mapping({k: v for k, v in section.items() if k in known}, origin)


def provider_config(config: Config, spec: ProviderSpec) -> ProviderConfig:
    """``[data.<name>]`` (file table, then ``SCANCTL_DATA_<NAME>_*``) over the spec's defaults.

    Raises
    ------
    ConfigError
        An unknown key, a bad value, or a required option (credential) that is not set.
    """
    table = f"data.{spec.name}"
    values, origin = _provider_values(config, spec.name)
    options_class = declared_options(spec)
    http_keys, option_keys = HttpSettings.keys(), options_class.keys()
    for key in values:
        if key not in http_keys and key not in option_keys:
            known = ", ".join(sorted({*http_keys, *option_keys}))
            problem = f"{key}: unknown key; known keys: {known}"
            raise SettingError(table, key, problem).located(origin)
    try:
        http = HttpSettings.from_mapping(
            {**spec.http_defaults, **{k: v for k, v in values.items() if k in http_keys}}, origin
        )
        options = options_class.from_mapping(
            {k: v for k, v in values.items() if k in option_keys}, origin
        )
    except SettingError as exc:
        raise SettingError(table, exc.key, exc.problem, exc.where) from None
    missing = sorted(key for key in spec.required if getattr(options, key, None) is None)
    if missing:
        hints = "; ".join(
            f"set {key} in [{table}] or {env_variable(spec.name, key)}" for key in missing
        )
        raise ConfigError(f"provider {spec.name!r} needs credentials: {hints}")
    return ProviderConfig(
        spec.name,
        http,
        MappingProxyType(options.to_record()),
        options_class.secret_keys(),
    )


def declared_options(spec: ProviderSpec) -> type[ProviderOptions]:
    """The `ProviderOptions` class of ``spec``.

    A spec may still give its options as a plain mapping of defaults (as a test's spec does):
    those become undocumented keys, text when the default is None.
    """
    if isinstance(spec.options, type):
        return spec.options
    undocumented = [
        (
            key,
            Any,
            setting(
                default,
                f"{key} (undocumented)",
                kind="text" if default is None else None,
                secret=is_secret_key(key),
            ),
        )
        for key, default in spec.options.items()
    ]
    return dataclasses.make_dataclass(
        "UndocumentedOptions", undocumented, bases=(ProviderOptions,), frozen=True
    )


def describe() -> list[KeyDoc]:
    """Every declared key of ``[data]``, then of each provider's table."""
    from scanctl.providers.base import provider_spec

    docs = DataSettings.describe()
    for name in PROVIDERS:
        docs.extend(provider_keys(provider_spec(name)))
    return docs


def provider_keys(spec: ProviderSpec) -> list[KeyDoc]:
    """The keys of ``[data.<name>]``: the HTTP keys with the spec's defaults, then its options
    (credentials marked required)."""
    table = f"data.{spec.name}"
    docs = [
        dataclasses.replace(
            doc, section=table, default=spec.http_defaults.get(doc.key, doc.default)
        )
        for doc in HttpSettings.describe()
    ]
    for doc in declared_options(spec).describe():
        accepts = f"{doc.accepts}; required" if doc.key in spec.required else doc.accepts
        docs.append(dataclasses.replace(doc, section=table, accepts=accepts))
    return docs


def _provider_values(config: Config, name: str) -> tuple[dict[str, Any], Origin]:
    """The keys of provider ``name`` (its file table, then its variables), and their origin."""
    section = config.section("data")
    data_origin = config.origin("data")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}  # key → the [data] key it came from
    for table_name in _table_names(name):
        table = section.get(table_name)
        if isinstance(table, Mapping):
            values.update(table)
            sources.update(dict.fromkeys(table, table_name))
    prefix = _env_prefix(name)
    for flat, value in section.items():
        if flat.startswith(prefix):
            values[flat[len(prefix) :]] = value
            sources[flat[len(prefix) :]] = flat

    def origin(key: str) -> str | None:
        return data_origin(sources[key]) if key in sources else None

    return values, origin


def key_names(name: str, key: str) -> str:
    """Where provider ``name``'s ``key`` is set, as an operator reads it in a message:
    ``[data.kis] app_key / SCANCTL_DATA_KIS_APP_KEY``."""
    return f"[data.{name}] {key} / {env_variable(name, key)}"


def env_variable(name: str, key: str) -> str:
    """The ``SCANCTL_DATA_<NAME>_<KEY>`` variable of provider ``name``'s ``key``."""
    return f"SCANCTL_DATA_{_env_prefix(name).upper()}{key.upper()}"


def _table_names(name: str) -> tuple[str, ...]:
    """TOML table keys accepted for a provider (``krx-openapi`` and ``krx_openapi``)."""
    return tuple(dict.fromkeys((name, name.replace("-", "_"))))


def _env_prefix(name: str) -> str:
    """The flattened key prefix of ``SCANCTL_DATA_<NAME>_<KEY>`` variables."""
    return name.replace("-", "_").lower() + "_"


def _provider_of(key: str) -> str | None:
    """The provider a ``[data]`` key belongs to (its table, or a ``<name>_`` variable)."""
    for name in PROVIDERS:
        if key in _table_names(name) or key.startswith(_env_prefix(name)):
            return name
    return None
