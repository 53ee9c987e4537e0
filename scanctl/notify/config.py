"""The ``[notify]`` and ``[healthcheck]`` sections, parsed once into frozen, validated settings.

Shape (PRODUCT.md §6, §7)::

    [notify]
    template = "default"      # or a path to a text file with {date}, {count}, {versions}
                              # (relative paths are read next to the config file)
    min_matched = 1           # the daily message needs max matched count >= this (0 = always)
    top_n = 3                 # picks listed per version (0 = counts only)
    c_name = "고객님"          # AlimTalk #{c_name}
    timeout_s = 30            # seconds to wait for a reply once a request is sent
    connect_timeout_s = 10    # seconds to open a connection
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
    timeout_s = 10
    attempts = 3              # per ping; a failed ping never fails the run
    backoff_s = 1.0

Every key is declared once, with `scanctl.config.setting`: `NotifySettings` (``[notify]``),
`HealthcheckSettings` (``[healthcheck]``), and one `ChannelConfig` subclass per channel type
(``[notify.channels.<name>]``), whose shared keys ``type``, ``daily`` and ``alerts`` are declared
on `ChannelConfig` itself. `describe` lists them all for ``config keys`` and the README.

Every value can also come from ``SCANCTL_NOTIFY_<KEY>``; a channel key from
``SCANCTL_NOTIFY_CHANNELS_<NAME>_<KEY>`` (e.g. ``SCANCTL_NOTIFY_CHANNELS_OPS_BOT_TOKEN``). The
channel name is matched against the channels of the file first, else it is the text up to the
next underscore. A bad value is reported with the key's table and where it came from::

    [notify.channels.ops] daily must be true or false, got 1 (from config file '/etc/s.toml')

Secret keys (``api_key``, ``api_secret``, ``bot_token``, ``webhook_url``, ``ping_url``) are
declared ``secret``: they stay out of reprs, error messages never repeat their values, and they
all match `scanctl.config.is_secret_key`, so `config show` masks them. The channel name ``log`` is
reserved for the outbox row of a message that had no channel.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from scanctl.config import Config, KeyDoc, SettingError, setting
from scanctl.errors import ConfigError
from scanctl.notify.channel_config import (
    CHANNEL_CONFIGS,
    CHANNEL_TYPES,
    LOG_CHANNEL,
    ChannelConfig,
    TidySection,
    parse_channels,
)

__all__ = [
    "CHANNEL_TYPES",
    "LOG_CHANNEL",
    "ChannelConfig",
    "HealthcheckSettings",
    "NotifySettings",
    "check_template",
    "describe",
    "load_healthcheck_settings",
    "load_notify_settings",
]

TEMPLATE_FIELDS = ("date", "count", "versions")


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class NotifySettings(TidySection):
    """The ``[notify]`` section, with the channels of ``[notify.channels.<name>]`` and the text
    of the template file (None for the default template)."""

    SECTION: ClassVar[str] = "notify"
    FLOAT_NUMBERS: ClassVar[bool] = True

    channels: tuple[ChannelConfig, ...] = ()
    template: str = setting(
        "default",
        "'default', or the path of a text file with {date}, {count} and {versions} (relative "
        "paths are read next to the config file)",
    )
    template_text: str | None = field(default=None, repr=False)
    min_matched: int = setting(
        1,
        "the daily message needs a version with at least this many picks (0 = always)",
        ge=0,
        le=100_000,
    )
    top_n: int = setting(3, "picks listed per version (0 = counts only)", ge=0, le=50)
    c_name: str = setting("고객님", "the AlimTalk #{c_name} variable")
    timeout_s: float = setting(
        30.0,
        "seconds to wait for a reply once a request is sent (a reply that does not come in "
        "time makes the delivery unknown, never resent automatically)",
        ge=0.05,
        le=300.0,
    )
    connect_timeout_s: float = setting(
        10.0, "seconds to open a connection (a failure is retried)", ge=0.05, le=300.0
    )
    max_attempts: int = setting(
        4,
        "attempts per channel and delivery run, for failures that provably did not deliver",
        ge=1,
        le=10,
    )
    backoff_s: float = setting(
        1.0,
        "base of the exponential backoff between attempts, seconds (with jitter)",
        ge=0.0,
        le=60.0,
    )
    max_retry_after_s: float = setting(
        60.0, "a 429's Retry-After is honoured up to this many seconds", ge=0.0, le=3600.0
    )

    def channels_for(self, kind: str) -> tuple[ChannelConfig, ...]:
        """The channels that receive a message of ``kind``."""
        return tuple(channel for channel in self.channels if channel.receives(kind))

    def channel(self, name: str) -> ChannelConfig | None:
        return next((channel for channel in self.channels if channel.name == name), None)

    @property
    def timeouts(self) -> tuple[float, float]:
        """``(connect, read)`` seconds, as `requests` takes them."""
        return (self.connect_timeout_s, self.timeout_s)

    def secret_values(self) -> tuple[str, ...]:
        """Every secret of every channel (URLs with their path parts), to scrub from texts."""
        return tuple(secret for channel in self.channels for secret in channel.secret_values())


@dataclass(frozen=True)
class HealthcheckSettings(TidySection):
    """The ``[healthcheck]`` section: the ping URL (None = no pings), its timeout and retries."""

    SECTION: ClassVar[str] = "healthcheck"
    FLOAT_NUMBERS: ClassVar[bool] = True

    ping_url: str | None = setting(
        None,
        "pinged after every scheduled run, /fail appended on failure (unset = no pings)",
        kind="url",
        secret=True,
    )
    timeout_s: float = setting(10.0, "seconds per ping", ge=0.05, le=120.0)
    attempts: int = setting(
        3,
        "tries per ping (connection errors, timeouts, 429 and 5xx are tried again; a ping "
        "that still fails is logged and never fails the run)",
        ge=1,
        le=10,
    )
    backoff_s: float = setting(
        1.0, "seconds before the second try, doubled for each further one", ge=0.0, le=60.0
    )


def describe() -> list[KeyDoc]:
    """Every declared key of ``[notify]``, ``[healthcheck]`` and each channel type's table."""
    docs = [*NotifySettings.describe(), *HealthcheckSettings.describe()]
    for config_class in CHANNEL_CONFIGS.values():
        docs.extend(config_class.describe())
    return docs


# --------------------------------------------------------------------------- loading


def load_notify_settings(config: Config) -> NotifySettings:
    """Parse and validate ``[notify]`` and its channels (file and ``SCANCTL_NOTIFY_*``).

    Raises
    ------
    ConfigError
        Naming the table and key (``[notify.channels.ops] chat_id``), what it accepts, the value
        unless it is a secret, and where it came from.
    """
    section = dict(config.section("notify"))
    origin = config.origin("notify")
    channels = parse_channels(section, origin)
    known = NotifySettings.declared()
    unknown = next((key for key in section if key not in known), None)
    if unknown is not None:
        listed = ", ".join((*known, "channels.<name>"))
        error = SettingError("notify", unknown, f"unknown key {unknown!r}; known keys: {listed}")
        raise error.located(origin)
    settings = dataclasses.replace(NotifySettings.from_mapping(section, origin), channels=channels)
    if settings.template == "default":
        return settings
    try:
        text = _read_template(settings.template, config.path)
    except SettingError as exc:
        raise exc.located(origin) from None
    return dataclasses.replace(settings, template_text=text)


def load_healthcheck_settings(config: Config) -> HealthcheckSettings:
    """Parse ``[healthcheck]``: ``ping_url`` (optional, http/https) and ``timeout_s``.

    Raises
    ------
    ConfigError
        An unknown key (``url`` gets a hint: it would not be masked), a bad URL or timeout.
    """
    section = config.section("healthcheck")
    origin = config.origin("healthcheck")
    if "url" in section:
        raise SettingError(
            "healthcheck",
            "url",
            "url: use ping_url (SCANCTL_HEALTHCHECK_PING_URL), which `config show` masks",
        ).located(origin)
    return HealthcheckSettings.from_mapping(section, origin)


def _read_template(template: str, config_path: Path | None) -> str:
    path = Path(template).expanduser()
    if not path.is_absolute() and config_path is not None:
        path = config_path.parent / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingError(
            "notify", "template", f"template: cannot read {str(path)!r} ({exc})"
        ) from None
    check_template(text, f"[notify] template ({str(path)!r})")
    return text


def check_template(text: str, where: str = "[notify] template") -> None:
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
