"""The `notify` commands' library calls: each opens its own HTTP session."""

from __future__ import annotations

import datetime as dt

import requests
import sqlite_utils

from scanctl.notify.config import NotifySettings
from scanctl.notify.outbox import deliver, send_test
from scanctl.notify.report import DeliveryReport


def test_all_channels(db: sqlite_utils.Database, settings: NotifySettings) -> DeliveryReport:
    """`notify test`: a test message to every configured channel."""
    with requests.Session() as session:
        return send_test(db, settings, session)


test_all_channels.__test__ = False  # a library function, not a pytest test


def retry_outbox(
    db: sqlite_utils.Database,
    settings: NotifySettings,
    day: dt.date | None = None,
    *,
    resend_unknown: bool = False,
) -> DeliveryReport:
    """`notify retry`: settle unknown deliveries where the channel can look them up, then
    resend pending and failed rows (of ``day``, or all); never a sent one, and an unknown one
    only with ``resend_unknown``."""
    with requests.Session() as session:
        return deliver(db, settings, session, date=day, resend_unknown=resend_unknown)
