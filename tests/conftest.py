"""Shared fixtures: an isolated environment for every test (no SCANCTL_* leaking in, a pinned
clock, XDG folders under tmp, the scanctl logger restored), real SQLite files, stores built
once per session (the real data of ../shared/data/krx, a demo market) to copy, and `run_cli`,
which runs the CLI in process."""

from __future__ import annotations

import fcntl
import logging
import os
import pickle
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

REPO = Path(__file__).resolve().parents[1]
SHARED_KRX = REPO.parent / "shared" / "data" / "krx"
PINNED_NOW = "2025-11-28T18:00:00"  # a Friday evening in Seoul, after the close


def built_once(tmp_path_factory, name: str, build: Callable[[Path], object]) -> tuple[Path, object]:
    """A store file built once per test run and shared by every pytest-xdist worker: the first
    worker builds it under a lock, the others wait and reuse it. ``build(path)`` writes the file
    and returns a picklable value (kept beside it). Tests copy the file, never write to it."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path, value_path = shared / name, shared / f"{name}.value"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            building = shared / f"{name}.building"
            value = build(building)
            value_path.write_bytes(pickle.dumps(value))
            os.replace(building, path)
    return path, pickle.loads(value_path.read_bytes())


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("SCANCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("SCANCTL_NOW", PINNED_NOW)
    from scanctl.cli.context import CI_VARIABLES, MAKE_VARIABLE

    for name in (*CI_VARIABLES, MAKE_VARIABLE):  # a run records its trigger from them
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def restored_logger() -> Iterator[None]:
    """The root callback points the scanctl logger at the stderr of its invocation; put the
    logger back as it was, so that no later test logs into a finished CliRunner stream."""
    with _scanctl_logger_restored():
        yield


@pytest.fixture(scope="session")
def _threaded_server() -> Iterator[HTTPServer]:
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    yield httpserver
    httpserver.clear()
    httpserver.stop()  # waits up to half a second for the serving loop: once per session


@pytest.fixture
def server(_threaded_server: HTTPServer) -> HTTPServer:
    """A threaded HTTP server on 127.0.0.1 (a slow reply does not hold up the next request),
    shared by the session and cleared for every test."""
    _threaded_server.clear()
    return _threaded_server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "scanctl.db"


@pytest.fixture
def store_path(db_path: Path) -> Path:
    """A new, empty scanctl store on disk (only `data import|demo|sync` create one)."""
    from scanctl.store.db import open_db

    open_db(db_path).conn.close()
    return db_path


@pytest.fixture
def db(db_path: Path):
    from scanctl.store.db import open_db

    database = open_db(db_path)
    yield database
    database.conn.close()


@pytest.fixture(scope="session")
def real_krx_import(tmp_path_factory):
    """The real data of ../shared/data/krx imported once into a store: ``(path, report)``;
    skipped when the folder is absent. Tests copy the file (`real_krx_db`), never write to it."""
    if not (SHARED_KRX / "ohlcv.csv.gz").exists():
        pytest.skip("../shared/data/krx is not present")
    from scanctl.store.db import open_db
    from scanctl.store.importer import import_files

    def build(path: Path):
        db = open_db(path)
        report = import_files(
            db,
            SHARED_KRX / "ohlcv.csv.gz",
            SHARED_KRX / "tickers.csv",
            SHARED_KRX / "indexes.csv.gz",
        )
        db.conn.close()  # checkpoints the WAL, so the file alone is the whole store
        return report

    return built_once(tmp_path_factory, "real-krx.db", build)


@pytest.fixture
def real_krx_db(real_krx_import, tmp_path: Path) -> Path:
    """A private copy of the store holding the real data."""
    path = tmp_path / "real.db"
    shutil.copy(real_krx_import[0], path)
    return path


@pytest.fixture(scope="session")
def demo_seed1_template(tmp_path_factory) -> Path:
    """`install_demo_market(300 tickers, 260 sessions, seed 1)` under the pinned clock, built
    once per session; tests copy the file and never write to it."""
    from scanctl.providers.demo import install_demo_market
    from scanctl.store.db import open_db

    def build(path: Path) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SCANCTL_NOW", PINNED_NOW)
            db = open_db(path)
            install_demo_market(db, n_tickers=300, n_sessions=260, seed=1)
            db.conn.close()  # checkpoints the WAL, so the file alone is the whole store

    return built_once(tmp_path_factory, "demo-seed1.db", build)[0]


def scanctl_command(*args: str) -> list[str]:
    """The argv of `python -m scanctl ARGS`, for tests that need a process of their own."""
    return [sys.executable, "-m", "scanctl", *args]


def run_cli(
    *args: str,
    env: dict | None = None,
    process: bool = False,
    cwd: Path | None = None,
    timeout: float = 120,
    input: bytes | None = None,
) -> subprocess.CompletedProcess:
    """Run `scanctl ARGS` and return a CompletedProcess (text ``stdout`` and ``stderr`` apart).

    In process by default: Typer's CliRunner invokes `scanctl.cli.main.app` with ``env``
    patched into os.environ for the call, stdin ``input`` (else empty) and not a TTY (as under
    cron), stdout and stderr captured separately. An exception that escapes the app ends as it
    would in a process: its traceback on stderr and exit code 1. ``process=True`` runs a real
    `python -m scanctl` child instead, for the tests whose point is a process boundary.
    """
    if process:
        done = subprocess.run(
            scanctl_command(*args),
            capture_output=True,
            input=input,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            timeout=timeout,
        )
        return subprocess.CompletedProcess(
            done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
        )
    assert cwd is None, "run_cli(cwd=...) needs process=True"
    from typer.testing import CliRunner

    from scanctl.cli.main import app

    _reuse_built_command()
    with _scanctl_logger_restored():
        result = CliRunner().invoke(app, list(args), input=input, env=env, prog_name="scanctl")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["scanctl", *args], result.exit_code, result.stdout, stderr)


def _reuse_built_command() -> None:
    """Build the Click command tree of a Typer app once per test process, not on every
    CliRunner.invoke (about 27 ms a call): Click commands keep no per-invocation state, and a
    real `scanctl` process builds its tree once too."""
    import functools

    import typer.testing

    if not hasattr(typer.testing._get_command, "cache_info"):
        typer.testing._get_command = functools.lru_cache(maxsize=8)(typer.testing._get_command)


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
