"""HTTP plumbing shared by the channels: one request, its failure classified, secrets scrubbed.

`request_json` (and `post_json`) turn every failure into a `DeliveryError` that says whether
the request may have reached the receiver, and whether a retry can help:

- **not delivered, retryable**: the connection could not be opened (refused, DNS, connect
  timeout, TLS handshake), or the receiver answered 408, 429 or 5xx (a 429 carries the
  server's Retry-After, from the header or a JSON ``retry_after`` / ``parameters.retry_after``);
- **maybe delivered** (``maybe_delivered``, never retried automatically): the request was sent
  and then no complete answer came (read timeout, connection reset or closed, a broken body);
- **not delivered, permanent**: every other 4xx (a configuration error), or a request that
  could not be built.

Error texts are built from the status and the reply with every secret of the channel replaced
by ``***``, and never contain the request URL (Telegram puts its token in the path; webhook
URLs are secrets as a whole).

`SendProgress` is how a channel reports what it delivered so far (the parts of a long message,
or an id to look the delivery up by), and `Settled` what a look-up found.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

Timeout = float | tuple[float, float]
"""Seconds for a request: one number, or (connect, read) as `requests` takes them."""

REDACTED = "***"
MAX_DETAIL_CHARS = 300
# Telegram bot tokens (123456:ABC-…) wherever they appear, and the url of urllib3 messages.
_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
_URL_IN_TEXT = re.compile(r"(url: |https?://)\S+")


class DeliveryError(Exception):
    """A channel did not confirm a message.

    ``maybe_delivered`` says the request may have reached the receiver (no answer came after
    it was sent): it is never resent automatically. Otherwise the message provably did not
    arrive and ``retryable`` says whether trying again can help. The message text is safe to
    store and log: it never contains a secret of the channel.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable and not maybe_delivered
        self.retry_after = retry_after
        self.status = status
        self.maybe_delivered = maybe_delivered


class SendProgress:
    """What earlier attempts at one outbox row delivered, and how a channel reports more.

    ``parts_done`` parts of a message cut into parts (with their ids ``part_ids``, when the
    provider gives ids) were confirmed by earlier attempts: the channel sends only the rest.
    The channel calls `part_sent` after each part the provider accepted, and `reference` with
    an id it can later look the delivery up by *before* the request that may deliver (Solapi's
    group id). ``record`` stores each change at once (the outbox commits it to the row); the
    default records nothing, for a channel used on its own.
    """

    def __init__(
        self,
        parts_done: int = 0,
        part_ids: Iterable[str] = (),
        reference_id: str | None = None,
        record: Callable[[SendProgress], None] | None = None,
    ) -> None:
        self.parts_done = parts_done
        self.part_ids = list(part_ids)
        self.reference_id = reference_id
        self._record = record or (lambda progress: None)

    def __repr__(self) -> str:
        return f"SendProgress(parts_done={self.parts_done}, part_ids={self.part_ids!r})"

    def part_sent(self, provider_id: str | None) -> None:
        self.parts_done += 1
        if provider_id:
            self.part_ids.append(provider_id)
        self._record(self)

    def reference(self, value: str) -> None:
        self.reference_id = value
        self._record(self)

    @property
    def provider_message_id(self) -> str | None:
        """The ids of the delivered parts (comma-separated), else the reference, else None."""
        return ",".join(self.part_ids) or self.reference_id


@dataclass(frozen=True)
class Settled:
    """What a channel's look-up found about a delivery whose outcome was unknown.

    ``verdict`` is ``sent`` (the provider has it), ``failed`` (the provider refused or failed
    it), ``not_sent`` (it provably was not and now cannot be sent: safe to send again) or
    ``unknown`` (the look-up could not tell); ``detail`` says why, secrets scrubbed.
    """

    verdict: str
    detail: str
    provider_message_id: str | None = None


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of a secret URL to scrub: the URL, its path and query, its long path segments."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if len(segment) >= 6]
    return tuple(item for item in (url, parts.path, parts.query, *segments) if item)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (longest first), bot token and URL replaced by ``***``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _TOKEN.sub(REDACTED, text)
    return _URL_IN_TEXT.sub(lambda match: f"{match.group(1)}{REDACTED}", text)


def post_json(
    session: requests.Session,
    url: str,
    payload: Any,
    *,
    timeout: Timeout,
    secrets: Iterable[str],
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> requests.Response:
    """POST ``payload`` as JSON and return the 2xx response (see `request_json`)."""
    return request_json(
        session,
        "POST",
        url,
        payload,
        timeout=timeout,
        secrets=secrets,
        headers=headers,
        params=params,
    )


def request_json(
    session: requests.Session,
    method: str,
    url: str,
    payload: Any = None,
    *,
    timeout: Timeout,
    secrets: Iterable[str],
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> requests.Response:
    """Send one request (``payload`` as JSON unless None) and return the 2xx response.

    Raises
    ------
    DeliveryError
        Any failure, classified (module docstring), with the secrets scrubbed.
    """
    secrets = tuple(secrets)
    connect_s, read_s = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    try:
        response = session.request(
            method,
            url,
            json=payload,
            headers=dict(headers or {}),
            params=params,
            timeout=timeout,
        )
    except requests.ConnectTimeout:
        raise DeliveryError(f"could not connect within {connect_s:g} s", retryable=True) from None
    except requests.Timeout:
        raise DeliveryError(
            f"no reply within {read_s:g} s after the request was sent: delivery unknown",
            retryable=False,
            maybe_delivered=True,
        ) from None
    except (requests.exceptions.SSLError, requests.exceptions.ProxyError) as exc:
        reason = _clip(scrub(str(exc), secrets))
        raise DeliveryError(f"connection failed: {reason}", retryable=True) from None
    except requests.ConnectionError as exc:
        reason = _clip(scrub(str(exc), secrets))
        if _failed_before_sending(exc):
            raise DeliveryError(f"connection failed: {reason}", retryable=True) from None
        raise DeliveryError(
            f"connection lost after the request was sent: delivery unknown ({reason})",
            retryable=False,
            maybe_delivered=True,
        ) from None
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
        raise DeliveryError(
            "the reply broke off after the request was sent: delivery unknown",
            retryable=False,
            maybe_delivered=True,
        ) from None
    except requests.RequestException as exc:
        reason = _clip(scrub(f"{type(exc).__name__}: {exc}", secrets))
        raise DeliveryError(f"request failed: {reason}", retryable=False) from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    detail = error_detail(response, secrets)
    text = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status == 429:
        retry_after = parse_retry_after(response)
        raise DeliveryError(text, retryable=True, retry_after=retry_after, status=status)
    raise DeliveryError(text, retryable=status >= 500 or status == 408, status=status)


def _failed_before_sending(error: requests.ConnectionError) -> bool:
    """Whether the connection failed before any byte of the request was sent.

    `requests` turns a refused connection, a failed name lookup and a connect timeout into a
    ConnectionError around urllib3's ``MaxRetryError(reason=NewConnectionError |
    ConnectTimeoutError)``; a connection that broke after the request went out arrives as a
    ``ProtocolError`` (read errors are not retried by `requests`' default adapter). Anything
    not recognised counts as possibly sent.
    """
    cause = error.args[0] if error.args else None
    return isinstance(cause, MaxRetryError) and isinstance(
        cause.reason, NewConnectionError | ConnectTimeoutError
    )


def response_json(response: requests.Response) -> Any:
    """The reply's JSON, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def error_detail(response: requests.Response, secrets: Iterable[str]) -> str:
    """A short, scrubbed description of an error reply (the provider's own message if any)."""
    data = response_json(response)
    if isinstance(data, Mapping):
        keys = ("errorCode", "errorMessage", "description", "message", "error", "code")
        parts = [str(data[key]) for key in keys if data.get(key) not in (None, "")]
        text = ": ".join(dict.fromkeys(parts)) if parts else json.dumps(data, ensure_ascii=False)
    else:
        text = response.text or ""
    return _clip(scrub(" ".join(text.split()), secrets))


def parse_retry_after(
    response: requests.Response, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait from a 429: the Retry-After header (seconds or an HTTP date), else the
    JSON ``retry_after`` (Discord) or ``parameters.retry_after`` (Telegram); None if absent."""
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                moment = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                moment = None
            if moment is not None and moment.tzinfo is not None:
                return max(0.0, moment.timestamp() - now())
    data = response_json(response)
    if isinstance(data, Mapping):
        parameters = data.get("parameters")
        for value in (
            data.get("retry_after"),
            parameters.get("retry_after") if isinstance(parameters, Mapping) else None,
        ):
            if isinstance(value, int | float) and not isinstance(value, bool):
                return max(0.0, float(value))
    return None


def split_text(text: str, limit: int, weight: Callable[[str], int] = len) -> list[str]:
    """``text`` cut at line ends into parts that fit ``limit``, numbered ``(1/3)`` when cut.

    ``weight(char)`` is what one character costs after the channel's escaping (Telegram's HTML
    entities); a line longer than a part is cut inside the line.
    """
    if sum(weight(char) for char in text) <= limit:
        return [text]
    budget = limit - 12  # room for the "(12/34)\n" marker
    parts: list[str] = []
    current: list[str] | None = None
    used = 0
    for line in text.split("\n"):
        for piece in _wrap(line, budget, weight):
            cost = sum(weight(char) for char in piece)
            if current is not None and used + 1 + cost <= budget:
                current.append(piece)
                used += 1 + cost
            else:
                if current is not None:
                    parts.append("\n".join(current))
                current, used = [piece], cost
    if current is not None:
        parts.append("\n".join(current))
    return [f"({number}/{len(parts)})\n{part}" for number, part in enumerate(parts, start=1)]


def _wrap(line: str, budget: int, weight: Callable[[str], int]) -> list[str]:
    pieces, start, used = [], 0, 0
    for index, char in enumerate(line):
        cost = weight(char)
        if used + cost > budget:
            pieces.append(line[start:index])
            start, used = index, 0
        used += cost
    pieces.append(line[start:])
    return pieces


def _clip(text: str) -> str:
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"
