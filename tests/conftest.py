"""Shared fixtures: an isolated environment for every test (no SCANCTL_* leaking in, a pinned
clock, XDG folders under tmp), real SQLite files, and the shared real-data folder."""

from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.fixture
def shared_krx() -> Path:
    if not (SHARED_KRX / "ohlcv.csv.gz").exists():
        pytest.skip("../shared/data/krx is not present")
    return SHARED_KRX


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120):
    """Run `python -m scanctl ARGS` in a real subprocess; returns CompletedProcess (text)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "scanctl", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )
