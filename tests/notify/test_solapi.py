"""Kakao AlimTalk through Solapi's group API: signed requests, refusals, what can have been
delivered, and settling an unknown delivery by looking the group up; real server on
127.0.0.1."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time

import pytest
from werkzeug import Response

from scanctl.notify.channels import build_channel
from scanctl.notify.message import Message, failure_message
from scanctl.notify.solapi import SolapiChannel, random_salt, signing_date
from scanctl.notify.transport import DeliveryError, SendProgress
from tests.notify.helpers import (
    SOLAPI_KEY,
    SOLAPI_SECRET,
    FakeSolapi,
    settings_for,
    solapi,
    wait_for_log,
)

DAY = dt.date(2025, 11, 28)
FIXED_DATE = "2025-11-28T09:00:00.000Z"
FIXED_SALT = "0123456789abcdef0123456789abcdef"
# Computed by hand, independently of scanctl: hex HMAC-SHA256(key=secret, msg=date + salt).
EXPECTED_SIGNATURE = hmac.new(
    SOLAPI_SECRET.encode(), (FIXED_DATE + FIXED_SALT).encode(), hashlib.sha256
).hexdigest()


def daily():
    return Message(
        kind="daily",
        date=DAY,
        text="[scanctl] 2025년 11월 28일 스캔 결과",
        variables={"#{s_date}": "2025년 11월 28일", "#{s_num}": "5", "#{c_name}": "고객님"},
    )


def channel(server, timeout=2.0, **extra) -> SolapiChannel:
    config = settings_for({"kakao": solapi(server, **extra)}).channels[0]
    return SolapiChannel.from_options(
        config.name,
        config.options,
        timeout=timeout,
        clock=lambda: FIXED_DATE,
        salt=lambda: FIXED_SALT,
    )


def paths(server) -> list[str]:
    return [f"{request.method} {request.path}" for request, _ in server.log]


def test_signed_group_requests(server, session):
    solapi_api = FakeSolapi(server)
    progress = SendProgress()
    group_id = channel(server).send(daily(), session, progress)
    assert group_id == "G4V20251128000001" and progress.reference_id == group_id
    assert paths(server) == [
        "POST /messages/v4/groups",
        f"PUT /messages/v4/groups/{group_id}/messages",
        f"POST /messages/v4/groups/{group_id}/send",
    ]
    for request, _ in server.log:
        assert request.headers["Authorization"] == (
            f"HMAC-SHA256 apiKey={SOLAPI_KEY}, date={FIXED_DATE}, salt={FIXED_SALT}, "
            f"signature={EXPECTED_SIGNATURE}"
        )
    kakao = {
        "pfId": "KA01PF2501010000000000000000000",
        "templateId": "KA01TP2501010000000000000000000",
        "variables": {"#{s_date}": "2025년 11월 28일", "#{s_num}": "5", "#{c_name}": "고객님"},
        "disableSms": False,
    }
    assert json.loads(server.log[1][0].get_data()) == {
        "messages": [
            {"to": "01012345678", "from": "0212345678", "type": "ATA", "kakaoOptions": kakao},
            {"to": "01098765432", "from": "0212345678", "type": "ATA", "kakaoOptions": kakao},
        ]
    }
    assert solapi_api.groups[group_id]["status"] == "SENDING"


def test_default_signing_date_and_salt_are_fresh_and_well_formed(server, session):
    FakeSolapi(server)
    config = settings_for({"kakao": solapi(server)}).channels[0]
    build_channel(config, 2.0).send(daily(), session)
    headers = [request.headers["Authorization"] for request, _ in server.log]
    pattern = re.compile(
        r"HMAC-SHA256 apiKey=(\S+), date=(\S+), salt=([0-9a-f]{12,64}), signature=([0-9a-f]{64})$"
    )
    found = [pattern.match(header).groups() for header in headers]
    assert len({salt for _, _, salt, _ in found}) == 3  # a new salt for every request
    for api_key, date, salt, signature in found:
        assert api_key == SOLAPI_KEY
        age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(date)
        assert abs(age.total_seconds()) < 60
        mac = hmac.new(SOLAPI_SECRET.encode(), (date + salt).encode(), hashlib.sha256)
        assert signature == mac.hexdigest()
    assert signing_date().endswith("Z") and len(random_salt()) == 32


def test_failure_alerts_use_the_alert_template(server, session):
    FakeSolapi(server)
    sender = channel(server, alerts=True, alert_template_id="KA01TP_ALERT")
    sender.send(failure_message(DAY, {"v2": "boom"}), session)
    body = json.loads(server.log[1][0].get_data())
    assert {m["kakaoOptions"]["templateId"] for m in body["messages"]} == {"KA01TP_ALERT"}
    assert body["messages"][0]["kakaoOptions"]["variables"]["#{s_num}"] == "1"


def test_every_recipient_refused_is_permanent_and_nothing_is_sent(server, session):
    solapi_api = FakeSolapi(server)
    solapi_api.refuse = {"01012345678", "01098765432"}
    with pytest.raises(DeliveryError, match="refused every message \\(3034: 템플릿 불일치\\)") as e:
        channel(server).send(daily(), session)
    assert not e.value.retryable and not e.value.maybe_delivered
    assert not any(path.endswith("/send") for path in paths(server))


def test_some_recipients_refused_still_counts_as_sent(server, session, caplog):
    solapi_api = FakeSolapi(server)
    solapi_api.refuse = {"01012345678"}
    assert channel(server).send(daily(), session) == "G4V20251128000001"
    assert "Solapi refused some recipients" in caplog.text


def test_auth_error_is_permanent_and_scrubbed(server, session):
    server.expect_request("/messages/v4/groups").respond_with_json(
        {
            "errorCode": "SignatureDoesNotMatch",
            "errorMessage": f"bad signature for {SOLAPI_SECRET}",
        },
        status=403,
    )
    with pytest.raises(DeliveryError) as caught:
        channel(server).send(daily(), session)
    assert not caught.value.retryable and caught.value.status == 403
    assert str(caught.value) == "HTTP 403: SignatureDoesNotMatch: bad signature for ***"


def test_a_lost_reply_before_the_send_request_delivered_nothing(server, session):
    def slow(request):
        time.sleep(0.5)
        return Response("{}", content_type="application/json")

    server.expect_request("/messages/v4/groups").respond_with_handler(slow)
    sender = channel(server, timeout=(2.0, 0.1))
    with pytest.raises(DeliveryError, match="nothing was sent") as caught:
        sender.send(daily(), session)
    assert caught.value.retryable and not caught.value.maybe_delivered
    wait_for_log(server, 1)


@pytest.mark.parametrize(
    ("delay", "status", "match"),
    [(0.5, 200, "no reply within 0.1 s"), (0.0, 502, "HTTP 502.*delivery unknown")],
)
def test_a_lost_or_5xx_reply_to_the_send_request_is_unknown(server, session, delay, status, match):
    solapi_api = FakeSolapi(server)
    solapi_api.send_delay, solapi_api.send_status = delay, status
    progress = SendProgress()
    with pytest.raises(DeliveryError, match=match) as caught:
        channel(server, timeout=(2.0, 0.1)).send(daily(), session, progress)
    assert caught.value.maybe_delivered and not caught.value.retryable
    assert progress.reference_id == "G4V20251128000001"  # recorded before the send request
    wait_for_log(server, 3)


@pytest.mark.parametrize(
    ("status", "date_sent", "verdict"),
    [
        ("SENDING", "2025-11-28T09:00:01.000Z", "sent"),
        ("COMPLETE", "2025-11-28T09:00:01.000Z", "sent"),
        ("FAILED", None, "failed"),
        ("DELETED", None, "not_sent"),
        ("DELETED", "2025-11-28T09:00:01.000Z", "sent"),
    ],
)
def test_settle_reads_the_group_status(server, session, status, date_sent, verdict):
    solapi_api = FakeSolapi(server)
    group_id = solapi_api.add_group(status, date_sent)
    settled = channel(server).settle(group_id, session)
    assert settled.verdict == verdict and group_id in settled.detail
    assert paths(server) == [f"GET /messages/v4/groups/{group_id}"]


def test_settle_deletes_a_pending_group_before_calling_it_not_sent(server, session):
    solapi_api = FakeSolapi(server)
    group_id = solapi_api.add_group("PENDING")
    assert channel(server).settle(group_id, session).verdict == "not_sent"
    assert solapi_api.groups[group_id]["status"] == "DELETED"
    assert paths(server) == [
        f"GET /messages/v4/groups/{group_id}",
        f"DELETE /messages/v4/groups/{group_id}",
    ]


def test_settle_without_a_group_or_without_an_answer(server, session):
    solapi_api = FakeSolapi(server)
    sender = channel(server)
    assert sender.settle(None, session).verdict == "not_sent"  # the send request needs a group
    assert server.log == []
    solapi_api.lookup_status = 503
    group_id = solapi_api.add_group("SENDING")
    unknown = sender.settle(group_id, session)
    assert unknown.verdict == "unknown" and "look-up failed (HTTP 503" in unknown.detail
    assert SOLAPI_SECRET not in unknown.detail
