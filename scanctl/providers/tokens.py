"""Access tokens of the broker APIs, cached on disk because every cron run is a new process.

KIS issues at most one token a minute (EGW00133) and each token lives 24 h; Kiwoom's live about
as long. Asking for a new token on every run would hit that limit and, for KIS, send the account
holder a notice each time. So a token is kept in
``$XDG_STATE_HOME/scanctl/tokens/<source>-<digest>.json`` (``~/.local/state`` when the variable is
unset) together with its expiry, and reused until `RENEW_MARGIN` before it expires.

* The file name carries a SHA-256 digest of the host and the app key, never the key itself; the
  file holds the token, its expiry and that digest (a file copied from another key is ignored).
* The file is written atomically (a temporary file in the same folder, then ``os.replace``) with
  mode 0600, in a folder of mode 0700.
* An unreadable, corrupt, foreign or nearly expired file is ignored: a new token is fetched and
  the file replaced. A folder that cannot be written is logged and the run carries on with the
  token in memory.
* Every token, cached or new, goes through ``client.add_secret`` before it is used, so it is
  scrubbed from log lines and error messages like the configured credentials.

`TokenKeeper` hands the token to concurrent requests and renews it at most once per stale token
(a request refused with HTTP 401 or the source's "expired token" code asks for one renewal; the
others waiting on the same stale token get the renewed one).

A source that issues one token a minute (KIS, ``EGW00133``) says so with `TokenTooSoon`. That is
neither a block nor a credential problem: another process (a second cron line, a manual run, the
account holder's other tool) has just taken the minute's token. The keeper then uses the token
that process cached, when there is one; otherwise it waits once until the interval has passed
(never longer than the interval plus `TOKEN_WAIT_MARGIN_S`, counted from this run's own last
issue when there was one; through the client's injectable ``sleep``) and asks once more. A
second refusal gives up the source for the run (exit 3), without any breaker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scanctl.clock import now_kst, stored_datetime
from scanctl.logs import get_logger
from scanctl.providers.base import (
    CredentialsRejected,
    SourceBlocked,
    SourceError,
    SourceExhausted,
)
from scanctl.providers.http import HttpClient

log = get_logger("providers.tokens")

RENEW_MARGIN = dt.timedelta(minutes=30)
"""A cached token is renewed this long before it expires (a run must not outlive its token)."""
STATE_ENV = "XDG_STATE_HOME"
TOKEN_WAIT_MARGIN_S = 1.0
"""Waited beyond a source's token interval, for clock skew between us and the source."""

__all__ = [
    "CredentialsRejected",  # re-exported: providers raise it from their token requests
    "Token",
    "TokenCache",
    "TokenKeeper",
    "TokenTooSoon",
    "is_unauthorized",
    "tokens_dir",
]


class TokenTooSoon(SourceError):
    """The source issues one token per ``interval_s`` and was asked again too soon (KIS
    ``EGW00133``): `TokenKeeper` reuses a cached token or waits once (see the module doc)."""

    def __init__(self, message: str, interval_s: float) -> None:
        super().__init__(message)
        self.interval_s = interval_s


def is_unauthorized(error: SourceError) -> bool:
    """Whether the shared HTTP client refused a reply as HTTP 401."""
    return error.status == 401


@dataclass(frozen=True)
class Token:
    """An access token and the moment it stops working (aware, Asia/Seoul)."""

    value: str
    expires_at: dt.datetime

    def usable(self, now: dt.datetime | None = None) -> bool:
        """Valid for at least `RENEW_MARGIN` more."""
        return (now or now_kst()) < self.expires_at - RENEW_MARGIN


def tokens_dir() -> Path:
    """``$XDG_STATE_HOME/scanctl/tokens`` (``~/.local/state/scanctl/tokens`` when unset)."""
    base = os.environ.get(STATE_ENV) or str(Path.home() / ".local" / "state")
    return Path(base) / "scanctl" / "tokens"


class TokenCache:
    """One source's token file (see the module docstring).

    Parameters
    ----------
    source
        The provider name (the file name's prefix).
    app_key
        The credential the token belongs to; only its digest is written anywhere.
    base_url
        The API host (a paper-trading host gets its own file).
    directory
        Where the file lives; `tokens_dir` when None.
    """

    def __init__(
        self, source: str, app_key: str, base_url: str, directory: Path | None = None
    ) -> None:
        self.source = source
        self.digest = hashlib.sha256(f"{base_url}\n{app_key}".encode()).hexdigest()
        self.directory = directory or tokens_dir()
        self.path = self.directory / f"{source}-{self.digest[:24]}.json"

    def load(self) -> Token | None:
        """The cached token when it is readable, ours and usable; else None (fetch anew)."""
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            if document["digest"] != self.digest or not isinstance(document["token"], str):
                raise ValueError("written for another key or host")
            token = Token(document["token"], stored_datetime(document["expires_at"]))
            if token.expires_at.tzinfo is None or not token.value:
                raise ValueError("no time zone or an empty token")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            # json.JSONDecodeError is a ValueError; the reason never holds the token
            self._warn("cached token ignored; a new one is fetched", type(exc).__name__)
            return None
        return token if token.usable() else None

    def save(self, token: Token) -> None:
        """Write ``token`` atomically with mode 0600 (a failure is logged, not raised)."""
        document = {
            "source": self.source,
            "digest": self.digest,
            "token": token.value,
            "expires_at": token.expires_at.isoformat(),
            "saved_at": now_kst().isoformat(timespec="seconds"),
        }
        temporary = self.directory / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            self._warn("token not cached; the next run fetches a new one", type(exc).__name__)

    def discard(self) -> None:
        """Forget the cached token (it was refused)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            self._warn("stale token file not removed", type(exc).__name__)

    def _warn(self, message: str, why: str) -> None:
        fields = {"source": self.source, "file": str(self.path), "why": why}
        log.warning(message, extra={"fields": fields})


class TokenKeeper:
    """The current token of one provider, shared by its worker threads.

    Parameters
    ----------
    client
        The provider's HTTP client (every token is added to its secrets).
    cache
        The on-disk cache.
    issue
        Fetches a new token from the source (called under the keeper's lock).
    """

    def __init__(self, client: HttpClient, cache: TokenCache, issue: Callable[[], Token]) -> None:
        self.client = client
        self.cache = cache
        self._issue = issue
        self._token: Token | None = None
        self._refused: SourceExhausted | CredentialsRejected | None = None
        self._issued_at: float | None = None  # time.monotonic() of this run's last issue
        self._lock = threading.Lock()
        self.issued = 0  # tokens fetched from the source in this run
        self.waited_s = 0.0  # spent waiting for the source's token interval

    def current(self) -> str:
        """The token to send: the one in memory, else the cached one, else a new one (raises
        like `renew`)."""
        with self._lock:
            if self._token is None or not self._token.usable():
                self._token = self.cache.load() or self._fetch()
                self.client.add_secret(self._token.value)
            return self._token.value

    def renew(self, stale: str) -> str:
        """A token other than ``stale``: the one another thread already renewed, else a new one.

        Raises
        ------
        SourceExhausted
            The source would not issue one: the same error for every later call in this run,
            nothing more is sent.
        CredentialsRejected
            The source refused the configured credentials (exit 2), likewise remembered.
        """
        with self._lock:
            if self._token is not None and self._token.value != stale:
                return self._token.value
            self.cache.discard()
            self._token = self._fetch(stale)
            self.client.add_secret(self._token.value)
            log.info("access token renewed", extra={"fields": {"source": self.cache.source}})
            return self._token.value

    def _fetch(self, stale: str | None = None) -> Token:
        """A new token; a failure gives up the source for the run (every request needs one)."""
        if self._refused is not None:
            raise self._refused
        try:
            token, issued = self._obtain(stale)
        except CredentialsRejected as exc:
            self._refused = exc
            raise
        except SourceBlocked:
            raise  # the breaker refuses every later request by itself
        except SourceExhausted as exc:
            self._refused = exc
            raise
        except SourceError as exc:
            self._refused = SourceExhausted(
                f"{exc}; without an access token nothing more is asked of {self.cache.source} "
                "in this run"
            )
            raise self._refused from None
        self.client.add_secret(token.value)
        if issued:
            self.issued += 1
            self._issued_at = time.monotonic()
            self.cache.save(token)
        return token

    def _obtain(self, stale: str | None) -> tuple[Token, bool]:
        """``(token, issued)``: a fresh token, or (issued False) the one another process cached
        while the source refused us as too soon; at most one bounded wait (module doc)."""
        try:
            return self._issue(), True
        except TokenTooSoon as exc:
            too_soon = exc
        cached = self._cached_other_than(stale)
        if cached is not None:
            return cached, False
        wait = self._interval_left(too_soon.interval_s)
        fields = {"source": self.cache.source, "wait_s": round(wait, 1), "why": str(too_soon)}
        log.warning(
            "the source issues one token per interval; waiting before asking again",
            extra={"fields": fields},
        )
        self.client.sleep(wait)
        self.waited_s += wait
        cached = self._cached_other_than(stale)
        if cached is not None:
            return cached, False
        try:
            return self._issue(), True
        except TokenTooSoon as again:
            raise SourceExhausted(
                f"{again}; refused again after waiting {wait:.0f} s: another program keeps "
                f"asking {self.cache.source} for tokens with this app key; nothing more is "
                "asked in this run"
            ) from None

    def _cached_other_than(self, stale: str | None) -> Token | None:
        cached = self.cache.load()
        if cached is None or cached.value == stale:
            return None
        fields = {"source": self.cache.source}
        log.info("token cached by another process reused", extra={"fields": fields})
        return cached

    def _interval_left(self, interval_s: float) -> float:
        """How long until the source issues again: the interval (plus the margin) from this
        run's own last issue, or the whole interval when another process took the token."""
        full = interval_s + TOKEN_WAIT_MARGIN_S
        if self._issued_at is None:
            return full
        return min(full, max(0.0, full - (time.monotonic() - self._issued_at)))
