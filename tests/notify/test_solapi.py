"""Kakao AlimTalk through Solapi: the signed request, the reply, refusals; real server."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re

import pytest

from scanctl.notify.channels import build_channel
from scanctl.notify.message import Message, failure_message
from scanctl.notify.solapi import SolapiChannel, random_salt, signing_date
from scanctl.notify.transport import DeliveryError
from tests.notify.helpers import SOLAPI_KEY, SOLAPI_SECRET, settings_for, solapi

DAY = dt.date(2025, 11, 28)
FIXED_DATE = "2025-11-28T09:00:00.000Z"
FIXED_SALT = "0123456789abcdef0123456789abcdef"
PATH = "/messages/v4/send-many/detail"
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


def channel(server, **extra) -> SolapiChannel:
    config = settings_for({"kakao": solapi(server, **extra)}).channels[0]
    return SolapiChannel.from_options(
        config.name,
        config.options,
        timeout=2.0,
        clock=lambda: FIXED_DATE,
        salt=lambda: FIXED_SALT,
    )


def group_reply(failed=()):
    return {
        "groupInfo": {"groupId": "G4V20251128090000ABCDEF", "count": {"total": 2}},
        "failedMessageList": list(failed),
    }


def test_signed_request_shape(server, session):
    server.expect_oneshot_request(PATH, method="POST").respond_with_json(group_reply())
    assert channel(server).send(daily(), session) == "G4V20251128090000ABCDEF"
    ((request, _),) = server.log
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
    assert json.loads(request.get_data()) == {
        "messages": [
            {"to": "01012345678", "from": "0212345678", "type": "ATA", "kakaoOptions": kakao},
            {"to": "01098765432", "from": "0212345678", "type": "ATA", "kakaoOptions": kakao},
        ]
    }


def test_default_signing_date_and_salt_are_fresh_and_well_formed(server, session):
    server.expect_request(PATH).respond_with_json(group_reply())
    config = settings_for({"kakao": solapi(server)}).channels[0]
    sender = build_channel(config, 2.0)
    sender.send(daily(), session)
    sender.send(daily(), session)
    headers = [request.headers["Authorization"] for request, _ in server.log]
    pattern = re.compile(
        r"HMAC-SHA256 apiKey=(\S+), date=(\S+), salt=([0-9a-f]{12,64}), signature=([0-9a-f]{64})$"
    )
    found = [pattern.match(header).groups() for header in headers]
    assert found[0][2] != found[1][2]  # a new salt for every request
    for api_key, date, salt, signature in found:
        assert api_key == SOLAPI_KEY
        age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(date)
        assert abs(age.total_seconds()) < 60
        mac = hmac.new(SOLAPI_SECRET.encode(), (date + salt).encode(), hashlib.sha256)
        assert signature == mac.hexdigest()
    assert signing_date().endswith("Z") and len(random_salt()) == 32


def test_failure_alerts_use_the_alert_template(server, session):
    server.expect_request(PATH).respond_with_json(group_reply())
    sender = channel(server, alerts=True, alert_template_id="KA01TP_ALERT")
    sender.send(failure_message(DAY, {"v2": "boom"}), session)
    body = json.loads(server.log[0][0].get_data())
    assert {m["kakaoOptions"]["templateId"] for m in body["messages"]} == {"KA01TP_ALERT"}
    assert body["messages"][0]["kakaoOptions"]["variables"]["#{s_num}"] == "1"


def test_every_recipient_refused_is_a_permanent_failure(server, session):
    refused = {"to": "01012345678", "statusCode": "3034", "statusMessage": "템플릿 불일치"}
    server.expect_request(PATH).respond_with_json(group_reply([refused, refused]))
    with pytest.raises(DeliveryError, match="refused every message \\(3034: 템플릿 불일치\\)") as e:
        channel(server).send(daily(), session)
    assert not e.value.retryable


def test_some_recipients_refused_still_counts_as_sent(server, session, caplog):
    refused = {"to": "01012345678", "statusCode": "3034", "statusMessage": "x"}
    server.expect_request(PATH).respond_with_json(group_reply([refused]))
    assert channel(server).send(daily(), session) == "G4V20251128090000ABCDEF"
    assert "Solapi refused some recipients" in caplog.text


def test_auth_error_is_permanent_and_scrubbed(server, session):
    server.expect_request(PATH).respond_with_json(
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
