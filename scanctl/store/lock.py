"""The writer lock: an exclusive `flock` on a file next to the store it guards.

Every command that writes market data, results or deliveries holds it for its whole run: `scan`,
`backfill`, `data import`, `data sync`, `data demo` and `notify retry`; a second one gets
`LockBusy` (exit 75) before it fetches or writes anything. (One-row operator edits, `settings
set` and `calendar overrides add|remove`, are single transactions and do not wait for a run.)
The library functions that write (`run_sync`, `import_files`, …) do not take it themselves, so
a holder can call them (`scan --sync` syncs under the scan's lock).

The kernel releases a `flock` when its process ends, however it ends (even `kill -9`), so a
crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scanctl.clock import now_kst
from scanctl.errors import BadInput, LockBusy


def lock_path_for(db_path: Path) -> Path:
    """``scanctl.db`` → ``scanctl.db.lock`` in the same folder."""
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def run_lock(path: Path) -> Iterator[Path]:
    """Hold the exclusive run lock at ``path`` for the duration of the block.

    Raises
    ------
    LockBusy
        Another process holds it (exit 75).
    BadInput
        The lock file cannot be created (a read-only folder, for example).
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise BadInput(f"cannot create the lock file {str(path)!r}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").split() or ["unknown"]
            raise LockBusy(
                f"another scanctl run holds {str(path)!r} (pid {holder[0]}); "
                "try again when it ends"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {now_kst().isoformat()}".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def lock_holder(path: Path) -> tuple[str, dt.datetime] | None:
    """Who holds the lock at ``path`` and since when, or None when it is free (or absent)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, _, since = os.pread(fd, 128, 0).decode(errors="replace").partition(" ")
            try:
                started = dt.datetime.fromisoformat(since.strip())
            except ValueError:
                started = dt.datetime.fromtimestamp(os.fstat(fd).st_mtime, now_kst().tzinfo)
            return pid or "unknown", started
        return None
    finally:
        os.close(fd)
