"""A small demo market built once per session; each test scans its own copy."""

import shutil
import sqlite3

import pytest

from scanctl.providers.demo import install_demo_market
from scanctl.store.db import open_db

DEMO_LAST_SESSION = "2025-11-28"  # SCANCTL_NOW is pinned to that Friday, 18:00 KST


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    mp = pytest.MonkeyPatch()
    mp.setenv("SCANCTL_NOW", "2025-11-28T18:00:00")
    db = open_db(path)
    install_demo_market(db, n_tickers=300, n_sessions=240, seed=2)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    mp.undo()
    return path


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
