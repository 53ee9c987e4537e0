"""Fixtures for the provider tests: the fake Naver on 127.0.0.1 (the threaded pytest-httpserver
is `server` of tests/conftest.py), HTTP clients with fast test timings, the session calendar,
and the log lines as the CLI writes them."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scanctl.logs import LOGGER, configure_logging
from scanctl.market.calendar import KrxCalendar
from scanctl.providers.breaker import Breaker
from scanctl.providers.http import HttpClient
from scanctl.providers.settings import HttpSettings
from tests.providers.naver_server import FakeNaver

# Fast but otherwise real policy: tiny backoffs, short timeouts, no rate limit to speak of.
FAST = {
    "timeout_s": 0.5,
    "connect_timeout_s": 0.5,
    "backoff_s": 0.01,
    "max_backoff_s": 0.02,
    "rate_per_s": 1_000.0,
}


@pytest.fixture
def fake_naver() -> Iterator[FakeNaver]:
    with FakeNaver() as fake:
        yield fake


@pytest.fixture
def calendar() -> KrxCalendar:
    return KrxCalendar()


@pytest.fixture
def sessions(calendar: KrxCalendar) -> list[dt.date]:
    """The XKRX sessions of October and November 2025 (the pinned clock is 2025-11-28)."""
    return calendar.sessions_in_range(dt.date(2025, 10, 1), dt.date(2025, 11, 28))


@pytest.fixture
def make_client(db) -> Iterator[Callable[..., HttpClient]]:
    """``make_client(base_url, secrets=(), **settings)``: a client on the test store's breaker."""
    clients: list[HttpClient] = []

    def make(base_url: str, secrets: tuple[str, ...] = (), **settings: Any) -> HttpClient:
        http = HttpSettings(base_url=base_url, **{**FAST, **settings})
        client = HttpClient("testsrc", http, Breaker.load(db, "testsrc"), secrets=secrets)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


class Sleeps:
    """An injected ``sleep``: records every wait and, instead of waiting, moves the clocks of
    the fake servers in ``clocks`` (objects with a ``skew_s``) forward by it."""

    def __init__(self, *clocks: Any) -> None:
        self.calls: list[float] = []
        self.clocks = list(clocks)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        for clock in self.clocks:
            clock.skew_s += seconds


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def stderr_logs() -> Iterator[Callable[[], str]]:
    """The scanctl log lines exactly as the CLI formats them for stderr (text mode, -v)."""
    logger = logging.getLogger(LOGGER)
    saved = (list(logger.handlers), logger.propagate, logger.level)
    configure_logging(verbose=1)
    buffer = io.StringIO()
    for handler in logger.handlers:
        handler.setStream(buffer)
    yield buffer.getvalue
    logger.handlers[:], logger.propagate = saved[0], saved[1]
    logger.setLevel(saved[2])
