"""Opening the store: path resolution, WAL, the schema version and forward migrations."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from scanctl.errors import StoreError
from scanctl.store.schema import MIGRATIONS, SCHEMA_VERSION

DB_ENV = "SCANCTL_DB"


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/scanctl/scanctl.db`` (``~/.local/share`` when XDG_DATA_HOME is unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "scanctl" / "scanctl.db"


def open_db(path: str | Path | None = None, *, create: bool = True) -> sqlite_utils.Database:
    """Open (and on first use create) the store, migrated to the current schema.

    Parameters
    ----------
    path
        The database file; None means the XDG default, whose folder is created when missing.
        An explicit path must be in an existing folder.
    create
        False refuses to create a missing file (read-only commands on a fresh machine).

    Raises
    ------
    StoreError
        The folder is missing, the file is not a SQLite database, or its schema is newer than
        this scanctl understands.
    """
    db_path = Path(path) if path is not None else default_db_path()
    if path is None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    if not db_path.parent.is_dir():
        raise StoreError(f"database folder {str(db_path.parent)!r} does not exist")
    if not create and not db_path.exists():
        raise StoreError(
            f"no database at {str(db_path)!r}; run `scanctl data demo` or `data import`"
        )
    try:
        conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA busy_timeout = 30000")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            db.enable_wal()
            _migrate(db)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{str(db_path)!r} is not a usable scanctl database ({exc})") from None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{str(db_path)!r} has schema version {version}, newer than this scanctl's "
            f"{SCHEMA_VERSION}; upgrade scanctl"
        )
    return db


def schema_version(db: sqlite_utils.Database) -> int:
    """The database's schema version (``PRAGMA user_version``)."""
    return db.execute("PRAGMA user_version").fetchone()[0]


def db_file(db: sqlite_utils.Database) -> str | None:
    """The file of the main database; None for an in-memory or temporary store."""
    path = next(row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main")
    return path or None


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction taken up front (``BEGIN IMMEDIATE``): all of it lands, or none.

    Taking the write lock at the start means a concurrent writer waits on ``busy_timeout``
    instead of failing half-way when a read transaction would need upgrading.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:  # broad-except: roll back whatever failed, then re-raise it
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _migrate(db: sqlite_utils.Database) -> None:
    """Apply the migrations after the stored version in one transaction.

    The version is read again under the write lock, so two processes opening a new file at once
    migrate it exactly once.
    """
    with write_transaction(db):
        version = schema_version(db)
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                db.execute(statement)
        if version < SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
