"""The outbox: one ``notifications`` row per (date, kind, channel), each delivered once.

The scan writes its messages with `enqueue_run` (or `enqueue`) inside its own write
transaction, commits, and then calls `deliver` for what it just enqueued; `notify retry` calls
`deliver` for every pending or failed row (and, with ``--resend-unknown``, unknown ones);
`notify test` calls `send_test`; `notify confirm` calls `confirm_delivered`.

The life of a row::

    pending/failed ──claim──▶ sending ──2xx──────────────────────────────▶ sent
                                 ├─ not delivered: connect error, 408/429/5xx ─▶ pending, retried
                                 │  with backoff (429: Retry-After); failed after max_attempts
                                 ├─ refused: any other 4xx ────────────────────▶ failed
                                 ├─ maybe delivered: no answer after sending ──▶ unknown
                                 └─ the process died (found at the next start) ▶ unknown
    unknown ── settle (Solapi's group look-up) ─▶ sent | failed | pending (provably not sent)
    unknown ── `notify retry --resend-unknown` ─▶ claimed again (a duplicate is possible)
    unknown ── `notify confirm` (the operator saw it arrive) ─▶ sent

Each transition is its own committed write, and the row is ``sending`` *before* its request
goes out, so a crash at any point leaves a row that says what may have happened. A row is
never sent again while it is ``sent`` or ``unknown``: nothing is resent automatically unless
it provably did not arrive. `deliver` must be called outside a transaction and under the run
lock (the scan and the ``notify`` commands take it), so that a ``sending`` row found at its
start can only be left by a process that died.

Delivery of one row: up to ``max_attempts`` tries; a not-delivered failure waits
``backoff_s * 2**(attempt-1)`` scaled by a random factor in [0.5, 1), or the 429's
Retry-After capped at ``max_retry_after_s``. Parts of a long message already accepted are not
sent again (``parts_sent``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
from collections.abc import Callable, Mapping, Sequence

import requests
import sqlite_utils

from scanctl.clock import now_kst
from scanctl.logs import get_logger
from scanctl.notify.channels import Channel, SettlingChannel, build_channel
from scanctl.notify.config import LOG_CHANNEL, ChannelConfig, NotifySettings
from scanctl.notify.message import (
    Message,
    VersionSummary,
    daily_message,
    failure_message,
    test_message,
)
from scanctl.notify.report import (
    ChannelOutcome,
    DeliveryReport,
    log_fields,
    outcome_key,
    row_key,
    stamp,
)
from scanctl.notify.settle import apply_settlement, settle_unknown
from scanctl.notify.transport import DeliveryError, SendProgress, Timeout, scrub
from scanctl.store import outbox as store
from scanctl.store.db import write_transaction

log = get_logger("notify")

ChannelFactory = Callable[[ChannelConfig, Timeout], Channel]


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
        Reset a ``sent`` or ``unknown`` row to ``pending`` (otherwise it is left alone: a
        message that was, or may have been, delivered is not sent again).

    Returns
    -------
    tuple[str, ...]
        The channels whose row is now ``pending``. With no receiving channel the message is
        logged and one ``skipped`` row with channel ``log`` is written; the result is empty.
    """
    date, now = message.date.isoformat(), stamp()
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
        if status in ("sent", "unknown", "sending") and not renotify:
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


INTERRUPTED = (
    "the process ended while sending (after the row was marked sending, before the answer"
    " was recorded): delivery unknown"
)
NOT_RESENT = "delivery unknown: not resent without --resend-unknown"


def deliver(
    db: sqlite_utils.Database,
    settings: NotifySettings,
    session: requests.Session,
    *,
    date: dt.date | str | None = None,
    kind: str | None = None,
    include_failed: bool = True,
    resend_unknown: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    channel_factory: ChannelFactory = build_channel,
) -> DeliveryReport:
    """Settle what can be settled, then send the rows that are due (module docstring).

    First every ``sending`` row (left by a process that died) becomes ``unknown``, and every
    ``unknown`` row of a channel that can look deliveries up (Solapi) is settled, whatever its
    date. Then the due rows of ``date`` / ``kind`` are sent.

    Parameters
    ----------
    date, kind
        Only rows of this date / kind (None = any).
    include_failed
        True (`notify retry`): ``pending`` and ``failed`` rows. False (the scan, right after
        `enqueue`): only ``pending`` rows.
    resend_unknown
        Also send ``unknown`` rows again (``notify retry --resend-unknown``): the receiver
        may get the message twice.
    sleep
        Called with the seconds to wait between attempts (tests pass a recorder).
    channel_factory
        Builds the sender of a configured channel (tests may inject signing clocks).

    Returns
    -------
    DeliveryReport
        One outcome per row of ``date`` / ``kind`` that was sent, settled, or is still
        ``unknown``.
    """
    day = _iso(date)
    for row in store.mark_interrupted(db, INTERRUPTED):
        log.warning("notification interrupted: delivery unknown", extra={"fields": log_fields(row)})
    outcomes = {
        outcome_key(outcome): outcome
        for outcome in settle_unknown(db, settings, session, channel_factory)
        if day in (None, outcome.date) and kind in (None, outcome.kind)
    }
    statuses = ["pending"]
    statuses += ["failed"] if include_failed else []
    statuses += ["unknown"] if resend_unknown else []
    for row in store.notifications_with_status(db, statuses, date=day, kind=kind):
        config = settings.channel(row.channel)
        if config is None:
            error = f"channel {row.channel!r} is not configured ([notify.channels.NAME])"
            outcome = _record_failure(db, row, row.attempts, error)
        else:
            channel = channel_factory(config, settings.timeouts)
            outcome = _deliver_row(db, row, channel, settings, session, sleep)
        outcomes[outcome_key(outcome)] = outcome
    for row in store.notifications_with_status(db, ("unknown",), date=day, kind=kind):
        key = (row.date, row.kind, row.channel)
        if key not in outcomes:
            outcomes[key] = ChannelOutcome.of(
                row, "unknown", row.attempts, f"{NOT_RESENT} ({row.last_error})"
            )
    return DeliveryReport(tuple(outcomes[key] for key in sorted(outcomes)))


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

    ``status`` is the first of ``failed``, ``unknown``, ``sending``, ``pending``, ``sent``,
    ``skipped`` that a row has; ``none`` when there is no row (nothing to notify, or
    --no-notify).
    """
    rows = outbox_status(db, limit=1000, date=date, kind=kind)
    channels = {row.channel: row.status for row in rows}
    for status in ("failed", "unknown", "sending", "pending", "sent", "skipped"):
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
    try:
        message = Message.from_json(row.payload or "")
    except ValueError as exc:
        return _record_failure(db, row, row.attempts, f"stored payload unreadable: {exc}")
    pk, attempts, claim_from = row_key(row), row.attempts, (row.status,)
    progress = SendProgress(
        row.parts_sent,
        (row.provider_message_id or "").split(",") if row.parts_sent else (),
        record=lambda done: store.update_notification(
            db,
            *pk,
            only_from=("sending",),
            parts_sent=done.parts_done,
            provider_message_id=done.provider_message_id,
        ),
    )
    for attempt in range(1, settings.max_attempts + 1):
        attempts += 1
        if not store.claim_for_sending(db, *pk, only_from=claim_from, attempts=attempts):
            current = store.notification(db, *pk) or row  # changed by someone else: not ours
            return ChannelOutcome.of(current, current.status, current.attempts, current.last_error)
        claim_from = ("pending",)
        try:
            provider_id = channel.send(message, session, progress)
        except DeliveryError as exc:
            error = scrub(str(exc), settings.secret_values())  # every channel's, to be sure
            fields = {**log_fields(row), "attempt": attempt, "error": error}
            log.warning("notification attempt failed", extra={"fields": fields})
            retryable = exc.retryable
            if exc.maybe_delivered:
                store.update_notification(db, *pk, status="unknown", last_error=error)
                if not isinstance(channel, SettlingChannel):
                    return ChannelOutcome.of(row, "unknown", attempts, error)
                unknown = dataclasses.replace(
                    row, status="unknown", attempts=attempts, last_error=error
                )
                settled = channel.settle(progress.reference_id, session)
                outcome = apply_settlement(db, unknown, settled, settings)
                if outcome.status != "pending":  # sent, failed or still unknown
                    return outcome
                error, retryable = outcome.error or error, True
            if not retryable or attempt == settings.max_attempts:
                return _record_failure(db, row, attempts, error)
            store.update_notification(db, *pk, status="pending", last_error=error)
            sleep(_delay(exc, attempt, settings))
            continue
        provider_id = provider_id or progress.provider_message_id
        store.update_notification(
            db,
            *pk,
            status="sent",
            attempts=attempts,
            last_error=None,
            provider_message_id=provider_id,
            sent_at=stamp(),
        )
        log.info("notification sent", extra={"fields": log_fields(row)})
        return ChannelOutcome.of(row, "sent", attempts, None, provider_id)
    raise AssertionError("unreachable: max_attempts >= 1")  # pragma: no cover


def _record_failure(
    db: sqlite_utils.Database, row: store.Notification, attempts: int, error: str
) -> ChannelOutcome:
    store.update_notification(
        db, *row_key(row), status="failed", attempts=attempts, last_error=error
    )
    return ChannelOutcome.of(row, "failed", attempts, error)


def _delay(error: DeliveryError, attempt: int, settings: NotifySettings) -> float:
    if error.retry_after is not None:
        return min(error.retry_after, settings.max_retry_after_s)
    base = settings.backoff_s * 2 ** (attempt - 1)
    return min(base * (0.5 + random.random() / 2), settings.max_retry_after_s)


def _iso(date: dt.date | str | None) -> str | None:
    return date if date is None or isinstance(date, str) else date.isoformat()
