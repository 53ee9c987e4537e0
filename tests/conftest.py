"""Shared fixtures: an isolated environment for every test (no SCANCTL_* leaking in, a pinned
clock, XDG folders under tmp, the scanctl logger restored), real SQLite files, the shared
real-data folder, and `run_cli`, which runs the CLI in process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_KRX = REPO.parent / "shared" / "data" / "krx"
PINNED_NOW = "2025-11-28T18:00:00"  # a Friday evening in Seoul, after the close


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("SCANCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("SCANCTL_NOW", PINNED_NOW)


@pytest.fixture(autouse=True)
def restored_logger() -> Iterator[None]:
    """The root callback points the scanctl logger at the stderr of its invocation; put the
    logger back as it was, so that no later test logs into a finished CliRunner stream."""
    with _scanctl_logger_restored():
        yield


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "scanctl.db"


@pytest.fixture
def db(db_path: Path):
    from scanctl.store.db import open_db

    database = open_db(db_path)
    yield database
    database.conn.close()


@pytest.fixture
def shared_krx() -> Path:
    if not (SHARED_KRX / "ohlcv.csv.gz").exists():
        pytest.skip("../shared/data/krx is not present")
    return SHARED_KRX


def scanctl_command(*args: str) -> list[str]:
    """The argv of `python -m scanctl ARGS`, for tests that need a process of their own."""
    return [sys.executable, "-m", "scanctl", *args]


def run_cli(
    *args: str,
    env: dict | None = None,
    process: bool = False,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """Run `scanctl ARGS` and return a CompletedProcess (text ``stdout`` and ``stderr`` apart).

    In process by default: Typer's CliRunner invokes `scanctl.cli.main.app` with ``env``
    patched into os.environ for the call, stdin empty and not a TTY (as under cron), stdout
    and stderr captured separately. An exception that escapes the app ends as it would in a
    process: its traceback on stderr and exit code 1. ``process=True`` runs a real
    `python -m scanctl` child instead, for the tests whose point is a process boundary.
    """
    if process:
        return subprocess.run(
            scanctl_command(*args),
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            timeout=timeout,
        )
    assert cwd is None, "run_cli(cwd=...) needs process=True"
    from typer.testing import CliRunner

    from scanctl.cli.main import app

    with _scanctl_logger_restored():
        result = CliRunner().invoke(app, list(args), env=env, prog_name="scanctl")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["scanctl", *args], result.exit_code, result.stdout, stderr)


@contextmanager
def _scanctl_logger_restored() -> Iterator[None]:
    from scanctl.logs import LOGGER

    logger = logging.getLogger(LOGGER)
    handlers, propagate, level = list(logger.handlers), logger.propagate, logger.level
    try:
        yield
    finally:
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(level)
