"""Kakao AlimTalk through Solapi (REST API v4), with the HMAC-SHA256 request signature.

A message goes out through Solapi's group API (solapi/documents, ``api-reference/messages/
groups/``), so that its id is known before the one request that can deliver it:

1. ``POST {base_url}/messages/v4/groups`` creates an empty group; the reply's ``groupId`` is
   the provider message id, handed to `SendProgress.reference` (the outbox commits it);
2. ``PUT …/groups/{groupId}/messages`` adds ``{"messages": [{to, from, type: "ATA",
   kakaoOptions: {pfId, templateId, variables, disableSms}}, …]}``, one per recipient; the
   reply's ``errorCount`` and ``resultList[].statusCode`` / ``statusMessage`` name refusals;
3. ``POST …/groups/{groupId}/send`` sends the group.

Only step 3 can deliver: a failure in steps 1–2 is "not sent" (a retry starts a new group),
and a lost or 5xx reply to step 3 is "unknown" until `SolapiChannel.settle` looks the group
up: ``GET …/groups/{groupId}`` gives ``status`` (PENDING: not sent; SENDING / COMPLETE /
SCHEDULED: sent; FAILED: failed; DELETED: not sendable any more) and ``dateSent``. A PENDING
group is deleted (the HTTP method of that name on ``…/groups/{groupId}``; "after deletion it
can be neither sent nor restored") before it is reported not sent, so that a late copy of the
lost request cannot send it after scanctl sent a new one.

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
from scanctl.notify.transport import (
    DeliveryError,
    SendProgress,
    Settled,
    Timeout,
    request_json,
    response_json,
)

GROUPS_PATH = "/messages/v4/groups"
SENT_STATUSES = ("SENDING", "COMPLETE", "SCHEDULED")

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
        timeout: Timeout = 30.0,
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
        cls, name: str, options: Mapping[str, Any], *, timeout: Timeout, **extra: Any
    ) -> SolapiChannel:
        """From validated ``[notify.channels.NAME]`` options (``from``/``to`` renamed)."""
        values = dict(options)
        sender = values.pop("from")
        recipients = values.pop("to")
        return cls(name, sender=sender, recipients=recipients, timeout=timeout, **values, **extra)

    def __repr__(self) -> str:
        return f"SolapiChannel(name={self.name!r}, pf_id={self.pf_id!r})"

    def send(
        self, message: Message, session: requests.Session, progress: SendProgress | None = None
    ) -> str | None:
        """Create a group, record its id, add one message per recipient, send the group.

        Raises
        ------
        DeliveryError
            ``maybe_delivered`` only when the send request itself got no answer or a 5xx.
        """
        progress = progress or SendProgress()
        messages = self._messages(message)
        group_id = self._create_group(session)
        progress.reference(group_id)
        self._add_messages(session, group_id, messages)
        self._send_group(session, group_id)
        return group_id

    def settle(self, reference: str | None, session: requests.Session) -> Settled:
        """Look up the group of a delivery whose outcome is unknown (module docstring).

        ``reference`` None means no group id was recorded: the send request, which needs one,
        was never made.
        """
        if not reference:
            return Settled("not_sent", "no Solapi group was recorded, so none was sent")
        try:
            response = self._request(session, "GET", f"{GROUPS_PATH}/{reference}")
        except DeliveryError as exc:
            return Settled("unknown", f"Solapi group {reference}: look-up failed ({exc})")
        data = response_json(response)
        data = data if isinstance(data, dict) else {}
        status, date_sent = data.get("status"), data.get("dateSent")
        if status == "PENDING":
            try:
                self._request(session, "DELETE", f"{GROUPS_PATH}/{reference}")
            except DeliveryError as exc:
                detail = f"Solapi group {reference} is PENDING and could not be deleted ({exc})"
                return Settled("unknown", detail)
            return Settled("not_sent", f"Solapi group {reference} was never sent; deleted")
        if status == "FAILED":
            return Settled("failed", f"Solapi group {reference} is FAILED", reference)
        if status in SENT_STATUSES or date_sent:
            return Settled("sent", f"Solapi group {reference} is {status}", reference)
        if status == "DELETED":
            return Settled("not_sent", f"Solapi group {reference} was deleted unsent")
        return Settled("unknown", f"Solapi group {reference} has status {status!r}")

    def _messages(self, message: Message) -> list[dict[str, Any]]:
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
        return [
            {"to": to, "from": self.sender, "type": "ATA", "kakaoOptions": kakao}
            for to in self.recipients
        ]

    def _create_group(self, session: requests.Session) -> str:
        response = self._before_send(session, "POST", GROUPS_PATH, {})
        data = response_json(response)
        group_id = data.get("groupId") if isinstance(data, dict) else None
        if not group_id:
            raise DeliveryError(
                f"Solapi replied HTTP {response.status_code} without a groupId",
                retryable=False,
                status=response.status_code,
            )
        return str(group_id)

    def _add_messages(
        self, session: requests.Session, group_id: str, messages: list[dict[str, Any]]
    ) -> None:
        path = f"{GROUPS_PATH}/{group_id}/messages"
        data = response_json(self._before_send(session, "PUT", path, {"messages": messages}))
        data = data if isinstance(data, dict) else {}
        results = data.get("resultList") if isinstance(data.get("resultList"), list) else []
        refused = [r for r in results if isinstance(r, dict) and r.get("statusCode") != "2000"]
        count = data.get("errorCount")
        errors = count if isinstance(count, int) and not isinstance(count, bool) else len(refused)
        if not errors:
            return
        first = refused[0] if refused else {}
        reason = f"{first.get('statusCode', '?')}: {first.get('statusMessage', '')}".strip()
        if errors >= len(messages):
            raise DeliveryError(f"Solapi refused every message ({reason})", retryable=False)
        log.warning(
            "Solapi refused some recipients",
            extra={"fields": {"channel": self.name, "refused": errors, "of": len(messages)}},
        )

    def _send_group(self, session: requests.Session, group_id: str) -> None:
        try:
            response = self._request(session, "POST", f"{GROUPS_PATH}/{group_id}/send", {})
        except DeliveryError as exc:
            if exc.status is not None and exc.status >= 500:  # Solapi may have sent it: look
                raise DeliveryError(
                    f"{exc}; delivery unknown", retryable=False, maybe_delivered=True
                ) from None
            raise
        data = response_json(response)
        if isinstance(data, dict) and data.get("status") == "FAILED":
            raise DeliveryError(f"Solapi failed group {group_id}", retryable=False)

    def _before_send(
        self, session: requests.Session, method: str, path: str, payload: Any
    ) -> requests.Response:
        """A request before the group is sent: whatever happens, nothing was delivered (a lost
        reply is retryable: the retry starts a new group, and this one is never sent)."""
        try:
            return self._request(session, method, path, payload)
        except DeliveryError as exc:
            if exc.maybe_delivered:
                raise DeliveryError(
                    "Solapi did not answer while the group was prepared; nothing was sent",
                    retryable=True,
                ) from None
            raise

    def _request(
        self, session: requests.Session, method: str, path: str, payload: Any = None
    ) -> requests.Response:
        authorization = solapi_authorization(
            self._api_key, self._api_secret, self._clock(), self._salt()
        )
        return request_json(
            session,
            method,
            f"{self.base_url}{path}",
            payload,
            headers={"Authorization": authorization},
            timeout=self.timeout,
            secrets=(self._api_secret, self._api_key, authorization),
        )
