"""The outbox: one ``notifications`` row per (date, kind, channel), then delivery with retries.

The scan writes its messages with `enqueue_run` (or `enqueue`) inside its own write
transaction, commits, and then calls `deliver` for what it just enqueued; `notify retry` calls
`deliver` for every pending or failed row; `notify test` calls `send_test`. A ``sent`` row is
never sent again, except after `enqueue(..., renotify=True)` reset it (``scan --renotify``).

Delivery of one row: up to ``max_attempts`` tries; a retryable failure (timeout, connection,
408, 429, 5xx) waits ``backoff_s * 2**(attempt-1)`` scaled by a random factor in [0.5, 1), or
the 429's Retry-After capped at ``max_retry_after_s``; any other failure stops at once. Each
try is recorded in its own short write transaction (attempts, last_error, status), so `deliver`
must be called outside a transaction. A crash between the provider's reply and the update
means the message is sent again by the next run: delivery is at least once.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Mapping, Sequence

import requests
import sqlite_utils

from scanctl.clock import now_kst
from scanctl.logs import get_logger
from scanctl.notify.channels import Channel, build_channel
from scanctl.notify.config import LOG_CHANNEL, ChannelConfig, NotifySettings
from scanctl.notify.message import (
    Message,
    VersionSummary,
    daily_message,
    failure_message,
    test_message,
)
from scanctl.notify.report import ChannelOutcome, DeliveryReport
from scanctl.notify.transport import DeliveryError, scrub
from scanctl.store import outbox as store
from scanctl.store.db import write_transaction

log = get_logger("notify")

ChannelFactory = Callable[[ChannelConfig, float], Channel]


def enqueue(
    db: sqlite_utils.Database,
    message: Message,
    channels: Sequence[ChannelConfig],
    *,
    renotify: bool = False,
) -> tuple[str, ...]:
    """Write the outbox rows of ``message`` inside the caller's open transaction.

    Parameters
    ----------
    channels
        The configured channels; those that receive ``message.kind`` get a row.
    renotify
        Reset a ``sent`` row to ``pending`` (otherwise it is left alone).

    Returns
    -------
    tuple[str, ...]
        The channels whose row is now ``pending``. With no receiving channel the message is
        logged and one ``skipped`` row with channel ``log`` is written; the result is empty.
    """
    date, now = message.date.isoformat(), _stamp()
    payload = message.to_json()
    targets = [channel.name for channel in channels if channel.receives(message.kind)]
    if not targets:
        log.info(
            "no notification channel configured; the message is logged instead",
            extra={"fields": {"kind": message.kind, "date": date, "text": message.text}},
        )
        store.upsert_skipped(db, date, message.kind, LOG_CHANNEL, payload, now)
        return ()
    pending = []
    for name in targets:
        status = store.notification_status(db, date, message.kind, name)
        if status == "sent" and not renotify:
            continue
        store.upsert_pending(db, date, message.kind, name, payload, now)
        pending.append(name)
    return tuple(pending)


def enqueue_run(
    db: sqlite_utils.Database,
    settings: NotifySettings,
    date: dt.date,
    versions: Mapping[str, VersionSummary],
    *,
    renotify: bool = False,
    caught_up: Sequence[dt.date] = (),
) -> tuple[Message, ...]:
    """Enqueue a run's messages (inside the caller's transaction): the daily message when
    `daily_message` gives one (naming the sessions the run ``caught_up`` first), and a failure
    alert when a version failed (its ``error``)."""
    messages = []
    daily = daily_message(date, versions, settings, caught_up)
    if daily is not None:
        messages.append(daily)
    failures = {
        version: str(summary.get("error") or "failed")
        for version, summary in versions.items()
        if summary.get("status") == "failed"
    }
    if failures:
        messages.append(failure_message(date, failures, settings))
    for message in messages:
        enqueue(db, message, settings.channels, renotify=renotify)
    return tuple(messages)


def deliver(
    db: sqlite_utils.Database,
    settings: NotifySettings,
    session: requests.Session,
    *,
    date: dt.date | str | None = None,
    kind: str | None = None,
    include_failed: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    channel_factory: ChannelFactory = build_channel,
) -> DeliveryReport:
    """Send the outbox rows that are due, with retries; never a ``sent`` row.

    Parameters
    ----------
    date, kind
        Only rows of this date / kind (None = any).
    include_failed
        True (`notify retry`): ``pending`` and ``failed`` rows. False (the scan, right after
        `enqueue`): only ``pending`` rows.
    sleep
        Called with the seconds to wait between attempts (tests pass a recorder).
    channel_factory
        Builds the sender of a configured channel (tests may inject signing clocks).
    """
    statuses = ("pending", "failed") if include_failed else ("pending",)
    rows = store.notifications_with_status(db, statuses, date=_iso(date), kind=kind)
    outcomes = []
    for row in rows:
        config = settings.channel(row.channel)
        if config is None:
            error = f"channel {row.channel!r} is not configured ([notify.channels.NAME])"
            outcomes.append(_record_failure(db, row, row.attempts, error))
            continue
        channel = channel_factory(config, settings.timeout_s)
        outcomes.append(_deliver_row(db, row, channel, settings, session, sleep))
    return DeliveryReport(tuple(outcomes))


def send_test(
    db: sqlite_utils.Database,
    settings: NotifySettings,
    session: requests.Session,
    *,
    now: dt.datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    channel_factory: ChannelFactory = build_channel,
) -> DeliveryReport:
    """Send a ``test`` message dated today to every channel (each call resets its rows).

    With no channel configured the message is logged and the report holds one ``skipped``
    outcome for channel ``log``.
    """
    message = test_message(now or now_kst(), settings)
    with write_transaction(db):
        pending = enqueue(db, message, settings.channels, renotify=True)
    if not pending:
        return DeliveryReport(
            (ChannelOutcome(message.date.isoformat(), "test", LOG_CHANNEL, "skipped", 0),)
        )
    return deliver(
        db,
        settings,
        session,
        date=message.date,
        kind="test",
        sleep=sleep,
        channel_factory=channel_factory,
    )


def outbox_status(
    db: sqlite_utils.Database,
    limit: int = 20,
    *,
    date: dt.date | str | None = None,
    kind: str | None = None,
) -> list[store.OutboxRow]:
    """The latest outbox rows (newest date first) for `notify status` and `status`."""
    return store.recent_notifications(db, limit, date=_iso(date), kind=kind)


def notification_summary(
    db: sqlite_utils.Database, date: dt.date | str, kind: str = "daily"
) -> dict:
    """``{status, channels: {name: status}}`` of one (date, kind) for ``scan --json``.

    ``status`` is ``failed`` if any row failed, else ``pending``, else ``sent``, else
    ``skipped``; ``none`` when there is no row (nothing to notify, or --no-notify).
    """
    rows = outbox_status(db, limit=1000, date=date, kind=kind)
    channels = {row.channel: row.status for row in rows}
    for status in ("failed", "pending", "sent", "skipped"):
        if status in channels.values():
            return {"status": status, "channels": channels}
    return {"status": "none", "channels": channels}


def _deliver_row(
    db: sqlite_utils.Database,
    row: store.Notification,
    channel: Channel,
    settings: NotifySettings,
    session: requests.Session,
    sleep: Callable[[float], None],
) -> ChannelOutcome:
    attempts = row.attempts
    current = store.delivery_state(db, row.date, row.kind, row.channel)
    if current is not None and current[0] == "sent":  # sent meanwhile by another process
        return ChannelOutcome(row.date, row.kind, row.channel, "sent", current[1], None, current[2])
    try:
        message = Message.from_json(row.payload or "")
    except ValueError as exc:
        return _record_failure(db, row, attempts, f"stored payload unreadable: {exc}")
    for attempt in range(1, settings.max_attempts + 1):
        attempts += 1
        try:
            provider_id = channel.send(message, session)
        except DeliveryError as exc:
            error = scrub(str(exc), settings.secret_values())  # every channel's, to be sure
            final = not exc.retryable or attempt == settings.max_attempts
            fields = {
                "channel": row.channel,
                "kind": row.kind,
                "date": row.date,
                "attempt": attempt,
                "retryable": exc.retryable,
                "error": error,
            }
            log.warning("notification attempt failed", extra={"fields": fields})
            if final:
                return _record_failure(db, row, attempts, error)
            _update(db, row, status="pending", attempts=attempts, last_error=error)
            sleep(_delay(exc, attempt, settings))
            continue
        sent_at = _stamp()
        _update(
            db,
            row,
            status="sent",
            attempts=attempts,
            last_error=None,
            provider_message_id=provider_id,
            sent_at=sent_at,
        )
        log.info(
            "notification sent",
            extra={"fields": {"channel": row.channel, "kind": row.kind, "date": row.date}},
        )
        return ChannelOutcome(row.date, row.kind, row.channel, "sent", attempts, None, provider_id)
    raise AssertionError("unreachable: max_attempts >= 1")  # pragma: no cover


def _record_failure(
    db: sqlite_utils.Database, row: store.Notification, attempts: int, error: str
) -> ChannelOutcome:
    _update(db, row, status="failed", attempts=attempts, last_error=error)
    return ChannelOutcome(row.date, row.kind, row.channel, "failed", attempts, error)


def _update(db: sqlite_utils.Database, row: store.Notification, **values: object) -> None:
    """Update one row in its own short transaction (a ``sent`` row is never downgraded)."""
    store.update_notification(db, row.date, row.kind, row.channel, **values)


def _delay(error: DeliveryError, attempt: int, settings: NotifySettings) -> float:
    if error.retry_after is not None:
        return min(error.retry_after, settings.max_retry_after_s)
    base = settings.backoff_s * 2 ** (attempt - 1)
    return min(base * (0.5 + random.random() / 2), settings.max_retry_after_s)


def _stamp() -> str:
    return now_kst().isoformat(timespec="seconds")


def _iso(date: dt.date | str | None) -> str | None:
    return date if date is None or isinstance(date, str) else date.isoformat()
