"""The channels: one small class per type, each sending a `Message` with one or more POSTs.

Every channel has ``name`` and ``send(message, session, progress=None) -> provider message id
| None`` and raises `DeliveryError` (see `scanctl.notify.transport`) when the message was not
confirmed. Request shapes (ECOSYSTEM.md §3.1):

- telegram: ``POST {base_url}/bot{token}/sendMessage`` ``{chat_id, text, parse_mode: HTML,
  link_preview_options: {is_disabled: true}}`` (``link_preview_options`` replaced the
  deprecated ``disable_web_page_preview`` in the Bot API); ``<``, ``>``, ``&`` escaped; cut
  into parts of at most 4096 characters.
- slack: ``POST {webhook_url}`` ``{text}`` with ``&``, ``<``, ``>`` escaped as ``&amp;``,
  ``&lt;``, ``&gt;`` (Slack's "Escaping text": those three are control characters in
  message text); parts of at most 35,000 characters.
- discord: ``POST {webhook_url}?wait=true`` ``{content, username, allowed_mentions}`` (parts
  of at most 2000 characters; ``wait=true`` makes Discord return the message id).
- webhook: ``POST {webhook_url}`` with `Message.to_payload` plus ``"source": "scanctl"``.
- solapi: Kakao AlimTalk, in `scanctl.notify.solapi`.

A message cut into parts is sent part by part, each accepted part reported to the
`SendProgress`; a retry sends only the parts not yet accepted. Only Solapi can look a delivery
up afterwards (`SolapiChannel.settle`); the others have no idempotency key and no look-up, so
a delivery whose reply was lost stays ``unknown`` (see `scanctl.notify.outbox`).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import requests

from scanctl.notify.config import ChannelConfig
from scanctl.notify.message import Message
from scanctl.notify.solapi import SolapiChannel
from scanctl.notify.transport import (
    DeliveryError,
    SendProgress,
    Settled,
    Timeout,
    post_json,
    response_json,
    split_text,
    url_secrets,
)

TELEGRAM_LIMIT = 4096
SLACK_LIMIT = 35_000
DISCORD_LIMIT = 2000


class Channel(Protocol):
    """What the outbox needs from a channel."""

    name: str

    def send(
        self, message: Message, session: requests.Session, progress: SendProgress | None = None
    ) -> str | None: ...


@runtime_checkable
class SettlingChannel(Channel, Protocol):
    """A channel that can look up a delivery whose outcome is unknown (Solapi)."""

    def settle(self, reference: str | None, session: requests.Session) -> Settled: ...


def _html_cost(char: str) -> int:
    return len(html.escape(char, quote=False))


def slack_escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;`` and ``&gt;`` (Slack's message escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _send_parts(
    parts: list[str],
    progress: SendProgress | None,
    send_part: Callable[[str], str | None],
) -> str | None:
    """Send the parts not yet delivered, reporting each to ``progress``; the ids of all."""
    progress = progress or SendProgress()
    for part in parts[progress.parts_done :]:
        progress.part_sent(send_part(part))
    return ",".join(progress.part_ids) or None


class TelegramChannel:
    """A Telegram bot posting to one chat (HTML parse mode)."""

    def __init__(
        self,
        name: str,
        *,
        bot_token: str,
        chat_id: str,
        base_url: str = "https://api.telegram.org",
        disable_notification: bool = False,
        timeout: Timeout = 30.0,
    ) -> None:
        self.name = name
        self._token = bot_token
        self.chat_id = chat_id
        self.base_url = base_url.rstrip("/")
        self.disable_notification = disable_notification
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"TelegramChannel(name={self.name!r}, chat_id={self.chat_id!r})"

    def send(
        self, message: Message, session: requests.Session, progress: SendProgress | None = None
    ) -> str | None:
        url = f"{self.base_url}/bot{self._token}/sendMessage"

        def send_part(part: str) -> str | None:
            body = {
                "chat_id": self.chat_id,
                "text": html.escape(part, quote=False),
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
                "disable_notification": self.disable_notification,
            }
            response = post_json(
                session, url, body, timeout=self.timeout, secrets=(self._token, url)
            )
            data = response_json(response)
            result = data.get("result") if isinstance(data, dict) else None
            if not isinstance(result, dict) or data.get("ok") is not True:
                raise DeliveryError(
                    f"Telegram replied HTTP {response.status_code} without ok/result",
                    retryable=False,
                    status=response.status_code,
                )
            return str(result.get("message_id", "")) or None

        parts = split_text(message.text, TELEGRAM_LIMIT, _html_cost)
        return _send_parts(parts, progress, send_part)


class SlackChannel:
    """A Slack incoming webhook (the reply is the text ``ok``; there is no message id)."""

    def __init__(self, name: str, *, webhook_url: str, timeout: Timeout = 30.0) -> None:
        self.name = name
        self._url = webhook_url
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SlackChannel(name={self.name!r})"

    def send(
        self, message: Message, session: requests.Session, progress: SendProgress | None = None
    ) -> str | None:
        def send_part(part: str) -> None:
            post_json(
                session,
                self._url,
                {"text": slack_escape(part)},
                timeout=self.timeout,
                secrets=url_secrets(self._url),
            )

        parts = split_text(message.text, SLACK_LIMIT, lambda char: len(slack_escape(char)))
        return _send_parts(parts, progress, send_part)


class DiscordChannel:
    """A Discord webhook, called with ``wait=true`` so that the reply carries the message id."""

    def __init__(
        self, name: str, *, webhook_url: str, username: str = "scanctl", timeout: Timeout = 30.0
    ) -> None:
        self.name = name
        self._url = webhook_url
        self.username = username
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"DiscordChannel(name={self.name!r})"

    def send(
        self, message: Message, session: requests.Session, progress: SendProgress | None = None
    ) -> str | None:
        def send_part(part: str) -> str | None:
            body = {
                "content": part,
                "username": self.username,
                "allowed_mentions": {"parse": []},
            }
            response = post_json(
                session,
                self._url,
                body,
                params={"wait": "true"},
                timeout=self.timeout,
                secrets=url_secrets(self._url),
            )
            data = response_json(response)
            if isinstance(data, dict) and data.get("id") is not None:
                return str(data["id"])
            return None

        return _send_parts(split_text(message.text, DISCORD_LIMIT), progress, send_part)


class WebhookChannel:
    """A generic JSON webhook: the structured message, in one POST."""

    def __init__(self, name: str, *, webhook_url: str, timeout: Timeout = 30.0) -> None:
        self.name = name
        self._url = webhook_url
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"WebhookChannel(name={self.name!r})"

    def send(
        self, message: Message, session: requests.Session, progress: SendProgress | None = None
    ) -> str | None:
        body = {"source": "scanctl", **message.to_payload()}
        response = post_json(
            session, self._url, body, timeout=self.timeout, secrets=url_secrets(self._url)
        )
        data = response_json(response)
        if isinstance(data, dict):
            found = data.get("id", data.get("message_id"))
            if isinstance(found, str | int) and not isinstance(found, bool):
                return str(found)
        return None


def build_channel(config: ChannelConfig, timeout: Timeout) -> Channel:
    """The sender for one configured channel, with ``timeout`` seconds per request (one
    number, or (connect, read))."""
    options = dict(config.options)
    if config.type == "telegram":
        return TelegramChannel(config.name, timeout=timeout, **options)
    if config.type == "slack":
        return SlackChannel(config.name, timeout=timeout, **options)
    if config.type == "discord":
        return DiscordChannel(config.name, timeout=timeout, **options)
    if config.type == "webhook":
        return WebhookChannel(config.name, timeout=timeout, **options)
    if config.type == "solapi":
        return SolapiChannel.from_options(config.name, options, timeout=timeout)
    raise ValueError(f"channel {config.name!r}: unknown type {config.type!r}")
