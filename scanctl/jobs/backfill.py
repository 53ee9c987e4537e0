"""`scanctl backfill`: rescan past sessions from stored data, with no notifications.

The bars of the whole range are read once; each session is then scanned on a view of that
panel that is exactly what `scan --date D` would read, so the stored rows are identical to a
per-date scan (tested). Indicators cannot be shared between dates: every date's window starts
at a different bar and the EMAs are seeded there (ENGINES.md §0.4); instead the windows of
consecutive dates are computed side by side in one batch (`prepare_runs`), for the universe
members only. Each date is written in its own transaction (trigger `backfill`): an
interrupted backfill leaves whole dates behind, and a rerun replaces each (date, version).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from scanctl.clock import check_range
from scanctl.errors import BadInput, DataNotReady, ExitCode
from scanctl.jobs.daily import run_versions, save_session
from scanctl.jobs.gates import check_data
from scanctl.jobs.prepare import load_market_data, prepare_runs
from scanctl.market.calendar import KrxCalendar
from scanctl.store.lock import run_lock
from scanctl.store.panel import stored_dates

if TYPE_CHECKING:
    from scanctl.settings import Settings

Progress = Callable[[int, int, dt.date], None]


@dataclass
class BackfillOutcome:
    """Per date: the versions' statuses and matched counts, or why the date was skipped."""

    start: dt.date
    end: dt.date
    versions: tuple[str, ...]
    scanned: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return sum(1 for day in self.scanned.values() for v in day.values() if v["status"] != "ok")

    @property
    def exit_code(self) -> ExitCode:
        """0 when every version of every scanned date succeeded, else 4 (6 if all failed);
        3 when no session of the range had its bars (nothing scanned)."""
        if not self.scanned and self.skipped:
            return ExitCode.DATA_NOT_READY
        total = sum(len(day) for day in self.scanned.values())
        if self.failures and self.failures == total:
            return ExitCode.ALL_FAILED
        return ExitCode.PARTIAL if self.failures else ExitCode.OK

    def to_record(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "versions": list(self.versions),
            "scanned": self.scanned,
            "skipped": self.skipped,
            "exit_code": self.exit_code,
        }


def run_backfill(
    db: sqlite_utils.Database,
    lock_path: Path,
    settings: Settings,
    start: dt.date,
    end: dt.date,
    versions: tuple[str, ...],
    progress: Progress | None = None,
) -> BackfillOutcome:
    """Rescan every session in [start, end] that has stored bars.

    Raises
    ------
    BadInput
        ``start`` after ``end``, or no session in the range.
    LockBusy
        A scan or another backfill holds the run lock.
    """
    check_range(start, end)
    with run_lock(lock_path):
        params = settings.run
        sessions = KrxCalendar.from_db(db).sessions_in_range(start, end)
        if not sessions:
            raise BadInput(f"no KRX session between {start.isoformat()} and {end.isoformat()}")
        outcome = BackfillOutcome(start, end, versions)
        threshold = settings.scan.data_gate_threshold
        todo = []
        for day in sessions:
            try:
                check_data(db, day, threshold)  # the gate `scan --date D` applies
                todo.append(day)
            except DataNotReady as exc:
                outcome.skipped[day.isoformat()] = str(exc)
        if not todo:
            return outcome
        lookback = params.max_lookback(versions)
        extra = len(stored_dates(db, todo[-1], len(sessions) + 1))
        data = load_market_data(db, todo[-1], lookback, params.market, extra_sessions=extra)
        prepared_runs = prepare_runs(data, todo, params, versions)
        for number, prepared in enumerate(prepared_runs, start=1):
            day = prepared.date
            if progress:
                progress(number, len(todo), day)
            results = run_versions(prepared, params, versions)
            condition = prepared.condition.to_record()
            save_session(db, day, "backfill", results, condition, params)
            outcome.scanned[day.isoformat()] = {
                version: {"status": r.status, "matched_count": r.matched_count}
                for version, r in results.items()
            }
        return outcome
