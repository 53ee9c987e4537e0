"""HTTP plumbing shared by the channels: one POST, its failure classified, secrets scrubbed.

`post_json` turns every failure into a `DeliveryError` that says whether a retry can help:
timeouts, connection errors, 408, 429 and 5xx are retryable (a 429 carries the server's
Retry-After, from the header or a JSON ``retry_after`` / ``parameters.retry_after``); every
other 4xx is a configuration error and is not. Error texts are built from the status and the
reply with every secret of the channel replaced by ``***``, and never contain the request URL
(Telegram puts its token in the path; webhook URLs are secrets as a whole).
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

REDACTED = "***"
MAX_DETAIL_CHARS = 300
# Telegram bot tokens (123456:ABC-…) wherever they appear, and the url of urllib3 messages.
_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
_URL_IN_TEXT = re.compile(r"(url: |https?://)\S+")


class DeliveryError(Exception):
    """A channel did not accept a message; ``retryable`` says whether trying again can help.

    The message text is safe to store and log: it never contains a secret of the channel.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


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
    timeout: float,
    secrets: Iterable[str],
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> requests.Response:
    """POST ``payload`` as JSON and return the 2xx response.

    Raises
    ------
    DeliveryError
        Any failure, classified (module docstring), with the secrets scrubbed.
    """
    secrets = tuple(secrets)
    try:
        response = session.post(
            url, json=payload, headers=dict(headers or {}), params=params, timeout=timeout
        )
    except requests.Timeout:
        raise DeliveryError(f"timed out after {timeout:g} s", retryable=True) from None
    except requests.ConnectionError as exc:
        reason = _clip(scrub(str(exc), secrets))
        raise DeliveryError(f"connection failed: {reason}", retryable=True) from None
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
