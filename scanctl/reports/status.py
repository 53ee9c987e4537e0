"""`scanctl status`: did the last run deliver, and can the next one? One `Check` per concern.

Healthy means every check passes:

* ``config``: the configuration passes the validation `scan` applies (else the next run exits 2);
* ``results``: the latest completed session (its close plus the margin has passed) has a
  successful run of every scheduled version;
* ``data``: the store has the bars of that session;
* ``provider``: the configured provider's circuit breaker is closed;
* ``notifications``: no outbox row is failed, pending or of unknown delivery;
* ``lock``: no run holds the lock far longer than a run takes.

`latest`, `data` and `notifications` carry the details `status` shows besides the checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from scanctl.clock import now_kst
from scanctl.engines.selection import scheduled_versions
from scanctl.errors import ScanctlError
from scanctl.market.calendar import KrxCalendar
from scanctl.reports.history import data_freshness
from scanctl.store.outbox import count_by_status
from scanctl.store.runs import latest_run, run_counts_since, run_statuses_on

if TYPE_CHECKING:
    from scanctl.settings import Settings

# A run takes minutes; one that holds the lock this much longer than its longest wait is stuck.
LOCK_SLACK = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Check:
    """One concern: whether it passes and, in words, why (or why not)."""

    name: str
    ok: bool
    why: str


@dataclass
class Status:
    """The checks, and the details shown beside them."""

    checks: list[Check]
    latest: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    notifications: dict[str, int] = field(default_factory=dict)
    success_rate_30d: dict[str, float | None] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def problems(self) -> list[str]:
        return [check.why for check in self.checks if not check.ok]

    def to_record(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "checks": [asdict(check) for check in self.checks],
            "problems": self.problems,
            "versions": self.latest,
            "data": self.data,
            "notifications": self.notifications,
            "success_rate_30d": self.success_rate_30d,
        }


def status(
    db: sqlite_utils.Database,
    calendar: KrxCalendar,
    load_settings: Callable[[], Settings],
    lock_path: Path,
) -> Status:
    """Run every check (see the module docstring); none raises."""
    settings, config_check = _config(load_settings)
    margin = settings.scan.close_margin_minutes if settings else 10
    session = calendar.last_ready_session(now_kst(), margin)
    report = Status(checks=[config_check])
    scheduled = scheduled_versions(db)
    report.checks.append(_results(db, session, scheduled))
    report.latest, report.success_rate_30d = _latest_runs(db, scheduled)
    report.data = data_freshness(db, calendar, margin)
    report.checks.append(_data(report.data))
    if settings is not None:
        report.checks.append(_provider(db, settings.data.settings.provider))
    report.notifications = count_by_status(db)
    report.checks.append(_notifications(db))
    wait = settings.scan.max_wait_minutes if settings else 90
    report.checks.append(_lock(lock_path, dt.timedelta(minutes=wait) + LOCK_SLACK))
    return report


def _config(load_settings: Callable[[], Settings]) -> tuple[Settings | None, Check]:
    try:
        settings = load_settings()
    except ScanctlError as exc:
        return None, Check("config", False, f"config: the next run will exit 2: {exc}")
    where = str(settings.path) if settings.path else "defaults (no config file)"
    return settings, Check("config", True, f"config: valid ({where})")


def _results(db: sqlite_utils.Database, session: dt.date, scheduled: tuple[str, ...]) -> Check:
    statuses = run_statuses_on(db, session.isoformat())
    missing = [version for version in scheduled if "ok" not in statuses.get(version, ())]
    day = session.isoformat()
    if missing:
        listed = ", ".join(missing)
        return Check(
            "results",
            False,
            f"results: no successful run of {listed} for {day}, the latest completed session; "
            f"run `scanctl scan --date {day} --version all`",
        )
    return Check("results", True, f"results: {', '.join(scheduled)} stored for {day}")


def _latest_runs(
    db: sqlite_utils.Database, scheduled: tuple[str, ...]
) -> tuple[dict[str, dict[str, Any] | None], dict[str, float | None]]:
    latest: dict[str, dict[str, Any] | None] = {}
    rates: dict[str, float | None] = {}
    since = (now_kst().date() - dt.timedelta(days=30)).isoformat()
    for version in scheduled:
        row = latest_run(db, version)
        latest[version] = None
        if row is not None:
            date, status, started, matched, error = row
            latest[version] = {
                "date": date,
                "status": status,
                "started_at": started,
                "matched_count": matched,
                "error": error.split("\n")[0] if error else None,
            }
        ok, total = run_counts_since(db, version, since)
        rates[version] = (ok / total) if total else None
    return latest, rates


def _data(data: dict[str, Any]) -> Check:
    text = f"last bars {data['last_date'] or 'none'}, expected {data['expected_date']}"
    if data["fresh"]:
        return Check("data", True, f"data: {text}")
    return Check("data", False, f"data: {text}; run `scanctl data sync`")


def _provider(db: sqlite_utils.Database, provider: str) -> Check:
    from scanctl.providers.breaker import blocked_message, breaker_state

    state = breaker_state(db, provider)
    if state is not None and state.is_open(now_kst()):
        return Check("provider", False, f"provider: {blocked_message(state)}")
    return Check("provider", True, f"provider: {provider} is open for requests")


def _notifications(db: sqlite_utils.Database) -> Check:
    from scanctl.notify.report import outbox_problems

    problems = outbox_problems(db)
    if not problems:
        why = "notifications: none failed, pending or of unknown delivery"
        return Check("notifications", True, why)
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.status] = counts.get(problem.status, 0) + 1
    listed = ", ".join(f"{count} {state}" for state, count in counts.items())
    worst = problems[0]
    return Check(
        "notifications",
        False,
        f"notifications: {listed} (e.g. {worst.kind} {worst.date} via {worst.channel}: "
        f"{worst.status}); {worst.next_step}",
    )


def _lock(lock_path: Path, longest: dt.timedelta) -> Check:
    from scanctl.store.lock import lock_holder

    holder = lock_holder(lock_path)
    if holder is None:
        return Check("lock", True, "lock: free")
    pid, since = holder
    held = now_kst() - since
    minutes = int(held.total_seconds() // 60)
    if held > longest:
        return Check(
            "lock",
            False,
            f"lock: held by pid {pid} for {minutes} min, longer than a run takes; "
            f"check that process",
        )
    return Check("lock", True, f"lock: a run (pid {pid}) has held it for {minutes} min")
