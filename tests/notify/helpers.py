"""Shared builders for the notifier tests (secrets here are fake but realistically shaped)."""

from __future__ import annotations

import time
from typing import Any

from pytest_httpserver import HTTPServer

from scanctl.config import Config
from scanctl.notify.config import NotifySettings, load_notify_settings

TELEGRAM_TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ra"
SOLAPI_KEY = "NCSAYU7YDBXYORXC"
SOLAPI_SECRET = "ULJ1ICZKN3TAX0VTVBLHE1EHXJ6YDQ7S"
WEBHOOK_TOKEN = "Zk3wQ9vT7mB2xR8pL4sN6dH1jF5gC0aE"


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def settings_for(channels: dict[str, dict[str, Any]], **notify: Any) -> NotifySettings:
    """NotifySettings through the real parser, as if read from a config file."""
    return load_notify_settings(Config(sections={"notify": {**notify, "channels": channels}}))


def telegram(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    base = server.url_for("/").rstrip("/")
    return {
        "type": "telegram",
        "bot_token": TELEGRAM_TOKEN,
        "chat_id": "-100200",
        **extra,
        "base_url": base,
    }


def solapi(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {
        "type": "solapi",
        "api_key": SOLAPI_KEY,
        "api_secret": SOLAPI_SECRET,
        "pf_id": "KA01PF2501010000000000000000000",
        "template_id": "KA01TP2501010000000000000000000",
        "from": "02-1234-5678",
        "to": ["010-1234-5678", "01098765432"],
        "base_url": server.url_for("/").rstrip("/"),
        "alerts": False,
        **extra,
    }


def webhook(server: HTTPServer, path: str, type_: str = "webhook", **extra: Any) -> dict:
    """A webhook-style channel whose secret token is the last path segment."""
    return {"type": type_, "webhook_url": server.url_for(f"{path}/{WEBHOOK_TOKEN}"), **extra}


def wait_for_log(server, count: int) -> None:
    """Let a slow handler finish, so that its reply does not land in the next test's log."""
    deadline = time.monotonic() + 5
    while len(server.log) < count and time.monotonic() < deadline:
        time.sleep(0.02)
