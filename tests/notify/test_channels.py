"""Each channel's request against a real server on 127.0.0.1, and the failure classification."""

from __future__ import annotations

import datetime as dt
import html
import json
import time

import pytest
from werkzeug import Request, Response

from scanctl.notify.channels import (
    DiscordChannel,
    SlackChannel,
    TelegramChannel,
    WebhookChannel,
    build_channel,
)
from scanctl.notify.message import Message
from scanctl.notify.transport import DeliveryError, scrub, split_text
from tests.notify.helpers import (
    TELEGRAM_TOKEN,
    WEBHOOK_TOKEN,
    settings_for,
    telegram,
    wait_for_log,
    webhook,
)

DAY = dt.date(2025, 11, 28)


def message(text="[scanctl] 2025년 11월 28일 <b>A&B</b> > 3", kind="daily"):
    return Message(
        kind=kind,
        date=DAY,
        text=text,
        variables={"#{s_date}": "2025년 11월 28일", "#{s_num}": "3", "#{c_name}": "고객님"},
        data={"count": 3},
    )


def long_text(lines: int, width: int = 60) -> str:
    return "\n".join(f"{n:04d} " + "가<&>" * (width // 4) for n in range(lines))


def channel_of(server, config: dict, timeout: float = 2.0):
    settings = settings_for({"c": config})
    return build_channel(settings.channels[0], timeout)


def bodies(server):
    return [json.loads(request.get_data()) for request, _ in server.log]


def test_telegram_request_shape(server, session):
    server.expect_oneshot_request(
        f"/bot{TELEGRAM_TOKEN}/sendMessage", method="POST"
    ).respond_with_json({"ok": True, "result": {"message_id": 77}})
    channel = channel_of(server, telegram(server))
    assert isinstance(channel, TelegramChannel)
    assert channel.send(message(), session) == "77"
    ((request, _),) = server.log
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == {
        "chat_id": "-100200",
        "text": "[scanctl] 2025년 11월 28일 &lt;b&gt;A&amp;B&lt;/b&gt; &gt; 3",
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "disable_notification": False,
    }
    assert TELEGRAM_TOKEN not in repr(channel)


def test_telegram_splits_long_messages_under_4096(server, session):
    replies = iter(range(1, 10))
    server.expect_request(f"/bot{TELEGRAM_TOKEN}/sendMessage").respond_with_handler(
        lambda request: Response(
            json.dumps({"ok": True, "result": {"message_id": next(replies)}}),
            content_type="application/json",
        )
    )
    text = long_text(120)  # ~7,300 raw characters, ~13,000 once escaped
    channel_id = channel_of(server, telegram(server)).send(message(text), session)
    sent = [body["text"] for body in bodies(server)]
    assert len(sent) >= 3 and channel_id == ",".join(str(n) for n in range(1, len(sent) + 1))
    assert all(len(part) <= 4096 for part in sent)
    assert [part.split("\n", 1)[0] for part in sent] == [
        f"({n}/{len(sent)})" for n in range(1, len(sent) + 1)
    ]
    rebuilt = "\n".join(html.unescape(part.split("\n", 1)[1]) for part in sent)
    assert rebuilt == text


def test_slack_request_shape(server, session):
    server.expect_oneshot_request(
        f"/services/T0/B0/{WEBHOOK_TOKEN}", method="POST"
    ).respond_with_data("ok")
    channel = channel_of(server, webhook(server, "/services/T0/B0", "slack"))
    assert isinstance(channel, SlackChannel)
    assert channel.send(message(), session) is None
    # Slack's three control characters, and only those, become HTML entities
    assert bodies(server) == [
        {"text": "[scanctl] 2025년 11월 28일 &lt;b&gt;A&amp;B&lt;/b&gt; &gt; 3"}
    ]


def test_slack_splits_on_the_escaped_length(server, session):
    server.expect_request(f"/services/T0/B0/{WEBHOOK_TOKEN}").respond_with_data("ok")
    text = "\n".join("&" * 1000 for _ in range(8))  # 8,007 characters, 40,007 once escaped
    channel_of(server, webhook(server, "/services/T0/B0", "slack")).send(message(text), session)
    sent = [body["text"] for body in bodies(server)]
    assert len(sent) == 2 and all(len(part) <= 35_000 for part in sent)
    assert "".join(part.split("\n", 1)[1] for part in sent).count("&amp;") == 8000


def test_discord_waits_for_the_message_and_splits_at_2000(server, session):
    ids = iter(range(900, 999))
    server.expect_request(f"/api/webhooks/42/{WEBHOOK_TOKEN}", method="POST").respond_with_handler(
        lambda request: Response(
            json.dumps({"id": str(next(ids)), "channel_id": "1"}), content_type="application/json"
        )
    )
    channel = channel_of(server, webhook(server, "/api/webhooks/42", "discord"))
    assert isinstance(channel, DiscordChannel)
    assert channel.send(message(), session) == "900"
    assert channel.send(message(long_text(70)), session) == "901,902,903"
    requests_seen = [request for request, _ in server.log]
    assert all(request.args.get("wait") == "true" for request in requests_seen)
    first, *parts = bodies(server)
    assert first == {
        "content": message().text,
        "username": "scanctl",
        "allowed_mentions": {"parse": []},
    }
    assert len(parts) == 3 and all(len(part["content"]) <= 2000 for part in parts)
    assert parts[0]["content"].startswith("(1/3)\n0000 ")


def test_generic_webhook_posts_the_structured_message(server, session):
    server.expect_oneshot_request(f"/hook/{WEBHOOK_TOKEN}", method="POST").respond_with_json(
        {"id": 5}
    )
    channel = channel_of(server, webhook(server, "/hook"))
    assert isinstance(channel, WebhookChannel)
    assert channel.send(message(), session) == "5"
    assert bodies(server) == [
        {
            "source": "scanctl",
            "kind": "daily",
            "date": "2025-11-28",
            "text": message().text,
            "variables": {"#{s_date}": "2025년 11월 28일", "#{s_num}": "3", "#{c_name}": "고객님"},
            "data": {"count": 3},
        }
    ]


@pytest.mark.parametrize(
    ("status", "reply", "headers", "retryable", "retry_after"),
    [
        (500, {"error": "boom"}, {}, True, None),
        (503, "Service Unavailable", {}, True, None),
        (408, "slow", {}, True, None),
        (429, {"ok": False}, {"Retry-After": "2"}, True, 2.0),
        (429, {"ok": False, "parameters": {"retry_after": 7}}, {}, True, 7.0),
        (429, {"message": "rate limited", "retry_after": 1.5, "global": False}, {}, True, 1.5),
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, {}, False, None),
        (404, "no_service", {}, False, None),
    ],
)
def test_failures_are_classified(server, session, status, reply, headers, retryable, retry_after):
    path = f"/hook/{WEBHOOK_TOKEN}"
    if isinstance(reply, dict):
        server.expect_request(path).respond_with_json(reply, status=status, headers=headers)
    else:
        server.expect_request(path).respond_with_data(reply, status=status, headers=headers)
    with pytest.raises(DeliveryError) as caught:
        channel_of(server, webhook(server, "/hook")).send(message(), session)
    error = caught.value
    assert (error.status, error.retryable, error.retry_after) == (status, retryable, retry_after)
    assert not error.maybe_delivered  # an answer came: the receiver said what it did
    assert str(error).startswith(f"HTTP {status}")
    assert WEBHOOK_TOKEN not in str(error)


def test_retry_after_as_an_http_date(server, session):
    later = time.time() + 30
    header = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(later))
    server.expect_request(f"/hook/{WEBHOOK_TOKEN}").respond_with_data(
        "slow down", status=429, headers={"Retry-After": header}
    )
    with pytest.raises(DeliveryError) as caught:
        channel_of(server, webhook(server, "/hook")).send(message(), session)
    assert 25 < caught.value.retry_after <= 31


def test_a_reply_later_than_the_read_timeout_may_have_delivered(server, session):
    def slow(request: Request) -> Response:
        time.sleep(0.4)  # twice the 0.2 s timeout
        return Response("ok")

    server.expect_request(f"/hook/{WEBHOOK_TOKEN}").respond_with_handler(slow)
    with pytest.raises(DeliveryError, match=r"no reply within 0\.2 s after the request") as e:
        channel_of(server, webhook(server, "/hook"), timeout=(2.0, 0.2)).send(message(), session)
    assert e.value.maybe_delivered and not e.value.retryable and e.value.status is None
    assert str(e.value).endswith("delivery unknown")
    wait_for_log(server, 1)


def test_connection_refused_did_not_deliver_and_is_retryable(session, closed_port):
    channel = TelegramChannel(
        "ops", bot_token=TELEGRAM_TOKEN, chat_id="1", base_url=f"http://127.0.0.1:{closed_port}"
    )
    with pytest.raises(DeliveryError, match="connection failed") as caught:
        channel.send(message(), session)
    assert caught.value.retryable and not caught.value.maybe_delivered
    assert TELEGRAM_TOKEN not in str(caught.value) and "sendMessage" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_connection_closed_after_the_request_may_have_delivered(session, hangup_server):
    channel = TelegramChannel(
        "ops", bot_token=TELEGRAM_TOKEN, chat_id="1", base_url=hangup_server.url
    )
    with pytest.raises(DeliveryError, match="connection lost after the request was sent") as e:
        channel.send(message(), session)
    assert e.value.maybe_delivered and not e.value.retryable
    assert hangup_server.requests_read == 1
    assert TELEGRAM_TOKEN not in str(e.value)


def test_telegram_reply_echoing_the_token_is_scrubbed(server, session):
    server.expect_request(f"/bot{TELEGRAM_TOKEN}/sendMessage").respond_with_json(
        {
            "ok": False,
            "description": f"Bad Request: token {TELEGRAM_TOKEN} at /bot{TELEGRAM_TOKEN}/x",
        },
        status=400,
    )
    with pytest.raises(DeliveryError) as caught:
        channel_of(server, telegram(server)).send(message(), session)
    assert not caught.value.retryable
    assert TELEGRAM_TOKEN not in str(caught.value)
    assert str(caught.value).startswith("HTTP 400: Bad Request: token ***")


def test_telegram_200_without_ok_is_a_failure(server, session):
    server.expect_request(f"/bot{TELEGRAM_TOKEN}/sendMessage").respond_with_data("<html>")
    with pytest.raises(DeliveryError, match="without ok/result") as caught:
        channel_of(server, telegram(server)).send(message(), session)
    assert not caught.value.retryable


def test_split_text_keeps_short_text_whole_and_cuts_long_lines():
    assert split_text("a\nb", 10) == ["a\nb"]
    parts = split_text("x" * 50, 20)
    assert all(len(part) <= 20 for part in parts)
    assert "".join(part.split("\n", 1)[1] for part in parts) == "x" * 50
    blank = split_text("a" * 15 + "\n\n" + "b" * 15, 30)
    assert "\n".join(part.split("\n", 1)[1] for part in blank) == "a" * 15 + "\n\n" + "b" * 15


def test_scrub_replaces_secrets_tokens_and_urls():
    text = f"token {TELEGRAM_TOKEN} secret s3cr3t-value url: /bot123/x see https://h.test/p?q=1"
    assert scrub(text, ["s3cr3t-value"]) == "token *** secret *** url: *** see https://***"
