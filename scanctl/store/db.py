"""Opening the store: path resolution, checks before anything is touched, WAL, migrations.

`open_db` looks before it writes. A missing or empty file is created only when the caller
creates stores (`data import|demo|sync`); a read-only file or folder, a file that is not SQLite,
a SQLite file without scanctl's schema and a newer schema are refused with a `StoreError`
(exit 2) while the file is still exactly as it was: the look is a read-only connection that
writes nothing, and journal mode and migrations come only after it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from scanctl.errors import StoreError
from scanctl.store.schema import MIGRATIONS, SCHEMA_VERSION, tables_at

DB_ENV = "SCANCTL_DB"
CREATING_COMMANDS = "`scanctl data import`, `data demo` or `data sync`"


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/scanctl/scanctl.db`` (``~/.local/share`` when XDG_DATA_HOME is unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "scanctl" / "scanctl.db"


def open_db(path: str | Path | None = None, *, create: bool = True) -> sqlite_utils.Database:
    """Open (and, when allowed, create) the store, migrated to the current schema.

    Parameters
    ----------
    path
        The database file; None means the XDG default, whose folder is created when ``create``.
        An explicit path must be in an existing folder.
    create
        Whether a missing or empty file may become a new store. The CLI allows it only for
        ``data import``, ``data demo`` and ``data sync``; every other command gets the error.

    Raises
    ------
    StoreError
        The folder is missing; the store is missing or empty and ``create`` is false; the file
        or its folder is read-only; the file is not SQLite, is a SQLite file without scanctl's
        tables, or has a schema newer than this scanctl. The file is not modified.
    """
    db_path = Path(path) if path is not None else default_db_path()
    if path is None and create:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    exists = db_path.is_file() and db_path.stat().st_size > 0
    if not exists and not create:
        why = ""
        if not db_path.parent.is_dir():
            why = " (its folder does not exist)"
        elif db_path.is_dir():
            why = " (that is a folder)"
        elif db_path.exists():
            why = " (an empty file)"
        raise StoreError(
            f"no scanctl store at {str(db_path)!r}{why}; create one with {CREATING_COMMANDS}, "
            "or point --db / SCANCTL_DB at the right file"
        )
    if not db_path.parent.is_dir():
        raise StoreError(f"database folder {str(db_path.parent)!r} does not exist")
    _check_writable(db_path)
    version = _identify(db_path) if exists else 0
    if version == 0 and not create:
        raise StoreError(
            f"no scanctl store at {str(db_path)!r} (an empty database); create one with "
            f"{CREATING_COMMANDS}"
        )
    try:
        conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA busy_timeout = 30000")
        if version < SCHEMA_VERSION:
            db.enable_wal()
            _migrate(db)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{str(db_path)!r} is not a usable scanctl database ({exc})") from None
    return db


def _check_writable(db_path: Path) -> None:
    """Refuse a store this process cannot write: the file, or the folder that holds its
    ``-wal``, ``-shm`` and ``.lock`` files (read-only mount, permissions)."""
    if db_path.exists() and not os.access(db_path, os.R_OK | os.W_OK):
        raise StoreError(
            f"the store {str(db_path)!r} is read-only for this user; scanctl needs to read and "
            "write it (check its permissions and the mount)"
        )
    if not os.access(db_path.parent, os.W_OK | os.X_OK):
        raise StoreError(
            f"the folder {str(db_path.parent)!r} of the store is read-only for this user; "
            f"scanctl writes {db_path.name}-wal, -shm and .lock files beside the store"
        )


def _identify(db_path: Path) -> int:
    """The schema version of an existing file, looked at without changing it.

    Returns 0 for a SQLite file with no tables at all (a new store may be created in it).

    Raises
    ------
    StoreError
        Not a SQLite file; tables but not scanctl's; a version newer than this scanctl.
    """
    uri = db_path.resolve().as_uri() + "?mode=ro"
    if not Path(f"{db_path}-wal").exists():
        # Everything is in the main file: read it as it is, without the locks and the -shm
        # file that a WAL-mode file would otherwise get beside it.
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            objects = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{str(db_path)!r} is not a usable scanctl database ({exc})") from None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{str(db_path)!r} has schema version {version}, newer than this scanctl's "
            f"{SCHEMA_VERSION}; upgrade scanctl"
        )
    names = sorted(name for _, name in objects if not name.startswith("sqlite_"))
    tables = {name for kind, name in objects if kind == "table"}
    missing = sorted(tables_at(version) - tables) if version else []
    if (version == 0 and names) or missing:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        why = f"it holds {shown}" if version == 0 else f"missing table(s) {', '.join(missing)}"
        raise StoreError(
            f"{str(db_path)!r} is a SQLite file but not a scanctl store ({why}); left untouched, "
            "point --db / SCANCTL_DB at a scanctl store"
        )
    return version


def column_list(table: str, columns: Sequence[str], known: Sequence[str]) -> str:
    """``columns`` joined for a SELECT of ``table``, refusing a name that is not one of its
    ``known`` columns (the names go into the SQL text)."""
    unknown = [column for column in columns if column not in known]
    if unknown:
        raise ValueError(f"not a {table} column: {', '.join(unknown)}")
    return ", ".join(columns)


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
