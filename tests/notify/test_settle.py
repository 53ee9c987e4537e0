"""Settling unknown deliveries: Solapi's group look-up through the outbox (at the start of a
delivery, in `notify retry`, right after a lost reply), and the operator's `confirm`."""

from __future__ import annotations

import datetime as dt
import functools

from scanctl.notify.message import Message
from scanctl.notify.outbox import deliver, enqueue
from scanctl.notify.settle import confirm_delivered
from scanctl.notify.solapi import SolapiChannel
from scanctl.store.db import write_transaction
from scanctl.store.outbox import claim_for_sending, update_notification
from tests.notify.helpers import FakeSolapi, settings_for, solapi, telegram, wait_for_log

DAY = dt.date(2025, 11, 28)
KEY = ("2025-11-28", "daily", "kakao")


def daily() -> Message:
    return Message(kind="daily", date=DAY, text="추천 2개", variables={"#{s_num}": "2"})


def kakao_settings(server, **notify):
    return settings_for({"kakao": solapi(server)}, backoff_s=0.5, **notify)


def solapi_factory(config, timeout):
    """Solapi channels with a short reply timeout: the tests' slow sends must time out."""
    return SolapiChannel.from_options(config.name, config.options, timeout=(2.0, 0.3))


def rows(db) -> dict:
    return {row["channel"]: row for row in db.query("SELECT * FROM notifications")}


def enqueue_now(db, settings):
    with write_transaction(db):
        return enqueue(db, daily(), settings.channels)


def sends(server) -> list[str]:
    return [r.path for r, _ in server.log if r.method == "POST" and r.path.endswith("/send")]


def test_lost_reply_is_looked_up_and_settled_sent_without_a_resend(db, server, session, sleeps):
    api = FakeSolapi(server)
    api.send_delay = 1.0  # Solapi sends the group, its reply comes after the client gave up
    settings = kakao_settings(server)
    enqueue_now(db, settings)
    deliver_ = functools.partial(deliver, channel_factory=solapi_factory, sleep=sleeps)
    report = deliver_(db, settings, session)
    assert report.ok and [(o.status, o.attempts) for o in report.outcomes] == [("sent", 1)]
    wait_for_log(server, 4)
    assert sends(server) == ["/messages/v4/groups/G4V20251128000001/send"]
    assert api.sent_groups() == ["G4V20251128000001"] and sleeps.calls == []
    row = rows(db)["kakao"]
    assert (row["status"], row["provider_message_id"]) == ("sent", "G4V20251128000001")


def test_unknown_left_by_a_crash_is_settled_at_the_next_delivery(db, server, session, sleeps):
    """A process recorded the group id, sent the group, and died before the answer."""
    api = FakeSolapi(server)
    group_id = api.add_group("COMPLETE", "2025-11-28T09:00:01.000Z")
    settings = kakao_settings(server)
    enqueue_now(db, settings)
    claim_for_sending(db, *KEY, only_from=("pending",), attempts=1)
    update_notification(db, *KEY, only_from=("sending",), provider_message_id=group_id)
    report = deliver(db, settings, session, date=DAY, include_failed=False, sleep=sleeps)
    assert report.ok and [(o.status, o.provider_message_id) for o in report.outcomes] == [
        ("sent", group_id)
    ]
    assert [f"{r.method} {r.path}" for r, _ in server.log] == [
        f"GET /messages/v4/groups/{group_id}"
    ]
    row = rows(db)["kakao"]
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)


def test_notify_retry_settles_an_unknown_row_of_any_date(db, server, session, sleeps):
    api = FakeSolapi(server)
    group_id = api.add_group("SENDING", "2025-11-28T09:00:01.000Z")
    api.lookup_status = 503  # the first look-up fails: the row stays unknown
    settings = kakao_settings(server)
    enqueue_now(db, settings)
    claim_for_sending(db, *KEY, only_from=("pending",), attempts=1)
    update_notification(db, *KEY, only_from=("sending",), provider_message_id=group_id)
    first = deliver(db, settings, session, include_failed=False, sleep=sleeps)
    assert first.status == "unknown" and "look-up failed (HTTP 503" in first.outcomes[0].error
    deliver(db, settings, session, include_failed=False, sleep=sleeps)
    assert rows(db)["kakao"]["last_error"].count("; look-up: ") == 1  # the latest note only
    api.lookup_status = 200
    later = deliver(db, settings, session, date=dt.date(2025, 12, 1), sleep=sleeps)
    assert later.outcomes == ()  # another date's report; the row was settled all the same
    assert rows(db)["kakao"]["status"] == "sent" and sends(server) == []


def test_a_5xx_to_the_send_request_is_looked_up_not_blindly_retried(db, server, session, sleeps):
    api = FakeSolapi(server)
    api.send_status, api.mark_sent_on_error = 502, True  # Solapi sent it, then answered 502
    settings = kakao_settings(server)
    enqueue_now(db, settings)
    report = deliver(db, settings, session, sleep=sleeps)
    assert report.ok and sends(server) == ["/messages/v4/groups/G4V20251128000001/send"]
    assert len(api.groups) == 1 and sleeps.calls == []


def test_a_group_never_sent_is_deleted_and_the_message_sent_once(db, server, session, sleeps):
    api = FakeSolapi(server)
    api.send_status = 502  # Solapi failed before sending: the group stays PENDING
    settings = kakao_settings(server, max_attempts=3)
    enqueue_now(db, settings)

    def recover(seconds: float) -> None:
        sleeps(seconds)
        api.send_status = 200

    report = deliver(db, settings, session, sleep=recover)
    assert report.ok and [(o.status, o.attempts) for o in report.outcomes] == [("sent", 2)]
    first, second = api.groups
    assert api.groups[first]["status"] == "DELETED" and api.sent_groups() == [second]
    assert len(sleeps.calls) == 1
    assert rows(db)["kakao"]["provider_message_id"] == second


def test_a_crash_before_the_group_was_recorded_sends_once(db, server, session, sleeps):
    """`sending` without a group id: the send request, which needs the id, never went out."""
    api = FakeSolapi(server)
    settings = kakao_settings(server)
    enqueue_now(db, settings)
    claim_for_sending(db, *KEY, only_from=("pending",), attempts=1)
    report = deliver(db, settings, session, include_failed=False, sleep=sleeps)
    assert report.ok and [(o.status, o.attempts) for o in report.outcomes] == [("sent", 2)]
    assert len(api.sent_groups()) == 1


def test_confirm_marks_unknown_rows_sent_and_nothing_else(db, server, session):
    settings = settings_for({"ops": telegram(server), "kakao": solapi(server)})
    enqueue_now(db, settings)
    claim_for_sending(db, "2025-11-28", "daily", "ops", only_from=("pending",), attempts=1)
    update_notification(db, "2025-11-28", "daily", "ops", status="unknown", last_error="lost")
    assert confirm_delivered(db, date=DAY, channel="kakao").outcomes == ()  # kakao is pending
    report = confirm_delivered(db, date=DAY)
    assert report.ok and [(o.channel, o.status) for o in report.outcomes] == [("ops", "sent")]
    stored = rows(db)
    assert (stored["ops"]["status"], stored["ops"]["last_error"]) == ("sent", None)
    assert stored["ops"]["sent_at"] == "2025-11-28T18:00:00+09:00"
    assert stored["kakao"]["status"] == "pending" and server.log == []
