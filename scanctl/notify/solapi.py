"""Kakao AlimTalk through Solapi (REST API v4), with the HMAC-SHA256 request signature.

Request: ``POST {base_url}/messages/v4/send-many/detail`` (the endpoint Solapi's own SDK uses)
with ``{"messages": [{to, from, type: "ATA", kakaoOptions: {pfId, templateId, variables,
disableSms}}, …]}``, one message per recipient. The reply's ``groupInfo.groupId`` is the
provider message id; recipients Solapi refused are listed in ``failedMessageList``.

Every request carries ``Authorization: HMAC-SHA256 apiKey=<key>, date=<ISO-8601>,
salt=<random hex>, signature=<hex HMAC-SHA256(key=api_secret, msg=date + salt)>``
(docs.solapi.com, authentication). Solapi refuses a date far from its own clock, so the date
is the real wall clock, not the pinned scanctl clock; tests inject ``clock`` and ``salt``.

AlimTalk sends only pre-approved templates: the daily and test messages use ``template_id``;
failure alerts use ``alert_template_id``. Only the ``#{…}`` variables change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from scanctl.logs import get_logger
from scanctl.notify.message import Message
from scanctl.notify.transport import DeliveryError, post_json, response_json

SEND_PATH = "/messages/v4/send-many/detail"

log = get_logger("notify.solapi")


def signing_date() -> str:
    """The current UTC time in ISO-8601 with milliseconds (``2025-11-28T09:00:00.000Z``)."""
    moment = dt.datetime.fromtimestamp(time.time(), dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def random_salt() -> str:
    """32 random hex characters (Solapi accepts 12 to 64)."""
    return secrets.token_hex(16)


def solapi_authorization(api_key: str, api_secret: str, date: str, salt: str) -> str:
    """The ``Authorization`` header value for one request."""
    signature = hmac.new(
        api_secret.encode("utf-8"), (date + salt).encode("utf-8"), hashlib.sha256
    ).hexdigest()
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}"


class SolapiChannel:
    """AlimTalk to one or more phone numbers through one Solapi account."""

    def __init__(
        self,
        name: str,
        *,
        api_key: str,
        api_secret: str,
        pf_id: str,
        template_id: str,
        sender: str,
        recipients: Sequence[str],
        alert_template_id: str | None = None,
        disable_sms: bool = False,
        base_url: str = "https://api.solapi.com",
        timeout: float = 10.0,
        clock: Callable[[], str] = signing_date,
        salt: Callable[[], str] = random_salt,
    ) -> None:
        self.name = name
        self._api_key = api_key
        self._api_secret = api_secret
        self.pf_id = pf_id
        self.template_id = template_id
        self.alert_template_id = alert_template_id
        self.sender = sender
        self.recipients = tuple(recipients)
        self.disable_sms = disable_sms
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._clock = clock
        self._salt = salt

    @classmethod
    def from_options(
        cls, name: str, options: Mapping[str, Any], *, timeout: float, **extra: Any
    ) -> SolapiChannel:
        """From validated ``[notify.channels.NAME]`` options (``from``/``to`` renamed)."""
        values = dict(options)
        sender = values.pop("from")
        recipients = values.pop("to")
        return cls(name, sender=sender, recipients=recipients, timeout=timeout, **values, **extra)

    def __repr__(self) -> str:
        return f"SolapiChannel(name={self.name!r}, pf_id={self.pf_id!r})"

    def send(self, message: Message, session: requests.Session) -> str | None:
        template_id = self.template_id
        if message.kind == "failure":
            if not self.alert_template_id:
                raise DeliveryError(
                    f"channel {self.name!r} has no alert_template_id for failure alerts",
                    retryable=False,
                )
            template_id = self.alert_template_id
        kakao = {
            "pfId": self.pf_id,
            "templateId": template_id,
            "variables": dict(message.variables),
            "disableSms": self.disable_sms,
        }
        body = {
            "messages": [
                {"to": to, "from": self.sender, "type": "ATA", "kakaoOptions": kakao}
                for to in self.recipients
            ]
        }
        authorization = solapi_authorization(
            self._api_key, self._api_secret, self._clock(), self._salt()
        )
        response = post_json(
            session,
            f"{self.base_url}{SEND_PATH}",
            body,
            headers={"Authorization": authorization},
            timeout=self.timeout,
            secrets=(self._api_secret, self._api_key, authorization),
        )
        return self._group_id(response, len(body["messages"]))

    def _group_id(self, response: requests.Response, sent: int) -> str | None:
        data = response_json(response)
        if not isinstance(data, dict):
            raise DeliveryError(
                f"Solapi replied HTTP {response.status_code} without JSON",
                retryable=False,
                status=response.status_code,
            )
        group = data.get("groupInfo") if isinstance(data.get("groupInfo"), dict) else {}
        failed = data.get("failedMessageList") or []
        if isinstance(failed, list) and failed:
            first = failed[0] if isinstance(failed[0], dict) else {}
            reason = f"{first.get('statusCode', '?')}: {first.get('statusMessage', '')}".strip()
            if len(failed) >= sent:
                raise DeliveryError(
                    f"Solapi refused every message ({reason})",
                    retryable=False,
                    status=response.status_code,
                )
            log.warning(
                "Solapi refused some recipients",
                extra={"fields": {"channel": self.name, "refused": len(failed), "of": sent}},
            )
        group_id = group.get("groupId")
        return str(group_id) if group_id else None
