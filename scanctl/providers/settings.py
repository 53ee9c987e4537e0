"""The ``[data]`` configuration: the provider, the sync gates, and one table per provider.

TOML shape (every key optional; the values shown are the defaults)::

    [data]
    provider = "naver"                  # the source `data sync` / `scan --sync` use
    coverage_min = 0.95                 # rows for D ≥ this share of the previous stored date's
    stamped_min = 0.95                  # rows the source stamps with D ≥ this share of its rows
    invalid_max = 0                     # rows allowed to break OHLC / price > 0 / volume ≥ 0
    corporate_action_tolerance = 0.005  # |source prev close / stored close − 1| above → refetch
    corporate_action_max = 100          # more disagreeing tickers than this → gate fails
    breaker_hours = 24                  # how long a block (403 / block page) keeps a source shut
    close_margin_minutes = 10           # today's bars only from the close + this margin

    [data.naver]                        # HTTP keys, common to every provider:
    base_url = "https://fchart.stock.naver.com"   # naver: the chart host (see naver.py)
    listing_url = "https://m.stock.naver.com"     # naver only: the market-listing host
    timeout_s = 20                      # read timeout per request (seconds)
    connect_timeout_s = 5
    max_in_flight = 5                   # concurrent requests, 1 … 5
    rate_per_s = 80                     # token bucket, requests per second (burst = in flight)
    max_attempts = 3                    # per request, for timeouts / 5xx / 429 only
    backoff_s = 0.5                     # exponential backoff base, with ±50 % jitter
    max_backoff_s = 8
    max_retry_after_s = 30              # a longer Retry-After is a failure, not a wait
    failure_budget = 20                 # consecutive failed requests before giving up the run
    retry_budget = 200                  # retries per run, all requests together

    [data.kis]                          # credentials live in the provider's table, e.g.
    app_key = "…"                       # (or SCANCTL_DATA_KIS_APP_KEY=…)

Every key can also come from ``SCANCTL_DATA_<KEY>`` and ``SCANCTL_DATA_<PROVIDER>_<KEY>``
(``krx-openapi`` → ``KRX_OPENAPI``); the environment wins over the file. Unknown keys are a
`ConfigError` naming the key and what is accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from scanctl.config import is_secret_key
from scanctl.errors import ConfigError

if TYPE_CHECKING:
    from scanctl.config import Config
    from scanctl.providers.base import ProviderSpec

MAX_IN_FLIGHT = 5


@dataclass(frozen=True)
class DataSettings:
    """The ``[data]`` keys that are not per provider (see the module docstring)."""

    provider: str = "naver"
    coverage_min: float = 0.95
    stamped_min: float = 0.95
    invalid_max: int = 0
    corporate_action_tolerance: float = 0.005
    corporate_action_max: int = 100
    breaker_hours: float = 24.0
    close_margin_minutes: int = 10


@dataclass(frozen=True)
class HttpSettings:
    """The HTTP keys every ``[data.<provider>]`` table accepts (see the module docstring)."""

    base_url: str
    timeout_s: float = 20.0
    connect_timeout_s: float = 5.0
    max_in_flight: int = MAX_IN_FLIGHT
    rate_per_s: float = 80.0
    max_attempts: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 30.0
    failure_budget: int = 20
    retry_budget: int = 200
    max_bytes: int = 16_000_000
    user_agent: str = "Mozilla/5.0 (compatible; scanctl/0.1)"


@dataclass(frozen=True)
class ProviderConfig:
    """One provider's effective settings: the HTTP keys and its own options."""

    name: str
    http: HttpSettings
    options: Mapping[str, Any] = field(default_factory=dict)

    def secret_values(self) -> tuple[str, ...]:
        """Values of the options whose key looks secret (tokens, keys, passwords)."""
        return tuple(
            str(value)
            for key, value in self.options.items()
            if is_secret_key(key) and value not in (None, "")
        )


# (minimum, maximum, integer?) of each numeric key; None = unbounded on that side.
_BOUNDS: dict[str, tuple[float | None, float | None, bool]] = {
    "coverage_min": (0.0, 1.0, False),
    "stamped_min": (0.0, 1.0, False),
    "invalid_max": (0, None, True),
    "corporate_action_tolerance": (0.0, 1.0, False),
    "corporate_action_max": (0, None, True),
    "breaker_hours": (0.0, None, False),
    "close_margin_minutes": (0, 240, True),
    "timeout_s": (0.01, 600.0, False),
    "connect_timeout_s": (0.01, 120.0, False),
    "max_in_flight": (1, MAX_IN_FLIGHT, True),
    "rate_per_s": (0.01, 10_000.0, False),
    "max_attempts": (1, 10, True),
    "backoff_s": (0.0, 60.0, False),
    "max_backoff_s": (0.0, 600.0, False),
    "max_retry_after_s": (0.0, 3_600.0, False),
    "failure_budget": (1, None, True),
    "retry_budget": (0, None, True),
    "max_bytes": (1_000, None, True),
}
_DATA_KEYS = tuple(f.name for f in fields(DataSettings))
_HTTP_KEYS = tuple(f.name for f in fields(HttpSettings))


def parse_data_settings(config: Config) -> DataSettings:
    """The ``[data]`` settings, validated.

    Raises
    ------
    ConfigError
        A value of the wrong type or out of range, or a key that is neither a ``[data]``
        setting nor a known provider's table or ``<provider>_<key>`` variable.
    """
    from scanctl.providers.base import PROVIDERS

    section = config.section("data")
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key in _DATA_KEYS:
            values[key] = _checked("[data]", key, value)
        elif _provider_of(key, PROVIDERS) is None:
            known = ", ".join(_DATA_KEYS)
            tables = ", ".join(f"[data.{name}]" for name in sorted(PROVIDERS))
            raise ConfigError(
                f"[data] {key}: unknown key; known keys: {known}; provider tables: {tables}"
            )
    provider = values.get("provider", DataSettings.provider)
    if provider not in PROVIDERS:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigError(f"[data] provider = {provider!r}: unknown provider; known: {known}")
    return DataSettings(**values)


def provider_config(config: Config, spec: ProviderSpec) -> ProviderConfig:
    """``[data.<name>]`` (file table, then ``SCANCTL_DATA_<NAME>_*``) over the spec's defaults.

    Raises
    ------
    ConfigError
        An unknown key, a bad value, or a required option (credential) that is not set.
    """
    section = config.section("data")
    where = f"[data.{spec.name}]"
    merged: dict[str, Any] = {}
    for table_name in _table_names(spec.name):
        table = section.get(table_name)
        if isinstance(table, Mapping):
            merged.update(table)
    prefix = _env_prefix(spec.name)
    merged.update({k[len(prefix) :]: v for k, v in section.items() if k.startswith(prefix)})
    http: dict[str, Any] = dict(spec.http_defaults)
    options: dict[str, Any] = dict(spec.options)
    for key, value in merged.items():
        if key in _HTTP_KEYS:
            http[key] = _checked(where, key, value)
        elif key in spec.options:
            options[key] = value
        else:
            known = ", ".join(sorted({*_HTTP_KEYS, *spec.options}))
            raise ConfigError(f"{where} {key}: unknown key; known keys: {known}")
    if not isinstance(http.get("base_url"), str) or not http["base_url"].startswith("http"):
        raise ConfigError(f"{where} base_url = {http.get('base_url')!r}: must be an http(s) URL")
    http["base_url"] = http["base_url"].rstrip("/")
    missing = sorted(key for key in spec.required if options.get(key) in (None, ""))
    if missing:
        hints = "; ".join(
            f"set {key} in {where} or SCANCTL_DATA_{prefix.upper()}{key.upper()}" for key in missing
        )
        raise ConfigError(f"provider {spec.name!r} needs credentials: {hints}")
    return ProviderConfig(spec.name, HttpSettings(**http), MappingProxyType(options))


def _checked(where: str, key: str, value: Any) -> Any:
    """``value`` when it has the key's type and range (ints accepted for floats)."""
    if key in ("provider", "base_url", "user_agent"):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} {key} = {value!r}: must be a non-empty string")
        return value
    low, high, integer = _BOUNDS[key]
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not numeric or (integer and not isinstance(value, int)) or not math.isfinite(value):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{where} {key} = {value!r}: must be {kind}")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"{low if low is not None else '-∞'} … {high if high is not None else '∞'}"
        raise ConfigError(f"{where} {key} = {value!r}: out of range {span}")
    return value if integer else float(value)


def _table_names(name: str) -> tuple[str, ...]:
    """TOML table keys accepted for a provider (``krx-openapi`` and ``krx_openapi``)."""
    return tuple(dict.fromkeys((name, name.replace("-", "_"))))


def _env_prefix(name: str) -> str:
    """The flattened key prefix of ``SCANCTL_DATA_<NAME>_<KEY>`` variables."""
    return name.replace("-", "_").lower() + "_"


def _provider_of(key: str, providers: Mapping[str, str]) -> str | None:
    """The provider a ``[data]`` key belongs to (its table, or a ``<name>_`` variable)."""
    for name in providers:
        if key in _table_names(name) or key.startswith(_env_prefix(name)):
            return name
    return None
