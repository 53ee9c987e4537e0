"""Dead-man's-switch pings (healthchecks.io style) that can never fail the run.

``start()`` POSTs ``{url}/start`` when the run begins; at the end ``success()`` POSTs ``{url}``
and ``fail(exit_code)`` POSTs ``{url}/{exit_code}`` (``{url}/fail`` without a code), so the
monitor records the exit code (healthchecks.io docs: measuring script run time, signaling
failures). ``finish(exit_code)`` picks one of the two. An optional body (the first 100 kB are
kept by healthchecks.io) can carry a one-line summary. The ping URL is a secret: it is never
logged, and a failed ping is logged as a warning and swallowed.
"""

from __future__ import annotations

import requests

from scanctl.logs import get_logger
from scanctl.notify.config import HealthcheckSettings
from scanctl.notify.transport import scrub, url_secrets

MAX_BODY_BYTES = 100_000

log = get_logger("notify.healthcheck")


class Healthcheck:
    """Pings for one run; with ``url`` None every method does nothing and returns False."""

    def __init__(self, url: str | None, session: requests.Session, timeout: float = 5.0) -> None:
        self._url = url.rstrip("/") if url else None
        self.session = session
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: HealthcheckSettings, session: requests.Session) -> Healthcheck:
        return cls(settings.ping_url, session, timeout=settings.timeout_s)

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
        try:
            response = self.session.post(url, data=data, timeout=self.timeout)
            response.raise_for_status()
        except Exception as exc:  # noqa: BLE001  # broad-except: a failed ping never fails the run
            reason = scrub(f"{type(exc).__name__}: {exc}", url_secrets(self._url))
            log.warning(
                "healthcheck ping failed",
                extra={"fields": {"ping": suffix or "success", "error": reason[:300]}},
            )
            return False
        return True
