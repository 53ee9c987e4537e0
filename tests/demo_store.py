"""A small demo market built once per session; each test scans its own copy (the fixtures of
tests/jobs and tests/reports), and helpers to read what a run stored."""

import shutil
import sqlite3
import time

import pytest

from scanctl.providers.demo import install_demo_market
from scanctl.store.db import open_db
from tests.conftest import built_once

DEMO_LAST_SESSION = "2025-11-28"  # SCANCTL_NOW is pinned to that Friday, 18:00 KST


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    def build(path):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SCANCTL_NOW", "2025-11-28T18:00:00")
            db = open_db(path)
            install_demo_market(db, n_tickers=300, n_sessions=240, seed=2)
            db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.conn.close()

    return built_once(tmp_path_factory, "demo-template.db", build)[0]


@pytest.fixture
def scan_db(demo_template, tmp_path):
    path = tmp_path / "scan.db"
    shutil.copy(demo_template, path)
    return path


def dump(path, table, where=""):
    """Every row of a table (all columns), sorted: for full row comparisons."""
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute(f"SELECT * FROM {table} {where}").fetchall(), key=repr)
    finally:
        conn.close()


def wait_for_lock_holder(db_path, process, timeout=60.0):
    """Return once ``process`` holds the run lock of the store at ``db_path`` (the lock file
    then carries its pid), instead of sleeping for a guess of how long it needs to get there."""
    from scanctl.store.lock import lock_holder, lock_path_for

    lock = lock_path_for(db_path)
    deadline = time.monotonic() + timeout
    while True:
        try:
            holder = lock_holder(lock)
            if holder is not None and holder[0] == str(process.pid):
                return
        except FileNotFoundError:
            pass
        assert process.poll() is None, f"exited with {process.returncode} before taking the lock"
        assert time.monotonic() < deadline, "the run lock was never taken"
        time.sleep(0.02)


def wait_for_write_transaction(db_path, process, timeout=60.0):
    """Return once ``process`` has a write transaction open on the store at ``db_path``: our own
    ``BEGIN IMMEDIATE`` is refused at once while another connection holds the write lock."""
    deadline = time.monotonic() + timeout
    while True:
        conn = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                return
            raise
        finally:
            conn.close()
        assert process.poll() is None, f"exited with {process.returncode} before writing"
        assert time.monotonic() < deadline, "no write transaction was ever opened"
        time.sleep(0.02)
