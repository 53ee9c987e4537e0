"""Fixtures for the notifier tests (the threaded HTTP server on 127.0.0.1 is `server` of
tests/conftest.py): a requests session, a closed port, a sleep recorder, the log lines."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Callable, Iterator

import pytest
import requests

from scanctl.logs import LOGGER, configure_logging
from tests.notify.helpers import HangupServer, SleepRecorder


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hangup_server() -> Iterator[HangupServer]:
    """Reads each request in full, then closes the connection without a reply."""
    server = HangupServer()
    yield server
    server.close()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def stderr_logs() -> Iterator[Callable[[], str]]:
    """The scanctl log lines exactly as the CLI formats them for stderr (text mode, -v), read
    with the returned function; the logger is restored afterwards."""
    logger = logging.getLogger(LOGGER)
    saved = (list(logger.handlers), logger.propagate, logger.level)
    configure_logging(verbose=1)
    buffer = io.StringIO()
    for handler in logger.handlers:
        handler.setStream(buffer)
    yield buffer.getvalue
    logger.handlers[:], logger.propagate = saved[0], saved[1]
    logger.setLevel(saved[2])
