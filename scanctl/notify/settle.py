"""Settling deliveries whose outcome is unknown: a channel's look-up, or the operator's word.

`settle_unknown` asks every channel that can look its deliveries up (`SettlingChannel`:
Solapi) about each of its ``unknown`` rows, and `apply_settlement` records the answer:
``sent`` and ``failed`` are final, ``not_sent`` makes the row ``pending`` again (it provably
did not and now cannot arrive, so sending it is safe), and ``unknown`` keeps it, with the
reason added to ``last_error``. `confirm_delivered` is the operator's ``notify confirm``: the
message was seen to arrive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import requests
import sqlite_utils

from scanctl.logs import get_logger
from scanctl.notify.channels import Channel, SettlingChannel
from scanctl.notify.config import ChannelConfig, NotifySettings
from scanctl.notify.report import ChannelOutcome, DeliveryReport, log_fields, row_key, stamp
from scanctl.notify.transport import Settled, Timeout, scrub
from scanctl.store import outbox as store

log = get_logger("notify")

LOOKUP_NOTE = "; look-up: "


def settle_unknown(
    db: sqlite_utils.Database,
    settings: NotifySettings,
    session: requests.Session,
    channel_factory: Callable[[ChannelConfig, Timeout], Channel],
) -> list[ChannelOutcome]:
    """Look up every ``unknown`` row (any date) whose channel can; one outcome per row asked."""
    outcomes = []
    for row in store.notifications_with_status(db, ("unknown",)):
        config = settings.channel(row.channel)
        channel = channel_factory(config, settings.timeouts) if config is not None else None
        if isinstance(channel, SettlingChannel):
            settled = channel.settle(row.provider_message_id, session)
            outcomes.append(apply_settlement(db, row, settled, settings))
    return outcomes


def apply_settlement(
    db: sqlite_utils.Database,
    row: store.Notification,
    settled: Settled,
    settings: NotifySettings,
) -> ChannelOutcome:
    """Record what a look-up found about the ``unknown`` ``row`` (module docstring)."""
    detail = scrub(settled.detail, settings.secret_values())
    log.info(
        "unknown delivery looked up",
        extra={"fields": {**log_fields(row), "verdict": settled.verdict, "detail": detail}},
    )
    key, attempts = row_key(row), row.attempts
    if settled.verdict == "sent":
        provider_id = settled.provider_message_id or row.provider_message_id
        store.update_notification(
            db,
            *key,
            only_from=("unknown",),
            status="sent",
            last_error=None,
            provider_message_id=provider_id,
            sent_at=stamp(),
        )
        return ChannelOutcome.of(row, "sent", attempts, None, provider_id)
    if settled.verdict == "failed":
        store.update_notification(
            db, *key, only_from=("unknown",), status="failed", last_error=detail
        )
        return ChannelOutcome.of(row, "failed", attempts, detail)
    if settled.verdict == "not_sent":
        store.update_notification(
            db,
            *key,
            only_from=("unknown",),
            status="pending",
            last_error=detail,
            provider_message_id=None,
        )
        return ChannelOutcome.of(row, "pending", attempts, detail)
    base = (row.last_error or "delivery unknown").split(LOOKUP_NOTE)[0]  # one note, the latest
    error = f"{base}{LOOKUP_NOTE}{detail}"
    store.update_notification(db, *key, only_from=("unknown",), last_error=error)
    return ChannelOutcome.of(row, "unknown", attempts, error)


def confirm_delivered(
    db: sqlite_utils.Database,
    *,
    date: dt.date | None = None,
    kind: str | None = None,
    channel: str | None = None,
) -> DeliveryReport:
    """Mark the ``unknown`` rows of ``date`` / ``kind`` / ``channel`` (None = any) ``sent``:
    the operator saw the message arrive (`notify confirm`). Other rows are left alone."""
    day = date.isoformat() if date is not None else None
    outcomes = []
    for row in store.notifications_with_status(db, ("unknown",), date=day, kind=kind):
        if channel not in (None, row.channel) or not store.update_notification(
            db,
            *row_key(row),
            only_from=("unknown",),
            status="sent",
            last_error=None,
            sent_at=stamp(),
        ):
            continue
        log.info("notification confirmed as delivered", extra={"fields": log_fields(row)})
        outcomes.append(ChannelOutcome.of(row, "sent", row.attempts, None, row.provider_message_id))
    return DeliveryReport(tuple(outcomes))
