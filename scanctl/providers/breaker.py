"""The per-source circuit breaker, recorded in ``source_state`` so it survives across cron runs.

A block (an HTML error page where XML/JSON was expected, an HTTP 403 that carries no error code
the provider documents, or a source's own block notice) opens the breaker for ``breaker_hours``
(24 h): retrying a block makes it worse (ECOSYSTEM.md §1.1, 2026-08-04). A documented harmless
or credential code never does, even in a 403 (KIS EGW00133, EGW00103: `http.HttpClient`'s
``check_error``). The reason recorded, and shown in every refusal, names the signal. While
it is open every request is refused before it is sent. It closes by itself when the time has
passed, or by `reset_breaker` (``scanctl data sync --source NAME --reset-breaker``).

The state is read once when the provider is built; opening it may happen on a worker thread,
so it is written through a short-lived connection of its own (SQLite connections are bound to
their thread; `scanctl.store.sources`), and kept in memory for the rest of the run.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import sqlite_utils

from scanctl.clock import now_kst, stored_datetime
from scanctl.logs import get_logger
from scanctl.providers.base import SourceBlocked
from scanctl.store.db import db_file
from scanctl.store.sources import (
    SourceState,
    read_source_state,
    save_source_state,
    save_source_state_in_file,
)

log = get_logger("providers.breaker")

RESET_HINT = "scanctl data sync --source {source} --reset-breaker"


@dataclass(frozen=True)
class BreakerState:
    """A source's row in ``source_state``; ``blocked_until`` None means closed."""

    source: str
    blocked_until: dt.datetime | None
    reason: str | None
    updated_at: str | None

    def is_open(self, now: dt.datetime) -> bool:
        return self.blocked_until is not None and now < self.blocked_until


class Breaker:
    """One source's breaker: refuses requests while open, opens on a block.

    Parameters
    ----------
    source
        The provider name (``source_state.source``).
    state
        The stored state when the provider was built.
    db_path
        The store's file, written by `open`; None (an in-memory store) keeps the state in
        memory only.
    hours
        How long a block keeps the source shut.
    """

    def __init__(
        self, source: str, state: BreakerState | None, db_path: str | None, hours: float
    ) -> None:
        self.source = source
        self.hours = hours
        self._state = state or BreakerState(source, None, None, None)
        self._db_path = db_path
        self._lock = threading.Lock()

    @classmethod
    def load(cls, db: sqlite_utils.Database, source: str, hours: float = 24.0) -> Breaker:
        """The breaker of ``source`` as stored in ``db``."""
        return cls(source, breaker_state(db, source), db_file(db), hours)

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state

    def raise_if_open(self) -> None:
        """Refuse a request while the breaker is open.

        Raises
        ------
        SourceBlocked
            With the time it reopens, the reason and how to reset it.
        """
        state = self.state
        if state.is_open(now_kst()):
            raise SourceBlocked(blocked_message(state))

    def open(self, reason: str) -> SourceBlocked:
        """Open the breaker for ``hours`` (recorded in the store); returns the error to raise."""
        now = now_kst()
        with self._lock:
            if self._state.is_open(now):  # a concurrent request tripped it already
                return SourceBlocked(blocked_message(self._state))
            until = (now + dt.timedelta(hours=self.hours)).replace(microsecond=0)
            stamp = now.isoformat(timespec="seconds")
            self._state = BreakerState(self.source, until, reason, stamp)
            if self._db_path is not None:
                _write_state(self._db_path, self._state)
        log.error(
            "source blocked; circuit breaker open",
            extra={"fields": {"source": self.source, "until": until.isoformat(), "reason": reason}},
        )
        return SourceBlocked(blocked_message(self._state))


def blocked_message(state: BreakerState) -> str:
    """What an operator reads when a source is shut."""
    until = state.blocked_until.strftime("%Y-%m-%d %H:%M") if state.blocked_until else "?"
    hint = RESET_HINT.format(source=state.source)
    return (
        f"source {state.source!r} is blocked until {until} KST ({state.reason}); nothing was "
        f"fetched. It reopens by itself then; once the cause is fixed, `{hint}` reopens it now"
    )


def breaker_state(db: sqlite_utils.Database, source: str) -> BreakerState | None:
    """The stored breaker of ``source`` (None when it never tripped)."""
    row = read_source_state(db, source)
    if row is None:
        return None
    until = stored_datetime(row.blocked_until) if row.blocked_until else None
    return BreakerState(source, until, row.reason, row.updated_at)


def reset_breaker(db: sqlite_utils.Database, source: str) -> bool:
    """Close the breaker of ``source``; returns whether it was open."""
    was_open = bool((state := breaker_state(db, source)) and state.is_open(now_kst()))
    save_source_state(db, SourceState(source, None, None, now_kst().isoformat(timespec="seconds")))
    log.info("circuit breaker reset", extra={"fields": {"source": source, "was_open": was_open}})
    return was_open


def _write_state(path: str, state: BreakerState) -> None:
    until = state.blocked_until.isoformat() if state.blocked_until else None
    row = SourceState(state.source, until, state.reason, state.updated_at)
    save_source_state_in_file(path, row)
