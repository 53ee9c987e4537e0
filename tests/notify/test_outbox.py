"""The outbox on a real SQLite file and delivery against scripted faults on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from scanctl.notify.message import Message, daily_message
from scanctl.notify.outbox import (
    deliver,
    enqueue,
    enqueue_run,
    notification_summary,
    outbox_status,
    send_test,
)
from scanctl.store.db import write_transaction
from scanctl.store.outbox import claim_for_sending
from tests.notify.helpers import (
    SOLAPI_SECRET,
    TELEGRAM_TOKEN,
    WEBHOOK_TOKEN,
    settings_for,
    solapi,
    telegram,
    wait_for_log,
    webhook,
)

DAY = dt.date(2025, 11, 28)
TG_PATH = f"/bot{TELEGRAM_TOKEN}/sendMessage"
HOOK_PATH = f"/hook/{WEBHOOK_TOKEN}"
OK = {"ok": True, "result": {"message_id": 9}}
VERSIONS = {
    "v2": {
        "status": "ok",
        "matched_count": 2,
        "picks": [{"ticker": "005930", "name": "삼성전자", "rank": 1, "score": 9.0}],
    },
    "v3": {"status": "failed", "matched_count": 0, "picks": [], "error": "ValueError: boom"},
}


def daily(text: str = "오늘의 추천 2개") -> Message:
    return Message(kind="daily", date=DAY, text=text, variables={"#{s_num}": "2"})


def rows(db) -> dict:
    return {row["channel"]: row for row in db.query("SELECT * FROM notifications")}


def enqueue_now(db, message, settings, **kwargs):
    with write_transaction(db):
        return enqueue(db, message, settings.channels, **kwargs)


def tg_settings(server, **notify):
    return settings_for({"ops": telegram(server)}, backoff_s=0.5, **notify)


def test_500_500_200_delivers_exactly_once(db, server, session, sleeps):
    for status in (500, 500):
        server.expect_ordered_request(TG_PATH).respond_with_json({"ok": False}, status=status)
    server.expect_ordered_request(TG_PATH).respond_with_json(OK)
    settings = tg_settings(server)
    assert enqueue_now(db, daily(), settings) == ("ops",)
    report = deliver(db, settings, session, date=DAY, kind="daily", sleep=sleeps)
    assert report.ok and report.status == "sent"
    assert len(server.log) == 3
    assert [(o.channel, o.status, o.attempts, o.provider_message_id) for o in report.outcomes] == [
        ("ops", "sent", 3, "9")
    ]
    row = rows(db)["ops"]
    assert (row["status"], row["attempts"], row["provider_message_id"]) == ("sent", 3, "9")
    assert row["last_error"] is None and row["sent_at"] == "2025-11-28T18:00:00+09:00"
    # exponential backoff with jitter: 0.5 * [0.5, 1) then 1.0 * [0.5, 1)
    assert len(sleeps.calls) == 2
    assert 0.25 <= sleeps.calls[0] < 0.5 and 0.5 <= sleeps.calls[1] < 1.0
    # a sent row is never sent again, by the scan or by `notify retry`
    assert deliver(db, settings, session, sleep=sleeps).outcomes == ()
    assert len(server.log) == 3


def test_429_honours_retry_after(db, server, session, sleeps):
    server.expect_ordered_request(TG_PATH).respond_with_json(
        {"ok": False, "error_code": 429}, status=429, headers={"Retry-After": "2"}
    )
    server.expect_ordered_request(TG_PATH).respond_with_json(OK)
    settings = tg_settings(server)
    enqueue_now(db, daily(), settings)
    report = deliver(db, settings, session, sleep=sleeps)
    assert report.ok and sleeps.calls == [2.0]
    assert rows(db)["ops"]["attempts"] == 2


def test_retry_after_is_capped(db, server, session, sleeps):
    server.expect_ordered_request(TG_PATH).respond_with_json(
        {"ok": False, "parameters": {"retry_after": 3600}}, status=429
    )
    server.expect_ordered_request(TG_PATH).respond_with_json(OK)
    settings = tg_settings(server, max_retry_after_s=60)
    enqueue_now(db, daily(), settings)
    assert deliver(db, settings, session, sleep=sleeps).ok
    assert sleeps.calls == [60.0]


def slow_handler(seconds: float, calls: list):
    def handler(request: Request) -> Response:
        calls.append(time.monotonic())
        time.sleep(seconds)
        return Response(json.dumps(OK), content_type="application/json")

    return handler


def test_slow_receiver_gets_one_request_and_the_row_is_unknown(db, server, session, sleeps):
    """The receiver answers 200 after 1 s; the client waits 0.3 s: it may have the message."""
    calls: list = []
    server.expect_request(TG_PATH).respond_with_handler(slow_handler(1.0, calls))
    settings = tg_settings(server, timeout_s=0.3)
    enqueue_now(db, daily(), settings)
    report = deliver(db, settings, session, include_failed=False, sleep=sleeps)
    assert not report.ok and report.status == "unknown"
    assert len(calls) == 1 and sleeps.calls == []
    row = rows(db)["ops"]
    assert (row["status"], row["attempts"], row["sent_at"]) == ("unknown", 1, None)
    assert row["last_error"] == (
        "no reply within 0.3 s after the request was sent: delivery unknown"
    )
    # `notify retry` does not resend it, and says so
    again = deliver(db, settings, session, sleep=sleeps)
    assert [(o.status, o.attempts) for o in again.outcomes] == [("unknown", 1)]
    assert again.outcomes[0].error.startswith("delivery unknown: not resent without")
    # a rerun of the scan for the date does not reset it either
    assert enqueue_now(db, daily(), settings) == ()
    wait_for_log(server, 1)
    assert len(calls) == 1 and rows(db)["ops"]["status"] == "unknown"


def test_resend_unknown_sends_it_again(db, server, session, sleeps):
    calls: list = []
    server.expect_ordered_request(TG_PATH).respond_with_handler(slow_handler(1.0, calls))
    server.expect_ordered_request(TG_PATH).respond_with_handler(slow_handler(0.0, calls))
    settings = tg_settings(server, timeout_s=0.3)
    enqueue_now(db, daily(), settings)
    assert deliver(db, settings, session, sleep=sleeps).status == "unknown"
    wait_for_log(server, 1)
    report = deliver(db, settings, session, resend_unknown=True, sleep=sleeps)
    assert report.ok and [(o.status, o.attempts) for o in report.outcomes] == [("sent", 2)]
    assert len(calls) == 2 and rows(db)["ops"]["status"] == "sent"


def test_503_then_200_is_two_requests_and_sent(db, server, session, sleeps):
    server.expect_ordered_request(TG_PATH).respond_with_data("busy", status=503)
    server.expect_ordered_request(TG_PATH).respond_with_json(OK)
    settings = tg_settings(server)
    enqueue_now(db, daily(), settings)
    report = deliver(db, settings, session, sleep=sleeps)
    assert report.ok and len(server.log) == 2 and len(sleeps.calls) == 1
    assert (rows(db)["ops"]["status"], rows(db)["ops"]["attempts"]) == ("sent", 2)


def test_connection_refused_then_up_is_sent(db, session, closed_port):
    """Nothing listens on the port for the first attempt; the receiver starts during the
    backoff: the message provably did not arrive, so it is sent again, once."""
    late = HTTPServer(host="127.0.0.1", port=closed_port)
    late.expect_request(TG_PATH).respond_with_json(OK)
    settings = settings_for({"ops": telegram(late)}, backoff_s=0.5)
    enqueue_now(db, daily(), settings)
    try:
        report = deliver(db, settings, session, sleep=lambda seconds: late.start())
        assert report.ok and [(o.status, o.attempts) for o in report.outcomes] == [("sent", 2)]
        assert len(late.log) == 1
        assert rows(db)["ops"]["last_error"] is None
    finally:
        late.clear()
        if late.is_running():
            late.stop()


def test_a_crash_between_send_and_mark_is_unknown_and_not_resent(db, server, session, sleeps):
    server.expect_request(TG_PATH).respond_with_json(OK)
    settings = tg_settings(server)
    enqueue_now(db, daily(), settings)
    # what a process that died after its request went out leaves behind
    assert claim_for_sending(db, "2025-11-28", "daily", "ops", only_from=("pending",), attempts=1)
    assert rows(db)["ops"]["status"] == "sending"
    report = deliver(db, settings, session, date=DAY, include_failed=False, sleep=sleeps)
    assert [(o.status, o.attempts) for o in report.outcomes] == [("unknown", 1)]
    assert server.log == []
    row = rows(db)["ops"]
    assert row["status"] == "unknown" and "the process ended" in row["last_error"]
    assert deliver(db, settings, session, sleep=sleeps).status == "unknown"
    assert server.log == []


def test_a_failed_later_part_resends_only_the_parts_not_yet_accepted(db, server, session, sleeps):
    ids = iter(range(1, 20))

    def reply(request: Request) -> Response:
        return Response(
            json.dumps({"ok": True, "result": {"message_id": next(ids)}}),
            content_type="application/json",
        )

    server.expect_ordered_request(TG_PATH).respond_with_handler(reply)
    server.expect_ordered_request(TG_PATH).respond_with_data("busy", status=502)
    server.expect_request(TG_PATH).respond_with_handler(reply)
    settings = tg_settings(server)
    enqueue_now(db, daily("\n".join("가" * 100 for _ in range(100))), settings)  # 3 parts
    report = deliver(db, settings, session, sleep=sleeps)
    assert report.ok and report.outcomes[0].provider_message_id == "1,2,3"
    texts = [json.loads(request.get_data())["text"] for request, _ in server.log]
    heads = [text.split("\n", 1)[0] for text in texts]
    assert heads == ["(1/3)", "(2/3)", "(2/3)", "(3/3)"]
    row = rows(db)["ops"]
    assert (row["status"], row["parts_sent"], row["provider_message_id"]) == ("sent", 3, "1,2,3")


def test_unknown_part_is_resent_alone_with_resend_unknown(db, server, session, sleeps):
    calls: list = []
    server.expect_ordered_request(TG_PATH).respond_with_json(
        {"ok": True, "result": {"message_id": 1}}
    )
    server.expect_ordered_request(TG_PATH).respond_with_handler(slow_handler(1.0, calls))
    server.expect_request(TG_PATH).respond_with_json({"ok": True, "result": {"message_id": 7}})
    settings = tg_settings(server, timeout_s=0.3)
    enqueue_now(db, daily("\n".join("가" * 100 for _ in range(70))), settings)  # 2 parts
    assert deliver(db, settings, session, sleep=sleeps).status == "unknown"
    row = rows(db)["ops"]
    assert (row["status"], row["parts_sent"], row["provider_message_id"]) == ("unknown", 1, "1")
    wait_for_log(server, 2)
    report = deliver(db, settings, session, resend_unknown=True, sleep=sleeps)
    assert report.ok and report.outcomes[0].provider_message_id == "1,7"
    heads = [json.loads(r.get_data())["text"].split("\n", 1)[0] for r, _ in server.log]
    assert heads == ["(1/2)", "(2/2)", "(2/2)"]


def test_401_is_not_retried(db, server, session, sleeps):
    server.expect_request(TG_PATH).respond_with_json(
        {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
    )
    settings = tg_settings(server)
    enqueue_now(db, daily(), settings)
    report = deliver(db, settings, session, sleep=sleeps)
    assert not report.ok and report.status == "failed"
    assert len(server.log) == 1 and sleeps.calls == []
    row = rows(db)["ops"]
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "failed",
        1,
        "HTTP 401: Unauthorized",
    )
    assert report.outcomes[0].error == "HTTP 401: Unauthorized"


def test_retries_stop_at_max_attempts(db, server, session, sleeps):
    server.expect_request(TG_PATH).respond_with_json({"ok": False}, status=502)
    settings = tg_settings(server, max_attempts=3)
    enqueue_now(db, daily(), settings)
    report = deliver(db, settings, session, sleep=sleeps)
    assert not report.ok and len(server.log) == 3 and len(sleeps.calls) == 2
    assert (rows(db)["ops"]["status"], rows(db)["ops"]["attempts"]) == ("failed", 3)


def test_secrets_never_reach_errors_reports_or_logs(
    db, server, session, sleeps, closed_port, stderr_logs
):
    echo = f"{TELEGRAM_TOKEN} {SOLAPI_SECRET} {WEBHOOK_TOKEN} {server.url_for(HOOK_PATH)}"
    server.expect_request(TG_PATH).respond_with_json({"ok": False, "description": echo}, 400)
    server.expect_request(HOOK_PATH).respond_with_data(f"bad: {echo}", status=500)
    server.expect_request("/messages/v4/groups").respond_with_json(
        {"errorCode": "Forbidden", "errorMessage": echo}, status=403
    )
    dead = {**telegram(server), "base_url": f"http://127.0.0.1:{closed_port}"}
    channels = {
        "ops": telegram(server),
        "hook": webhook(server, "/hook"),
        "kakao": solapi(server),
        "dead": dead,
    }
    settings = settings_for(channels, max_attempts=2)
    enqueue_now(db, daily(), settings)
    report = deliver(db, settings, session, sleep=sleeps)
    assert not report.ok and {o.status for o in report.outcomes} == {"failed"}
    stored = json.dumps(list(db.query("SELECT * FROM notifications")), ensure_ascii=False)
    logged = stderr_logs()
    assert logged.count("notification attempt failed") == 6  # dead 2, hook 2, kakao 1, ops 1
    shown = "\n".join([stored, json.dumps(report.to_record(), ensure_ascii=False), logged])
    assert "connection failed" in stored and "HTTP 500" in stored and "HTTP 403" in stored
    for secret in (TELEGRAM_TOKEN, SOLAPI_SECRET, WEBHOOK_TOKEN, server.url_for(HOOK_PATH)):
        assert secret not in shown
    assert "sendMessage" not in shown


def test_enqueue_is_idempotent_and_renotify_resends(db, server, session, sleeps):
    server.expect_request(TG_PATH).respond_with_json(OK)
    settings = tg_settings(server)
    enqueue_now(db, daily(), settings)
    deliver(db, settings, session, sleep=sleeps)
    assert enqueue_now(db, daily("다시"), settings) == ()
    assert deliver(db, settings, session, include_failed=False, sleep=sleeps).outcomes == ()
    assert len(server.log) == 1 and rows(db)["ops"]["status"] == "sent"
    assert json.loads(rows(db)["ops"]["payload"])["text"] == "오늘의 추천 2개"
    assert enqueue_now(db, daily("다시"), settings, renotify=True) == ("ops",)
    row = rows(db)["ops"]
    assert (row["status"], row["attempts"], row["sent_at"], row["parts_sent"]) == (
        "pending",
        0,
        None,
        0,
    )
    assert deliver(db, settings, session, sleep=sleeps).ok
    assert len(server.log) == 2 and json.loads(server.log[1][0].get_data())["text"] == "다시"


def test_no_channel_logs_the_message_and_skips(db, session, sleeps, stderr_logs):
    settings = settings_for({})
    assert enqueue_now(db, daily(), settings) == ()
    row = rows(db)["log"]
    assert (row["status"], row["kind"], row["attempts"]) == ("skipped", "daily", 0)
    assert json.loads(row["payload"])["text"] == "오늘의 추천 2개"
    logged = stderr_logs()
    assert "message is logged instead kind=daily date=2025-11-28 text=오늘의 추천 2개" in logged
    report = deliver(db, settings, session, sleep=sleeps)
    assert report.ok and report.outcomes == ()
    assert notification_summary(db, DAY) == {"status": "skipped", "channels": {"log": "skipped"}}


def test_enqueue_stays_inside_the_callers_transaction(db, server):
    settings = tg_settings(server)
    with pytest.raises(RuntimeError), write_transaction(db):
        enqueue(db, daily(), settings.channels)
        raise RuntimeError("scan failed after enqueue")
    assert rows(db) == {}


def test_include_failed_chooses_between_scan_and_retry(db, server, session, sleeps):
    server.expect_ordered_request(TG_PATH).respond_with_json({"ok": False}, status=400)
    server.expect_ordered_request(TG_PATH).respond_with_json(OK)
    settings = tg_settings(server)
    enqueue_now(db, daily(), settings)
    assert not deliver(db, settings, session, sleep=sleeps).ok
    assert deliver(db, settings, session, include_failed=False, sleep=sleeps).outcomes == ()
    retried = deliver(db, settings, session, include_failed=True, sleep=sleeps)
    assert retried.ok and [o.attempts for o in retried.outcomes] == [2]
    assert rows(db)["ops"]["status"] == "sent"


def test_enqueue_run_routes_daily_and_failure(db, server, session, sleeps):
    server.expect_request(TG_PATH).respond_with_json(OK)
    server.expect_request(HOOK_PATH).respond_with_json({"id": "h1"})
    channels = {
        "ops": telegram(server, daily=False, alerts=True),
        "hook": webhook(server, "/hook", alerts=False),
    }
    settings = settings_for(channels)
    with write_transaction(db):
        messages = enqueue_run(db, settings, DAY, VERSIONS)
    assert [m.kind for m in messages] == ["daily", "failure"]
    stored = {
        (r["kind"], r["channel"]): r["status"] for r in db.query("SELECT * FROM notifications")
    }
    assert stored == {("daily", "hook"): "pending", ("failure", "ops"): "pending"}
    report = deliver(db, settings, session, date=DAY, include_failed=False, sleep=sleeps)
    assert report.ok and len(report.outcomes) == 2
    alert = json.loads(server.log[0][0].get_data()) if server.log[0][0].path == TG_PATH else None
    texts = {request.path: json.loads(request.get_data()) for request, _ in server.log}
    assert "v3: ValueError: boom" in texts[TG_PATH]["text"]
    assert texts[HOOK_PATH]["data"]["count"] == 2 and alert in (None, texts[TG_PATH])
    assert notification_summary(db, DAY) == {"status": "sent", "channels": {"hook": "sent"}}


def test_send_test_reaches_every_channel_and_can_be_repeated(db, server, session, sleeps):
    server.expect_request(TG_PATH).respond_with_json(OK)
    server.expect_request(HOOK_PATH).respond_with_json({})
    settings = settings_for(
        {"ops": telegram(server, daily=False), "hook": webhook(server, "/hook", alerts=False)}
    )
    first = send_test(db, settings, session, sleep=sleeps)
    second = send_test(db, settings, session, sleep=sleeps)
    assert first.ok and second.ok and len(server.log) == 4
    assert {(o.date, o.kind, o.channel) for o in second.outcomes} == {
        ("2025-11-28", "test", "ops"),
        ("2025-11-28", "test", "hook"),
    }
    assert "테스트 메시지 2025년 11월 28일 18:00" in json.loads(server.log[0][0].get_data())["text"]


def test_send_test_without_channels(db, session):
    report = send_test(db, settings_for({}), session)
    assert report.ok and [(o.channel, o.status) for o in report.outcomes] == [("log", "skipped")]


def test_row_of_a_removed_channel_fails_without_sending(db, server, session, sleeps):
    enqueue_now(db, daily(), tg_settings(server))
    report = deliver(db, settings_for({}), session, sleep=sleeps)
    assert not report.ok and "channel 'ops' is not configured" in report.outcomes[0].error
    assert server.log == []


def test_outbox_status_and_summary(db, server, session, sleeps):
    server.expect_request(TG_PATH).respond_with_json({"ok": False}, status=403)
    settings = tg_settings(server)
    enqueue_now(db, daily(), settings)
    earlier = Message(kind="daily", date=dt.date(2025, 11, 27), text="어제")
    enqueue_now(db, earlier, settings)
    deliver(db, settings, session, date=DAY, sleep=sleeps)
    status = outbox_status(db, limit=5)
    assert [(r.date, r.channel, r.status, r.attempts) for r in status] == [
        ("2025-11-28", "ops", "failed", 1),
        ("2025-11-27", "ops", "pending", 0),
    ]
    assert status[0].to_record()["last_error"] == 'HTTP 403: {"ok": false}'
    assert len(outbox_status(db, limit=1)) == 1
    assert notification_summary(db, DAY) == {"status": "failed", "channels": {"ops": "failed"}}
    assert notification_summary(db, "2025-11-26") == {"status": "none", "channels": {}}


def test_daily_message_round_trips_through_the_outbox(db, server, session, sleeps):
    server.expect_request(HOOK_PATH).respond_with_json({})
    settings = settings_for({"hook": webhook(server, "/hook")})
    message = daily_message(DAY, VERSIONS, settings)
    enqueue_now(db, message, settings)
    deliver(db, settings, session, sleep=sleeps)
    body = json.loads(server.log[0][0].get_data())
    assert body["text"] == message.text and body["variables"] == dict(message.variables)
