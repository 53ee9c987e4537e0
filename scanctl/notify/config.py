"""The ``[notify]`` and ``[healthcheck]`` sections, parsed once into frozen, validated settings.

Shape (PRODUCT.md §6, §7)::

    [notify]
    template = "default"      # or a path to a text file with {date}, {count}, {versions}
                              # (relative paths are read next to the config file)
    min_matched = 1           # the daily message needs max matched count >= this (0 = always)
    top_n = 3                 # picks listed per version (0 = counts only)
    c_name = "고객님"          # AlimTalk #{c_name}
    timeout_s = 10            # per HTTP request
    max_attempts = 4          # per channel and delivery run
    backoff_s = 1.0           # base of the exponential backoff (with jitter)
    max_retry_after_s = 60    # a 429's Retry-After is honoured up to this

    [notify.channels.kakao]   # any number of named channels; `type` picks the sender
    type = "solapi"
    api_key = "…"
    api_secret = "…"
    pf_id = "…"
    template_id = "…"         # the approved daily template (#{s_date}, #{s_num}, #{c_name})
    alert_template_id = "…"   # needed only with alerts = true (AlimTalk sends approved text only)
    from = "0212345678"
    to = ["01012345678"]      # one number or a list
    disable_sms = false       # optional; true turns off Solapi's SMS fallback
    base_url = "https://api.solapi.com"
    daily = true              # receives the daily message (default true)
    alerts = false            # receives `failure` alerts (default true; false for solapi)

    [notify.channels.ops]
    type = "telegram"         # bot_token, chat_id; optional base_url, disable_notification
    [notify.channels.team]
    type = "slack"            # webhook_url
    [notify.channels.desk]
    type = "discord"          # webhook_url; optional username (default "scanctl")
    [notify.channels.hook]
    type = "webhook"          # webhook_url: POSTs the message as JSON

    [healthcheck]
    ping_url = "https://hc-ping.com/<uuid>"
    timeout_s = 5

Every value can also come from ``SCANCTL_NOTIFY_<KEY>``; a channel key from
``SCANCTL_NOTIFY_CHANNELS_<NAME>_<KEY>`` (e.g. ``SCANCTL_NOTIFY_CHANNELS_OPS_BOT_TOKEN``). The
channel name is matched against the channels of the file first, else it is the text up to the
next underscore. Secret keys (``api_key``, ``api_secret``, ``bot_token``, ``webhook_url``,
``ping_url``) all match `scanctl.config.is_secret_key`, so `config show` masks them; error
messages about them never repeat their values. The channel name ``log`` is reserved for the
outbox row of a message that had no channel.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from scanctl.config import Config, is_secret_key
from scanctl.errors import ConfigError
from scanctl.notify.transport import url_secrets

CHANNEL_TYPES = ("solapi", "telegram", "slack", "discord", "webhook")
DEFAULT_BASE_URLS = {"solapi": "https://api.solapi.com", "telegram": "https://api.telegram.org"}
TEMPLATE_FIELDS = ("date", "count", "versions")
LOG_CHANNEL = "log"

_COMMON_KEYS = ("type", "daily", "alerts")
# type → (required keys, optional keys)
_CHANNEL_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "solapi": (
        ("api_key", "api_secret", "pf_id", "template_id", "from", "to"),
        ("base_url", "alert_template_id", "disable_sms"),
    ),
    "telegram": (("bot_token", "chat_id"), ("base_url", "disable_notification")),
    "slack": (("webhook_url",), ()),
    "discord": (("webhook_url",), ("username",)),
    "webhook": (("webhook_url",), ()),
}
_URL_KEYS = {"webhook_url", "base_url"}
_BOOL_KEYS = {"daily", "alerts", "disable_sms", "disable_notification"}
_PHONE_KEYS = {"from", "to"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class ChannelConfig:
    """One named channel: its type, what it receives, and its type-specific options.

    ``options`` holds the validated keys of the type (secrets included), with ``base_url``
    filled in for solapi and telegram; it is left out of ``repr`` so that secrets never reach a
    log line or a traceback.
    """

    name: str
    type: str
    daily: bool = True
    alerts: bool = True
    options: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def receives(self, kind: str) -> bool:
        """Whether a message of ``kind`` (daily, failure, test) goes to this channel."""
        return (
            kind == "test"
            or (kind == "daily" and self.daily)
            or (kind == "failure" and self.alerts)
        )


@dataclass(frozen=True)
class NotifySettings:
    """The validated ``[notify]`` section (defaults as in the module docstring)."""

    channels: tuple[ChannelConfig, ...] = ()
    template: str = "default"
    template_text: str | None = field(default=None, repr=False)
    min_matched: int = 1
    top_n: int = 3
    c_name: str = "고객님"
    timeout_s: float = 10.0
    max_attempts: int = 4
    backoff_s: float = 1.0
    max_retry_after_s: float = 60.0

    def channels_for(self, kind: str) -> tuple[ChannelConfig, ...]:
        """The channels that receive a message of ``kind``."""
        return tuple(channel for channel in self.channels if channel.receives(kind))

    def channel(self, name: str) -> ChannelConfig | None:
        return next((channel for channel in self.channels if channel.name == name), None)

    def secret_values(self) -> tuple[str, ...]:
        """Every secret of every channel (URLs with their path parts), to scrub from texts."""
        found: list[str] = []
        for channel in self.channels:
            for key, value in channel.options.items():
                if is_secret_key(key) and isinstance(value, str):
                    found.extend(url_secrets(value) if key in _URL_KEYS else (value,))
        return tuple(found)


@dataclass(frozen=True)
class HealthcheckSettings:
    """The ``[healthcheck]`` section: the ping URL (None = no pings) and its timeout."""

    ping_url: str | None = field(default=None, repr=False)
    timeout_s: float = 5.0


def load_notify_settings(config: Config) -> NotifySettings:
    """Parse and validate ``[notify]`` (file and ``SCANCTL_NOTIFY_*``).

    Raises
    ------
    ConfigError
        Naming the key (``notify.channels.ops.chat_id``) and, unless it is a secret, the value.
    """
    section = dict(config.section("notify"))
    channel_tables = _channel_tables(section)
    known = {
        "template",
        "min_matched",
        "top_n",
        "c_name",
        "timeout_s",
        "max_attempts",
        "backoff_s",
        "max_retry_after_s",
    }
    for key in section:
        if key not in known:
            raise ConfigError(
                f"notify.{key}: unknown key; known: {', '.join(sorted(known))}, channels.<name>"
            )
    template = section.get("template", "default")
    if not isinstance(template, str) or not template.strip():
        raise ConfigError("notify.template: expected 'default' or the path of a template file")
    return NotifySettings(
        channels=tuple(_channel(name, table) for name, table in channel_tables.items()),
        template=template,
        template_text=None if template == "default" else _read_template(template, config.path),
        min_matched=_integer(section, "min_matched", 1, 0, 100_000),
        top_n=_integer(section, "top_n", 3, 0, 50),
        c_name=_text("notify.c_name", section.get("c_name", "고객님")),
        timeout_s=_number(section, "timeout_s", 10.0, 0.05, 300.0),
        max_attempts=_integer(section, "max_attempts", 4, 1, 10),
        backoff_s=_number(section, "backoff_s", 1.0, 0.0, 60.0),
        max_retry_after_s=_number(section, "max_retry_after_s", 60.0, 0.0, 3600.0),
    )


def load_healthcheck_settings(config: Config) -> HealthcheckSettings:
    """Parse ``[healthcheck]``: ``ping_url`` (optional, http/https) and ``timeout_s``.

    Raises
    ------
    ConfigError
        An unknown key (``url`` gets a hint: it would not be masked), a bad URL or timeout.
    """
    section = dict(config.section("healthcheck"))
    for key in section:
        if key == "url":
            raise ConfigError(
                "healthcheck.url: use healthcheck.ping_url (SCANCTL_HEALTHCHECK_PING_URL), "
                "which `config show` masks"
            )
        if key not in ("ping_url", "timeout_s"):
            raise ConfigError(f"healthcheck.{key}: unknown key; known: ping_url, timeout_s")
    url = section.get("ping_url")
    url = None if url in (None, "") else _url("healthcheck.ping_url", url).rstrip("/")
    return HealthcheckSettings(
        ping_url=url, timeout_s=_number(section, "timeout_s", 5.0, 0.05, 120.0, "healthcheck")
    )


def _channel_tables(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Pop ``channels`` (a table of tables) and the flat ``channels_<name>_<key>`` env keys."""
    raw = section.pop("channels", {})
    if not isinstance(raw, Mapping):
        raise ConfigError("notify.channels: expected a table of channels, [notify.channels.NAME]")
    tables: dict[str, dict[str, Any]] = {}
    for name, table in raw.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"notify.channels.{name}: expected a table with a `type` key")
        tables[str(name)] = dict(table)
    flat = sorted(key for key in section if key.startswith("channels_"))
    for key in flat:
        value = section.pop(key)
        rest = key[len("channels_") :]
        name = next(
            (
                existing
                for existing in sorted(tables, key=len, reverse=True)
                if rest.startswith(f"{existing.lower()}_")
            ),
            None,
        )
        if name is None:
            name, _, _ = rest.partition("_")
        option = rest[len(name) + 1 :]
        if not name or not option:
            raise ConfigError(
                f"notify.{key}: use SCANCTL_NOTIFY_CHANNELS_<NAME>_<KEY>, "
                "e.g. SCANCTL_NOTIFY_CHANNELS_OPS_BOT_TOKEN"
            )
        tables.setdefault(name, {})[option] = value
    return tables


def _channel(name: str, table: Mapping[str, Any]) -> ChannelConfig:
    where = f"notify.channels.{name}"
    if not _NAME.match(name) or name == LOG_CHANNEL:
        raise ConfigError(
            f"{where}: channel names use letters, digits, '_' and '-' ('{LOG_CHANNEL}' is reserved)"
        )
    kind = table.get("type")
    if kind not in CHANNEL_TYPES:
        raise ConfigError(f"{where}.type: expected one of {', '.join(CHANNEL_TYPES)}, got {kind!r}")
    required, optional = _CHANNEL_KEYS[kind]
    for key in table:
        if key not in (*_COMMON_KEYS, *required, *optional):
            allowed = ", ".join((*_COMMON_KEYS, *required, *optional))
            raise ConfigError(f"{where}.{key}: unknown key for type {kind!r}; known: {allowed}")
    options: dict[str, Any] = {}
    for key in required:
        if table.get(key) in (None, "", []):
            needs = ", ".join(required)
            raise ConfigError(f"{where}.{key}: missing; a {kind} channel needs {needs}")
    for key in (*required, *optional):
        if key in table:
            options[key] = _option(f"{where}.{key}", key, table[key])
    if kind in DEFAULT_BASE_URLS:
        options.setdefault("base_url", DEFAULT_BASE_URLS[kind])
    daily = _flag(table, where, "daily", True)
    alerts = _flag(table, where, "alerts", kind != "solapi")
    if kind == "solapi" and alerts and not options.get("alert_template_id"):
        raise ConfigError(
            f"{where}.alerts: AlimTalk sends only pre-approved templates; set "
            f"{where}.alert_template_id to an approved alert template or alerts = false"
        )
    return ChannelConfig(
        name=name, type=kind, daily=daily, alerts=alerts, options=MappingProxyType(options)
    )


def _option(where: str, key: str, value: Any) -> Any:
    if key in _URL_KEYS:
        return _url(where, value).rstrip("/")
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if key == "to":
        values = value if isinstance(value, list) else [value]
        return tuple(_phone(where, item) for item in values)
    if key in _PHONE_KEYS:
        return _phone(where, value)
    if key == "chat_id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(where, value)


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        shown = "a secret value" if is_secret_key(where.rsplit(".", 1)[-1]) else repr(value)
        raise ConfigError(f"{where}: expected a non-empty string, got {shown}")
    return value.strip()


def _url(where: str, value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        # The value is never shown: webhook and ping URLs carry their tokens in the path.
        raise ConfigError(f"{where}: expected an http:// or https:// URL")
    return value.strip()


def _phone(where: str, value: Any) -> str:
    text = str(value).replace("-", "").strip() if isinstance(value, str | int) else ""
    if not text.isdigit() or not 8 <= len(text) <= 15:
        raise ConfigError(f"{where}: expected a phone number of digits, got {value!r}")
    return text


def _flag(table: Mapping[str, Any], where: str, key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _integer(
    section: Mapping[str, Any], key: str, default: int, low: int, high: int, name: str = "notify"
) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name}.{key}: expected an integer from {low} to {high}, got {value!r}")
    return value


def _number(
    section: Mapping[str, Any],
    key: str,
    default: float,
    low: float,
    high: float,
    name: str = "notify",
) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(
            f"{name}.{key}: expected a number from {low:g} to {high:g}, got {value!r}"
        )
    return float(value)


def _read_template(template: str, config_path: Path | None) -> str:
    path = Path(template).expanduser()
    if not path.is_absolute() and config_path is not None:
        path = config_path.parent / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"notify.template: cannot read {str(path)!r} ({exc})") from None
    check_template(text, f"notify.template ({str(path)!r})")
    return text


def check_template(text: str, where: str = "notify.template") -> None:
    """A template may use only ``{date}``, ``{count}`` and ``{versions}`` (``{{`` for a brace).

    Raises
    ------
    ConfigError
        An unknown or malformed placeholder.
    """
    allowed = ", ".join("{" + name + "}" for name in TEMPLATE_FIELDS)
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ConfigError(
            f"{where}: {exc}; placeholders are {allowed}, '{{{{' for a literal brace"
        ) from None
    for name in fields:
        if name not in TEMPLATE_FIELDS:
            raise ConfigError(f"{where}: unknown placeholder {{{name}}}; use {allowed}")
