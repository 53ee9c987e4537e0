"""The daily job (PRODUCT.md §5): `run_scan` performs the steps in this order.

1. Take the run lock next to the store (`store.lock.run_lock`; busy → exit 75).
2. The date (default today, Asia/Seoul); the versions arrive resolved (`engines.selection`).
3. Calendar gate and close guard (`gates.check_session`): non-session → exit 0 `skipped`.
4. Optional sync, then the data gate (`gates.check_data`) → exit 3 when bars are missing.
5. Load the panel once, prepare the inputs once (`prepare`), run each version in isolation:
   an exception in one version is recorded and the next one still runs.
6. Write every version's rows, its `scan_runs` row and the notification outbox in one
   transaction (`persist`); unchanged reruns leave the stored rows as they were.
7. Deliver the one notification, ping the healthcheck, and return the outcome whose exit code
   follows PRODUCT.md §3.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from scanctl.clock import now_kst, today_kst
from scanctl.engines.base import Pick
from scanctl.engines.params import RunParams
from scanctl.errors import DataNotReady, ExitCode, ScanctlError
from scanctl.jobs import gates
from scanctl.jobs.persist import RunRow, insert_run, rank_rows, replace_ranks
from scanctl.jobs.prepare import (
    MarketData,
    PreparedRun,
    load_market_data,
    prepare_inputs,
    run_engine,
)
from scanctl.jobs.record import stored_params, stored_record
from scanctl.logs import get_logger
from scanctl.market.calendar import KrxCalendar
from scanctl.store.bar_queries import main_source_on
from scanctl.store.db import write_transaction
from scanctl.store.lock import run_lock
from scanctl.store.runs import run_statuses_on

if TYPE_CHECKING:
    import requests

    from scanctl.notify.config import NotifySettings
    from scanctl.settings import Settings

log = get_logger("scan")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScanRequest:
    """The options of `scanctl scan` (PRODUCT.md §3), resolved: ``versions`` are registered
    engine names (`engines.selection.versions_for`); the limits flags are in the settings."""

    versions: tuple[str, ...]
    date: dt.date | None = None
    sync: bool = False
    save: bool = True
    notify: bool = True
    renotify: bool = False
    force: bool = False
    trigger: str = "manual"
    catch_up: bool = False  # heal the last `catch_up_sessions` completed sessions first
    allow_gaps: bool = False  # scan even when the lookback has a session without bars


@dataclass
class VersionOutcome:
    """One version's result within a run."""

    version: str
    status: str
    run_id: str
    started_at: dt.datetime
    universe_count: int | None = None
    matched_count: int | None = None
    duration_s: float | None = None
    error: str | None = None
    picks: tuple[Pick, ...] = ()
    rows_written: bool = False
    params: dict[str, Any] | None = None  # the engine's effective parameters (§8.6)
    record: dict[str, Any] | None = None  # universe, counts and the version's block (§8.6)

    def to_record(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "universe_count": self.universe_count,
            "matched_count": self.matched_count,
            "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
            "error": self.error,
        }


@dataclass
class ScanOutcome:
    """What a run did; `to_record` is the `scan --json` document."""

    date: dt.date | None
    status: str
    exit_code: ExitCode
    message: str
    market_condition: dict[str, Any] | None = None
    versions: dict[str, VersionOutcome] = field(default_factory=dict)
    caught_up: list[dt.date] = field(default_factory=list)
    notification: dict[str, Any] = field(default_factory=lambda: {"status": "none", "channels": {}})

    def to_record(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat() if self.date else None,
            "status": self.status,
            "exit_code": self.exit_code,
            "message": self.message,
            "market_condition": self.market_condition,
            "versions": {v: outcome.to_record() for v, outcome in self.versions.items()},
            "caught_up": [day.isoformat() for day in self.caught_up],
            "notification": self.notification,
        }


def run_scan(
    db: sqlite_utils.Database,
    lock_path: Path,
    settings: Settings,
    request: ScanRequest,
    progress: Progress | None = None,
) -> ScanOutcome:
    """Run the daily job; see the module docstring for the steps.

    Raises
    ------
    LockBusy, BadInput, ConfigError
        Before anything is computed (exit 75 / 2).
    """
    import requests

    from scanctl.notify.healthcheck import Healthcheck

    with run_lock(lock_path), requests.Session() as session:
        healthcheck = Healthcheck.from_settings(settings.healthcheck, session)
        healthcheck.start()
        exit_code, summary = ExitCode.INTERNAL, "internal error"  # the ping if anything escapes
        try:
            outcome = _run_locked(db, settings, request, progress or (lambda _: None))
            if outcome.notification.get("status") == "enqueued":
                _deliver(db, outcome, settings.notify, session)
            exit_code, summary = outcome.exit_code, outcome.message
            return outcome
        except ScanctlError as exc:
            exit_code, summary = exc.exit_code, str(exc)
            raise
        finally:
            healthcheck.finish(exit_code, summary)


def _summaries(outcomes: dict[str, VersionOutcome]) -> dict[str, dict[str, Any]]:
    """What the notification says of each version (errors cut to their first line)."""
    return {
        version: {
            "status": result.status,
            "matched_count": result.matched_count or 0,
            "picks": [pick.to_record() for pick in result.picks],
            "error": (result.error or "").split("\n")[0] or None,
        }
        for version, result in outcomes.items()
    }


def _deliver(
    db: sqlite_utils.Database,
    outcome: ScanOutcome,
    settings: NotifySettings,
    session: requests.Session,
) -> None:
    """Step 7: send what the results transaction enqueued; a `sent` row is never sent twice.

    A failed delivery turns exit 0 into 5 (the results are stored); 4 and 6 stay.
    """
    from scanctl.notify.outbox import deliver, notification_summary

    report = deliver(db, settings, session, date=outcome.date, include_failed=False)
    outcome.notification = notification_summary(db, outcome.date)
    if not report.ok and outcome.exit_code == 0:
        outcome.exit_code, outcome.status = ExitCode.NOTIFY_FAILED, "notify_failed"
        outcome.message += f"; notification failed ({report.status})"


def _run_locked(
    db: sqlite_utils.Database, settings: Settings, request: ScanRequest, progress: Progress
) -> ScanOutcome:
    options, params = settings.scan, settings.run
    day = request.date or today_kst()
    versions = request.versions
    calendar = KrxCalendar.from_db(db)
    if not request.force:
        gates.wait_for_close(calendar, day, options.close_margin_minutes, options.max_wait_minutes)
    caught_up = (
        _catch_up(db, settings, request, calendar, day, progress) if request.catch_up else []
    )
    try:
        verdict = gates.check_session(
            calendar, day, now_kst(), options.close_margin_minutes, request.force
        )
        if not verdict.is_session:
            message = f"skipped: {day.isoformat()} is not a KRX session ({verdict.reason})"
            log.info(message, extra={"fields": {"date": day.isoformat()}})
            _record_not_run(db, day, versions, request, "skipped", message)
            return ScanOutcome(
                date=day,
                status="skipped",
                exit_code=ExitCode.OK,
                message=message,
                caught_up=caught_up,
            )
        if request.sync:
            progress("sync")
            _sync(db, settings, day, force=request.force)
        gates.check_data(db, day, options.data_gate_threshold)
        if not request.allow_gaps:
            gates.check_history(db, calendar, day, params.max_lookback(versions))
    except DataNotReady as exc:
        _record_not_run(db, day, versions, request, "failed", str(exc))
        return ScanOutcome(
            date=day,
            status="data_not_ready",
            exit_code=ExitCode.DATA_NOT_READY,
            message=str(exc),
            caught_up=caught_up,
        )

    progress("load")
    data = load_market_data(db, day, params.max_lookback(versions), params.market)
    condition, outcomes = scan_session(data, day, params, versions, progress)
    enqueue = None
    if request.save and request.notify:
        from scanctl.notify.outbox import enqueue_run

        def enqueue(db: sqlite_utils.Database) -> None:
            enqueue_run(
                db,
                settings.notify,
                day,
                _summaries(outcomes),
                renotify=request.renotify,
                caught_up=caught_up,
            )

    if request.save:
        save_session(db, day, request.trigger, outcomes, condition, params, enqueue)
    outcome = _finish(day, outcomes, condition, request)
    outcome.caught_up = caught_up
    if caught_up:
        outcome.message += "; caught up " + ", ".join(d.isoformat() for d in caught_up)
    if enqueue is not None:
        outcome.notification = {"status": "enqueued"}
    return outcome


def _catch_up(
    db: sqlite_utils.Database,
    settings: Settings,
    request: ScanRequest,
    calendar: KrxCalendar,
    day: dt.date,
    progress: Progress,
) -> list[dt.date]:
    """Heal the last ``catch_up_sessions`` completed sessions before ``day``, oldest first: a
    session without bars is synced (with ``--sync``), one without a successful run of a
    requested version is scanned (trigger ``catchup``, no message). Returns the sessions
    scanned; a session that still cannot be scanned is recorded as failed and left for the
    next run."""
    options, params = settings.scan, settings.run
    sessions: list[dt.date] = []
    cursor = day
    while len(sessions) < options.catch_up_sessions:
        cursor = calendar.previous_session(cursor)
        sessions.insert(0, cursor)
    healed = []
    catch_up = dataclasses.replace(request, trigger="catchup")
    for session in sessions:
        statuses = run_statuses_on(db, session.isoformat())
        todo = tuple(v for v in request.versions if "ok" not in statuses.get(v, ()))
        if not todo:
            continue
        progress(f"catch up {session.isoformat()}")
        try:
            if request.sync and not gates.has_data(db, session, options.data_gate_threshold):
                _sync(db, settings, session, force=False)
            gates.check_data(db, session, options.data_gate_threshold)
            if not request.allow_gaps:
                gates.check_history(db, calendar, session, params.max_lookback(todo))
        except DataNotReady as exc:
            log.warning(f"catch-up {session.isoformat()}: {exc}")
            _record_not_run(db, session, todo, catch_up, "failed", str(exc))
            continue
        data = load_market_data(db, session, params.max_lookback(todo), params.market)
        condition, outcomes = scan_session(data, session, params, todo)
        if request.save:
            save_session(db, session, "catchup", outcomes, condition, params)
        log.info(f"caught up {session.isoformat()}", extra={"fields": {"versions": todo}})
        healed.append(session)
    return healed


def _sync(db: sqlite_utils.Database, settings: Settings, day: dt.date, force: bool) -> None:
    """``--sync``: the bars of ``day`` from the configured provider (a source that fails or is
    blocked raises `SourceError`, a `DataNotReady`)."""
    from scanctl.providers.sync import sync_for_scan

    sync_for_scan(
        db,
        settings.data,
        day,
        force=force,
        close_margin_minutes=settings.scan.close_margin_minutes,
    )


def _record_not_run(
    db: sqlite_utils.Database,
    day: dt.date,
    versions: tuple[str, ...],
    request: ScanRequest,
    status: str,
    why: str,
) -> None:
    """A `scan_runs` row per version for a run that scanned nothing: ``skipped`` (not a
    session) or ``failed`` (data not ready), so `runs` and `status` show it."""
    if not request.save:
        return
    stamp = now_kst()
    with write_transaction(db):
        for version in versions:
            insert_run(
                db,
                RunRow(
                    run_id=f"{day.isoformat()}-{version}-{uuid.uuid4().hex[:12]}",
                    date=day.isoformat(),
                    scanner_version=version,
                    trigger=request.trigger,
                    started_at=stamp.isoformat(timespec="milliseconds"),
                    finished_at=stamp.isoformat(timespec="milliseconds"),
                    duration_s=0.0,
                    status=status,
                    universe_count=None,
                    matched_count=None,
                    error=why,
                    market_condition=None,
                    params=None,
                    record=None,
                ),
            )


def scan_session(
    data: MarketData,
    day: dt.date,
    params: RunParams,
    versions: tuple[str, ...],
    progress: Progress | None = None,
) -> tuple[dict[str, Any], dict[str, VersionOutcome]]:
    """Steps 5 of one date: inputs prepared once, then each version in isolation."""
    progress = progress or (lambda _: None)
    progress("prepare")
    prepared = prepare_inputs(data, day, params, versions)
    return prepared.condition.to_record(), run_versions(prepared, params, versions, progress)


def run_versions(
    prepared: PreparedRun,
    params: RunParams,
    versions: tuple[str, ...],
    progress: Progress | None = None,
) -> dict[str, VersionOutcome]:
    """Each version on the prepared inputs, in isolation: picks and run record, or its error."""
    outcomes = {}
    for version in versions:
        if progress:
            progress(version)
        outcomes[version] = _run_version(version, prepared, params)
    return outcomes


def _run_version(version: str, prepared: PreparedRun, params: RunParams) -> VersionOutcome:
    """Run one engine; any exception is this version's failure, never the run's."""
    run_id = f"{prepared.date.isoformat()}-{version}-{uuid.uuid4().hex[:12]}"
    started_at = now_kst()
    started = time.perf_counter()
    try:
        result = run_engine(version, prepared, params)
    except Exception as exc:  # noqa: BLE001  # broad-except: PRODUCT.md §5 isolates each version
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.error(f"{version} failed: {detail}", extra={"fields": {"version": version}})
        return VersionOutcome(
            version=version,
            status="failed",
            run_id=run_id,
            started_at=started_at,
            duration_s=time.perf_counter() - started,
            error=f"{detail}\n{traceback.format_exc()}",
        )
    outcome = VersionOutcome(
        version=version,
        status="ok",
        run_id=run_id,
        started_at=started_at,
        universe_count=int(result.run_record["counts"]["universe_count"]),
        matched_count=result.matched_count,
        duration_s=time.perf_counter() - started,
        picks=result.picks,
        params=result.params,
        record=stored_record(prepared.universe_record, result),
    )
    fields = {"version": version, "date": prepared.date.isoformat(), "run_id": run_id}
    fields |= {"universe": outcome.universe_count, "matched": outcome.matched_count}
    log.info("version done", extra={"fields": fields})
    return outcome


def save_session(
    db: sqlite_utils.Database,
    day: dt.date,
    trigger: str,
    outcomes: dict[str, VersionOutcome],
    condition: dict[str, Any],
    params: RunParams,
    enqueue: Callable[[sqlite_utils.Database], None] | None = None,
) -> None:
    """Every version's rows and run rows, and the notification outbox (``enqueue``), of one
    date in one transaction."""
    stamp = now_kst().isoformat(timespec="seconds")
    anchor_source = _bar_source(db, day)
    with write_transaction(db):
        for version, outcome in outcomes.items():
            if outcome.status == "ok":
                rows = rank_rows(day, version, outcome.picks, anchor_source)
                outcome.rows_written = replace_ranks(db, day, version, rows, outcome.run_id, stamp)
            insert_run(
                db,
                RunRow(
                    run_id=outcome.run_id,
                    date=day.isoformat(),
                    scanner_version=version,
                    trigger=trigger,
                    started_at=outcome.started_at.isoformat(timespec="milliseconds"),
                    finished_at=(
                        outcome.started_at + dt.timedelta(seconds=outcome.duration_s or 0)
                    ).isoformat(timespec="milliseconds"),
                    duration_s=outcome.duration_s,
                    status=outcome.status,
                    universe_count=outcome.universe_count,
                    matched_count=outcome.matched_count,
                    error=outcome.error,
                    market_condition=condition,
                    params=stored_params(params, version, outcome.params),
                    record=outcome.record,
                ),
            )
        if enqueue is not None:
            enqueue(db)


def _bar_source(db: sqlite_utils.Database, day: dt.date) -> str:
    """Where the scan date's bars came from (the anchor of every pick)."""
    return main_source_on(db, day) or "bars"


def _finish(
    day: dt.date,
    outcomes: dict[str, VersionOutcome],
    condition: dict[str, Any],
    request: ScanRequest,
) -> ScanOutcome:
    failed = [v for v, o in outcomes.items() if o.status == "failed"]
    if len(failed) == len(outcomes):
        status, code = "failed", ExitCode.ALL_FAILED
    elif failed:
        status, code = "partial", ExitCode.PARTIAL
    else:
        status, code = "ok", ExitCode.OK
    counts = ", ".join(
        f"{v} {o.matched_count}" if o.status == "ok" else f"{v} failed" for v, o in outcomes.items()
    )
    saved = "" if request.save else " (not saved: --no-save)"
    message = f"{status}: {day.isoformat()} {counts}{saved}"
    return ScanOutcome(
        date=day,
        status=status,
        exit_code=code,
        message=message,
        market_condition=condition,
        versions=outcomes,
    )
