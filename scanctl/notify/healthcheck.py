"""Dead-man's-switch pings (healthchecks.io style) that can never fail the run.

``start()`` POSTs ``{url}/start`` when the run begins; at the end ``success()`` POSTs ``{url}``
and ``fail(exit_code)`` POSTs ``{url}/{exit_code}`` (``{url}/fail`` without a code), so the
monitor records the exit code (healthchecks.io docs: measuring script run time, signaling
failures). ``finish(exit_code)`` picks one of the two. An optional body (the first 100 kB are
kept by healthchecks.io) can carry a one-line summary.

A ping is tried up to ``attempts`` times when the monitor could not be reached or answered
429 / 5xx (waiting ``backoff_s``, then twice that, …; a repeated ping is harmless), and once
for any other answer. A ping that still fails is logged as a warning and swallowed: it never
fails the run. The ping URL is a secret: it is never logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from scanctl.logs import get_logger
from scanctl.notify.config import HealthcheckSettings
from scanctl.notify.transport import scrub, url_secrets

MAX_BODY_BYTES = 100_000

log = get_logger("notify.healthcheck")


class Healthcheck:
    """Pings for one run; with ``url`` None every method does nothing and returns False."""

    def __init__(
        self,
        url: str | None,
        session: requests.Session,
        timeout: float = 10.0,
        *,
        attempts: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url.rstrip("/") if url else None
        self.session = session
        self.timeout = timeout
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._sleep = sleep

    @classmethod
    def from_settings(
        cls,
        settings: HealthcheckSettings,
        session: requests.Session,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Healthcheck:
        return cls(
            settings.ping_url,
            session,
            timeout=settings.timeout_s,
            attempts=settings.attempts,
            backoff_s=settings.backoff_s,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"Healthcheck(configured={self.configured})"

    @property
    def configured(self) -> bool:
        return self._url is not None

    def start(self, body: str = "") -> bool:
        """Ping ``/start``; True when the monitor answered 2xx."""
        return self._ping("start", body)

    def success(self, body: str = "") -> bool:
        """Ping the URL itself (success)."""
        return self._ping("", body)

    def fail(self, exit_code: int | None = None, body: str = "") -> bool:
        """Ping ``/<exit_code>`` (``/fail`` when the code is None or 0)."""
        return self._ping(str(exit_code) if exit_code else "fail", body)

    def finish(self, exit_code: int, body: str = "") -> bool:
        """``success()`` for exit code 0, else ``fail(exit_code)``."""
        return self.success(body) if exit_code == 0 else self.fail(exit_code, body)

    def _ping(self, suffix: str, body: str) -> bool:
        if self._url is None:
            return False
        url = f"{self._url}/{suffix}" if suffix else self._url
        data = body.encode("utf-8")[:MAX_BODY_BYTES]
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.session.post(url, data=data, timeout=self.timeout)
                response.raise_for_status()
            except Exception as exc:  # noqa: BLE001  # broad-except: a failed ping never fails the run
                again = attempt < self.attempts and _worth_repeating(exc)
                reason = scrub(f"{type(exc).__name__}: {exc}", url_secrets(self._url))
                fields = {"ping": suffix or "success", "attempt": attempt, "error": reason[:300]}
                if again:
                    log.info("healthcheck ping failed; trying again", extra={"fields": fields})
                    self._sleep(self.backoff_s * 2 ** (attempt - 1))
                    continue
                log.warning("healthcheck ping failed", extra={"fields": fields})
                return False
            return True
        return False  # pragma: no cover - the loop always returns


def _worth_repeating(error: Exception) -> bool:
    """Whether another try may succeed: the monitor was not reached or did not answer in
    time, or it answered 429 or 5xx."""
    if isinstance(error, requests.HTTPError) and error.response is not None:
        status = error.response.status_code
        return status == 429 or status >= 500
    return isinstance(error, requests.ConnectionError | requests.Timeout)
