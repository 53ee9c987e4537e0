"""``data sync`` and ``scan --sync``: fetch, validate, detect corporate actions, write per date.

For a run over sessions D1 … Dn from one provider:

1. Refuse a future date (exit 2) and today before its close plus ``close_margin_minutes``
   (exit 3); skip non-sessions (reported).
2. Fetch the ticker master once, then every date's bars (`Provider.fetch_days`: a per-ticker
   source asks each code once), then KOSPI/KOSDAQ index bars (optional data: a failure is
   logged and recorded, the engines fall back to their proxy ETFs).
3. Per date, in order: run the gates of `providers.gates`; any failure raises `SyncGateFailed`
   (exit 3) with the numbers and writes nothing of that date (earlier dates stay written).
4. Corporate actions: a ticker whose source previous close differs from the store's close of
   that session by more than ``corporate_action_tolerance`` gets its adjusted history refetched
   (`Provider.fetch_history`, from its first stored date) and its stored bars replaced. A
   failed refetch leaves the ticker's stored bars alone and writes no bar for it that date
   (the coverage gate is re-checked).
5. Write the ticker master, the date's bars, the replaced histories, the index bars and the
   ``sync_events`` rows (one ``sync`` summary, one row per corporate action) in ONE
   transaction. Network requests never happen inside it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlite_utils

from scanctl.clock import check_range, now_kst
from scanctl.errors import BadInput, DataNotReady
from scanctl.logs import get_logger
from scanctl.market.calendar import KrxCalendar
from scanctl.providers.base import (
    INDEX_CODES,
    DayBars,
    IndexBarRow,
    Progress,
    Provider,
    SourceBlocked,
    SourceError,
    TickerRow,
)
from scanctl.providers.corporate import CorporateAction, find_disagreements, refetch_histories
from scanctl.providers.gates import (
    Gate,
    SyncGateFailed,
    corporate_action_gate,
    coverage_gate,
    failure_message,
    problem_gates,
    stamped_gate,
)
from scanctl.providers.records import merge_stored_tickers, previous_count
from scanctl.providers.settings import DataSettings
from scanctl.store.bars import delete_code_bars, upsert_bars, upsert_index_bars, upsert_tickers
from scanctl.store.db import write_transaction
from scanctl.store.sources import SyncEvent, write_sync_events

if TYPE_CHECKING:
    from scanctl.providers.settings import DataConfig

log = get_logger("providers.sync")


@dataclass
class DateReport:
    """What happened to one date."""

    date: str
    bars: int = 0
    baseline: int = 0
    baseline_date: str | None = None
    returned: int = 0
    stamped: int = 0
    missing: int = 0
    dropped_invalid: int = 0
    index_bars: int = 0
    corporate_actions: list[CorporateAction] = field(default_factory=list)
    corporate_action_failures: dict[str, str] = field(default_factory=dict)
    gates: list[Gate] = field(default_factory=list)
    write_s: float = 0.0


@dataclass
class SyncReport:
    """A sync run: the dates written (in order), the skipped ones and the timings."""

    source: str
    tickers: int = 0
    dates: list[DateReport] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    fetch_s: float = 0.0
    total_s: float = 0.0

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict (for ``--json``)."""
        return dataclasses.asdict(self)


def resolve_dates(
    calendar: KrxCalendar,
    day: dt.date | None = None,
    start: dt.date | None = None,
    now: dt.datetime | None = None,
) -> list[dt.date]:
    """The dates ``data sync [--date D] [--from D]`` means: ``start`` … ``day`` (sessions only)
    with ``--from``, else ``day``; ``day`` defaults to the last session on or before today."""
    today = (now or now_kst()).date()
    end = day if day is not None else calendar.last_session_on_or_before(today)
    if start is None:
        return [end]
    check_range(start, end, "--date")
    return calendar.sessions_in_range(start, end)


def sync(
    db: sqlite_utils.Database,
    provider: Provider,
    dates: Sequence[dt.date],
    calendar: KrxCalendar,
    progress: Progress | None = None,
    *,
    settings: DataSettings | None = None,
    close_margin_minutes: int = 10,
    now: dt.datetime | None = None,
    force: bool = False,
) -> SyncReport:
    """Fetch and write ``dates`` from ``provider`` (see the module docstring).

    Parameters
    ----------
    progress
        ``progress(done, total)`` while the bars are fetched (tickers done of all).
    settings
        Gate thresholds; the defaults of `DataSettings` when None.
    close_margin_minutes
        Today's bars are taken from the close plus this margin (``[scan] close_margin_minutes``).
    now
        The clock (Asia/Seoul); `now_kst` when None.
    force
        Sync today even before the close plus the margin (``scan --sync --force``): the
        intraday bars are overwritten by the next sync of that date.

    Raises
    ------
    BadInput
        A date in the future.
    DataNotReady
        Today before the close plus the margin; `SyncGateFailed` for a failed gate (its
        ``report`` holds the dates written before it); `SourceError` and its subclasses when the
        source failed or is blocked. Nothing of the failing date is written.
    CredentialsRejected
        The source refused the configured key (a `ConfigError`, exit 2); nothing is written.
    """
    settings = settings or DataSettings()
    started = time.perf_counter()
    report = SyncReport(source=provider.name)
    sessions = _sessions(dates, calendar, close_margin_minutes, now or now_kst(), report, force)
    if not sessions:
        return report
    tickers = provider.fetch_tickers()
    if not tickers:
        raise SourceError(f"{provider.name}: the ticker master is empty; nothing written")
    codes = [ticker.code for ticker in tickers]
    batches = provider.fetch_days(sessions, codes, progress)
    indexes, index_errors = _fetch_indexes(provider, sessions[0], sessions[-1])
    report.fetch_s = time.perf_counter() - started
    report.tickers = len(tickers)
    tickers = merge_stored_tickers(db, tickers, provider.ticker_fields)
    for batch in batches:
        try:
            day_report = _sync_date(
                db, provider, batch, len(codes), tickers, indexes, index_errors, calendar, settings
            )
        except SyncGateFailed as failure:
            if report.dates:
                written = ", ".join(day.date for day in report.dates)
                failure.args = (f"{failure}; already written: {written}",)
            failure.report = report
            raise
        report.dates.append(day_report)
    report.total_s = time.perf_counter() - started
    return report


def run_sync(
    db: sqlite_utils.Database,
    data: DataConfig,
    dates: Sequence[dt.date],
    source: str | None = None,
    progress: Progress | None = None,
    force: bool = False,
    close_margin_minutes: int = 10,
) -> SyncReport:
    """`sync` with the provider and thresholds of the configuration (``data sync``)."""
    from scanctl.providers.base import make_provider

    provider = make_provider(source, data, db)
    try:
        calendar = KrxCalendar.from_db(db)
        return sync(
            db,
            provider,
            dates,
            calendar,
            progress,
            settings=data.settings,
            close_margin_minutes=close_margin_minutes,
            force=force,
        )
    finally:
        provider.close()


def sync_for_scan(
    db: sqlite_utils.Database,
    data: DataConfig,
    day: dt.date,
    progress: Progress | None = None,
    force: bool = False,
    close_margin_minutes: int = 10,
) -> SyncReport:
    """``scan --sync``: sync the scan date from the configured provider first (``force`` as
    ``scan --force``: before the close too)."""
    return run_sync(
        db, data, [day], progress=progress, force=force, close_margin_minutes=close_margin_minutes
    )


def _sessions(
    dates: Sequence[dt.date],
    calendar: KrxCalendar,
    close_margin_minutes: int,
    now: dt.datetime,
    report: SyncReport,
    force: bool,
) -> list[dt.date]:
    sessions = []
    for day in sorted(set(dates)):
        if day > now.date():
            raise BadInput(f"--date {day}: in the future (today is {now.date()} in Seoul)")
        info = calendar.check(day)
        if not info.is_session:
            report.skipped.append((day.isoformat(), info.reason or "not a session"))
            log.info(f"{day}: skipped ({report.skipped[-1][1]})")
            continue
        if day == now.date() and not force:
            ready = calendar.ready_at(day, close_margin_minutes)
            if now < ready:
                raise DataNotReady(
                    f"data sync {day}: the session closes at {info.close:%H:%M} KST; its bars "
                    f"can be synced from {ready:%H:%M} KST (now {now:%H:%M}); nothing fetched"
                )
        sessions.append(day)
    return sessions


def _fetch_indexes(
    provider: Provider, start: dt.date, end: dt.date
) -> tuple[dict[str, list[IndexBarRow]], dict[str, str]]:
    rows: dict[str, list[IndexBarRow]] = {}
    errors: dict[str, str] = {}
    for index_code in INDEX_CODES:
        try:
            rows[index_code] = provider.fetch_index(index_code, start, end)
        except SourceBlocked:
            raise
        except SourceError as exc:
            errors[index_code] = str(exc)
            log.warning(
                "index bars unavailable; engines use the proxy ETF",
                extra={"fields": {"index": index_code, "error": str(exc)}},
            )
    return rows, errors


def _sync_date(
    db: sqlite_utils.Database,
    provider: Provider,
    batch: DayBars,
    listed: int,
    tickers: list[TickerRow],
    indexes: Mapping[str, list[IndexBarRow]],
    index_errors: Mapping[str, str],
    calendar: KrxCalendar,
    settings: DataSettings,
) -> DateReport:
    day = batch.day.isoformat()
    report = DateReport(date=day, returned=len(batch.rows), missing=len(batch.missing))
    stamped = [row for row in batch.rows if row[0] == day]
    report.stamped = len(stamped)
    problems, bad = problem_gates(stamped, settings.invalid_max)
    rows = [row for index, row in enumerate(stamped) if index not in bad]
    report.dropped_invalid = len(bad)
    report.baseline_date, report.baseline = previous_count(db, day)
    what = f"tickers with bars on {report.baseline_date}"
    if report.baseline_date is None:
        report.baseline, what = listed, "listed tickers (no earlier bars stored)"
    coverage = coverage_gate(len(rows), report.baseline, what, settings.coverage_min, batch.missing)
    stamps = [row[0] for row in batch.rows]
    report.gates = [coverage, stamped_gate(day, stamps, settings.stamped_min), *problems]
    _raise_if_failed(day, report.gates)

    tolerance = settings.corporate_action_tolerance
    candidates, checked = find_disagreements(db, batch, rows, calendar, tolerance)
    report.gates.append(
        corporate_action_gate(len(candidates), checked, settings.corporate_action_max)
    )
    _raise_if_failed(day, report.gates)
    histories, report.corporate_actions, report.corporate_action_failures = refetch_histories(
        db, provider, batch.day, candidates
    )
    if report.corporate_action_failures:
        rows = [row for row in rows if row[1] not in report.corporate_action_failures]
        report.gates[0] = coverage_gate(
            len(rows),
            report.baseline,
            what,
            settings.coverage_min,
            {**batch.missing, **report.corporate_action_failures},
        )
        _raise_if_failed(day, report.gates)

    replaced = {action.code for action in report.corporate_actions}
    to_write = [row for row in rows if row[1] not in replaced]
    to_write += [row for code in sorted(histories) for row in histories[code]]
    index_rows = [row for code in sorted(indexes) for row in indexes[code] if row[0] == day]
    report.bars, report.index_bars = len(rows), len(index_rows)
    events = _events(day, provider.name, report, index_errors)
    started = time.perf_counter()
    with write_transaction(db):
        upsert_tickers(db, tickers)
        for action in report.corporate_actions:
            delete_code_bars(db, action.code, action.first, action.last)
        upsert_bars(db, to_write, provider.name)
        upsert_index_bars(db, index_rows)
        write_sync_events(db, events)
    report.write_s = time.perf_counter() - started
    fields = {"date": day, "source": provider.name, "bars": report.bars}
    fields |= {"corporate_actions": len(replaced), "write_s": round(report.write_s, 3)}
    actions = f", {len(replaced)} corporate action(s)" if replaced else ""
    log.info(
        f"date synced: {report.bars:,} bars written ({report.returned:,} returned, "
        f"{report.missing:,} missing, baseline {report.baseline:,}){actions}",
        extra={"fields": fields},
    )
    return report


def _raise_if_failed(day: str, gates: list[Gate]) -> None:
    if not all(gate.passed for gate in gates):
        message = failure_message(day, gates)
        log.error("sync gate failed", extra={"fields": {"date": day, "reason": message}})
        raise SyncGateFailed(message, day, gates)


def _events(
    day: str, source: str, report: DateReport, index_errors: Mapping[str, str]
) -> list[SyncEvent]:
    stamp = now_kst().isoformat(timespec="seconds")
    summary = {
        "bars": report.bars,
        "baseline": report.baseline,
        "baseline_date": report.baseline_date,
        "returned": report.returned,
        "stamped": report.stamped,
        "missing": report.missing,
        "dropped_invalid": report.dropped_invalid,
        "index_bars": report.index_bars,
        "corporate_actions": len(report.corporate_actions),
    }
    events = [SyncEvent(day, None, source, "sync", summary, stamp)]
    for action in report.corporate_actions:
        detail = {**dataclasses.asdict(action), "ratio": round(action.ratio, 6)}
        events.append(SyncEvent(day, action.code, source, "corporate_action", detail, stamp))
    for code, reason in sorted(report.corporate_action_failures.items()):
        detail = {"reason": reason}
        events.append(SyncEvent(day, code, source, "corporate_action_failed", detail, stamp))
    for index_code, reason in sorted(index_errors.items()):
        detail = {"index": index_code, "reason": reason}
        events.append(SyncEvent(day, None, source, "index_unavailable", detail, stamp))
    return events
