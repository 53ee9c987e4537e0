"""The notification channels, ``[notify.channels.<name>]``: one declared section per type.

`ChannelConfig` declares the keys every channel has (``type``, ``daily``, ``alerts``); each type
declares its own keys in a subclass (`SolapiChannelConfig`, `TelegramChannelConfig`,
`SlackChannelConfig`, `DiscordChannelConfig`, `WebhookChannelConfig`): required keys have the
default None and are listed in ``REQUIRED``, URLs are ``kind="url"``, secrets ``secret=True``.
`parse_channels` turns the ``channels`` table of ``[notify]`` and the
``SCANCTL_NOTIFY_CHANNELS_<NAME>_<KEY>`` variables into validated channels; the senders read
a channel's `ChannelConfig.options`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, cast

from scanctl.config import (
    RULE,
    KeyDoc,
    Origin,
    Rule,
    Section,
    SettingError,
    is_secret_key,
    setting,
)
from scanctl.notify.transport import url_secrets

CHANNEL_TYPES = ("solapi", "telegram", "slack", "discord", "webhook")
LOG_CHANNEL = "log"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class TidySection(Section):
    """A section whose text values are stripped before the declared rules check them, and where
    an empty value of a key without a default counts as unset."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            rule: Rule | None = f.metadata.get(RULE)
            if rule is None:
                continue
            value = getattr(self, f.name)
            if rule.kind == "text" and isinstance(value, str):
                value = value.strip()
            if f.default is None and value in ("", [], ()):
                value = None
            object.__setattr__(self, f.name, value)
        super().__post_init__()

    @classmethod
    def declared(cls) -> tuple[str, ...]:
        """The fields that are configuration keys (not the parsed extras such as `channels`)."""
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        return tuple(f.name for f in fields if RULE in f.metadata)


# --------------------------------------------------------------------------- channels


@dataclass(frozen=True)
class ChannelConfig(TidySection):
    """One named channel, ``[notify.channels.<name>]``: what it receives, and (in the subclass of
    its type) the keys its sender needs.

    The shared keys are declared here; a type declares its own keys in a subclass, with
    ``TYPE``, the ``REQUIRED`` keys (declared with default None) and ``ALERTS``, its default for
    `alerts`. Secrets are declared ``secret`` and so stay out of ``repr``.
    """

    SECTION: ClassVar[str] = "notify.channels.<name>"
    TYPE: ClassVar[str | None] = None
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    ALERTS: ClassVar[bool] = True
    # config key → field, for the keys that are Python keywords
    FIELDS: ClassVar[Mapping[str, str]] = MappingProxyType({"from": "from_"})

    name: str = ""  # the table's name, not a key
    type: str = setting(
        None,
        "the channel type: it picks the sender and its keys",
        kind="text",
        choices=CHANNEL_TYPES,
    )
    daily: bool = setting(True, "receives the daily message")
    alerts: bool = setting(
        None,
        "receives `failure` alerts (default true; false for solapi, which sends approved "
        "templates only)",
        kind="flag",
    )

    def __post_init__(self) -> None:
        if self.type is None:
            object.__setattr__(self, "type", self.TYPE)
        if self.alerts is None:
            object.__setattr__(self, "alerts", self.ALERTS)
        super().__post_init__()

    def validate(self) -> None:
        if self.TYPE is not None and self.type != self.TYPE:
            raise self.fail("type", repr(self.TYPE), self.type)
        for key in self.REQUIRED:
            if getattr(self, self.FIELDS.get(key, key)) is None:
                needs = ", ".join(self.REQUIRED)
                raise self.problem(key, f"missing; a {self.type} channel needs {needs}")

    @property
    def table(self) -> str:
        """``notify.channels.<name>``: where the channel's keys live."""
        return f"notify.channels.{self.name}" if self.name else self.SECTION

    def fail(
        self, name: str, expected: str, value: object, *, secret: bool = False
    ) -> SettingError:
        """The error for the key of field ``name``, in this channel's table."""
        error = cast(SettingError, super().fail(_key(name), expected, value, secret=secret))
        return SettingError(self.table, error.key, error.problem)

    def problem(self, key: str, text: str) -> SettingError:
        """``[notify.channels.<name>] <key>: <text>``, for a rule no single value breaks."""
        return SettingError(self.table, key, f"{key}: {text}")

    @property
    def options(self) -> Mapping[str, Any]:
        """The keys of the channel's type (by config key, secrets included), for its sender."""
        shared = {f.name for f in dataclasses.fields(ChannelConfig)}
        return MappingProxyType(
            {
                _key(f.name): getattr(self, f.name)
                for f in dataclasses.fields(self)
                if f.name not in shared
            }
        )

    def receives(self, kind: str) -> bool:
        """Whether a message of ``kind`` (daily, failure, test) goes to this channel."""
        return (
            kind == "test"
            or (kind == "daily" and self.daily)
            or (kind == "failure" and self.alerts)
        )

    def secret_values(self) -> tuple[str, ...]:
        """The channel's secrets (URLs with their path parts), to scrub from texts."""
        found: list[str] = []
        for f in dataclasses.fields(self):
            rule = f.metadata.get(RULE)
            value = getattr(self, f.name)
            if rule is not None and _is_secret(f.name, rule) and isinstance(value, str):
                found.extend(url_secrets(value) if rule.kind == "url" else (value,))
        return tuple(found)

    @classmethod
    def config_keys(cls) -> tuple[str, ...]:
        """The keys a table of this type accepts, as written in the config."""
        return tuple(_key(name) for name in cls.declared())

    def to_record(self) -> dict[str, Any]:
        return {_key(name): value for name, value in super().to_record().items()}

    @classmethod
    def describe(cls) -> list[KeyDoc]:
        """The keys of a table of this type, each with ``when = 'type = "<type>"'``."""
        docs = []
        for doc in super().describe():
            changes: dict[str, Any] = {"key": _key(doc.key)}
            if doc.key == "alerts":
                changes["default"] = cls.ALERTS
            if cls.TYPE is not None:
                changes["when"] = f'type = "{cls.TYPE}"'
                if doc.key == "type":
                    changes.update(default=cls.TYPE, accepts=f'"{cls.TYPE}"')
            if changes["key"] in cls.REQUIRED:
                changes["accepts"] = f"{doc.accepts}; required"
            docs.append(dataclasses.replace(doc, **changes))
        return docs


def _key(field_name: str) -> str:
    """The config key of a channel field (``from_`` → ``from``)."""
    return next(
        (key for key, name in ChannelConfig.FIELDS.items() if name == field_name), field_name
    )


def _is_secret(name: str, rule: Rule) -> bool:
    return rule.secret or is_secret_key(name)


def _as_text(value: Any) -> Any:
    """An integer as its digits (a chat id or phone number that TOML or the environment read as
    a number); anything else unchanged."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@dataclass(frozen=True)
class SolapiChannelConfig(ChannelConfig):
    """``type = "solapi"``: Kakao AlimTalk through Solapi (`scanctl.notify.solapi`)."""

    TYPE: ClassVar[str | None] = "solapi"
    REQUIRED: ClassVar[tuple[str, ...]] = (
        "api_key",
        "api_secret",
        "pf_id",
        "template_id",
        "from",
        "to",
    )
    ALERTS: ClassVar[bool] = False

    api_key: str = setting(None, "the Solapi API key", kind="text", secret=True)
    api_secret: str = setting(
        None, "the Solapi API secret (signs every request)", kind="text", secret=True
    )
    pf_id: str = setting(None, "the Kakao channel's profile id (pfId)", kind="text")
    template_id: str = setting(
        None,
        "the approved template of the daily and test messages (#{s_date}, #{s_num}, #{c_name})",
        kind="text",
    )
    from_: str = setting(None, "the registered sender number", kind="text")
    to: tuple[str, ...] = setting(None, "the recipients: one phone number or a list", kind="texts")
    base_url: str = setting("https://api.solapi.com", "the Solapi API", kind="url")
    alert_template_id: str | None = setting(
        None, "the approved template of failure alerts (needed with alerts = true)", kind="text"
    )
    disable_sms: bool = setting(False, "turns off Solapi's SMS fallback")

    def __post_init__(self) -> None:
        object.__setattr__(self, "from_", _as_text(self.from_))
        if self.to not in (None, "", [], ()):  # one number, or a list of them
            numbers = self.to if isinstance(self.to, list | tuple) else [self.to]
            object.__setattr__(self, "to", [_as_text(number) for number in numbers])
        super().__post_init__()

    def validate(self) -> None:
        super().validate()
        object.__setattr__(self, "from_", self._phone("from_", self.from_))
        object.__setattr__(self, "to", tuple(self._phone("to", number) for number in self.to))
        if self.alerts and not self.alert_template_id:
            raise self.problem(
                "alerts",
                "AlimTalk sends only pre-approved templates; set alert_template_id to an "
                "approved alert template, or alerts = false",
            )

    def _phone(self, name: str, value: str) -> str:
        digits = value.replace("-", "").strip()
        if not digits.isdigit() or not 8 <= len(digits) <= 15:
            raise self.fail(name, "a phone number of 8 to 15 digits ('-' allowed)", value)
        return digits


@dataclass(frozen=True)
class TelegramChannelConfig(ChannelConfig):
    """``type = "telegram"``: a bot posting to one chat."""

    TYPE: ClassVar[str | None] = "telegram"
    REQUIRED: ClassVar[tuple[str, ...]] = ("bot_token", "chat_id")

    bot_token: str = setting(None, "the bot's token (from @BotFather)", kind="text", secret=True)
    chat_id: str = setting(None, "the chat, group or channel id (e.g. -100…)", kind="text")
    base_url: str = setting("https://api.telegram.org", "the Bot API", kind="url")
    disable_notification: bool = setting(False, "delivers silently (no sound)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "chat_id", _as_text(self.chat_id))
        super().__post_init__()


@dataclass(frozen=True)
class WebhookChannelConfig(ChannelConfig):
    """``type = "webhook"``: POSTs the message as JSON; also the base of slack and discord."""

    TYPE: ClassVar[str | None] = "webhook"
    REQUIRED: ClassVar[tuple[str, ...]] = ("webhook_url",)

    webhook_url: str = setting(
        None, "the webhook URL (its path carries the token)", kind="url", secret=True
    )


@dataclass(frozen=True)
class SlackChannelConfig(WebhookChannelConfig):
    """``type = "slack"``: an incoming webhook."""

    TYPE: ClassVar[str | None] = "slack"


@dataclass(frozen=True)
class DiscordChannelConfig(WebhookChannelConfig):
    """``type = "discord"``: a webhook, with the name the messages appear under."""

    TYPE: ClassVar[str | None] = "discord"

    username: str = setting("scanctl", "the name the messages appear under")


CHANNEL_CONFIGS: Mapping[str, type[ChannelConfig]] = MappingProxyType(
    {
        "solapi": SolapiChannelConfig,
        "telegram": TelegramChannelConfig,
        "slack": SlackChannelConfig,
        "discord": DiscordChannelConfig,
        "webhook": WebhookChannelConfig,
    }
)


def parse_channels(section: dict[str, Any], origin: Origin) -> tuple[ChannelConfig, ...]:
    """Pop the channels out of the ``[notify]`` keys ``section`` and validate each one.

    ``origin`` is where each ``[notify]`` key came from.

    Raises
    ------
    ConfigError
        A bad table or name, a missing or unknown type, a key the type does not accept, a bad
        value or a missing required key; named with the table, the key and the value's source.
    """
    tables, sources = _channel_tables(section, origin)
    return tuple(
        _channel(name, table, _channel_origin(name, sources, origin))
        for name, table in tables.items()
    )


def _channel_tables(
    section: dict[str, Any], origin: Origin
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], str]]:
    """Pop ``channels`` (a table of tables) and the flat ``channels_<name>_<key>`` env keys.

    Returns the tables by channel name, and for each (name, key) the ``[notify]`` key its value
    came from (``channels``, or ``channels_ops_bot_token``), to name its source.
    """
    raw = section.pop("channels", {})
    if not isinstance(raw, Mapping):
        raise SettingError(
            "notify", "channels", "channels: expected a table of channels, [notify.channels.NAME]"
        ).located(origin)
    tables: dict[str, dict[str, Any]] = {}
    sources: dict[tuple[str, str], str] = {}
    for name, table in raw.items():
        if not isinstance(table, Mapping):
            raise SettingError(
                f"notify.channels.{name}",
                "",
                "expected a table with a `type` key",
                origin("channels"),
            )
        tables[str(name)] = dict(table)
        sources.update({(str(name), key): "channels" for key in table})
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
            raise SettingError(
                "notify",
                key,
                f"{key}: use SCANCTL_NOTIFY_CHANNELS_<NAME>_<KEY>, "
                "e.g. SCANCTL_NOTIFY_CHANNELS_OPS_BOT_TOKEN",
            ).located(origin)
        tables.setdefault(name, {})[option] = value
        sources[(name, option)] = key
    return tables, sources


def _channel_origin(name: str, sources: Mapping[tuple[str, str], str], origin: Origin) -> Origin:
    """Where each key of channel ``name`` came from."""

    def where(key: str) -> str | None:
        source = sources.get((name, key))
        return origin(source) if source is not None else None

    return where


def _channel(name: str, table: Mapping[str, Any], origin: Origin) -> ChannelConfig:
    """The validated channel ``name`` of the type its ``type`` key names.

    Raises
    ------
    ConfigError
        A bad name, a missing or unknown type, a key the type does not accept, a bad value or
        a missing required key.
    """
    if not _NAME.match(name) or name == LOG_CHANNEL:
        raise SettingError(
            f"notify.channels.{name}",
            "",
            f"channel names use letters, digits, '_' and '-' ('{LOG_CHANNEL}' is reserved)",
            origin(next(iter(table), "")),
        )
    kind = table.get("type")
    config_class = CHANNEL_CONFIGS.get(kind) if isinstance(kind, str) else None
    if config_class is None:
        unknown = ChannelConfig(name=name)
        if kind in (None, ""):
            error = unknown.problem("type", f"missing; use one of {', '.join(CHANNEL_TYPES)}")
        else:
            error = unknown.fail("type", f"one of {', '.join(CHANNEL_TYPES)}", kind)
        raise error.located(origin)
    known = config_class.config_keys()
    for key in table:
        if key not in known:
            raise SettingError(
                f"notify.channels.{name}",
                key,
                f"unknown key {key!r} for type {kind!r}; known keys: {', '.join(known)}",
            ).located(origin)
    values = {ChannelConfig.FIELDS.get(key, key): value for key, value in table.items()}
    try:
        return config_class(name=name, **values)
    except SettingError as exc:
        raise exc.located(origin) from None
