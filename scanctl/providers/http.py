"""Polite HTTP for providers: one session, timeouts, bounded retries, a breaker, a rate limit.

Per request (`HttpClient.request`):

* refused at once while the source's breaker is open, or once the run's failure budget is spent;
* a token bucket (``rate_per_s``, burst = ``max_in_flight``) and a semaphore (``max_in_flight``)
  pace it; explicit ``(connect_timeout_s, timeout_s)`` timeouts; at most ``max_bytes`` read;
* timeouts, connection errors, 5xx and 429 are retried up to ``max_attempts`` with exponential
  backoff and ±50 % jitter (429 waits for ``Retry-After`` when it is ≤ ``max_retry_after_s``),
  drawing on a per-run ``retry_budget``;
* a non-2xx reply first goes to the provider's ``check_error`` (when given), which knows the
  source's documented error codes: a harmless or credential code is never taken for a block
  (KIS answers "one token a minute" and "invalid app key" with HTTP 403);
* otherwise HTTP 403, or a 200 whose body is an HTML page where XML/JSON was expected, is a
  **block**: never retried, it opens the breaker (24 h, recorded in ``source_state``) and raises
  `SourceBlocked` whose message names the signal; other 4xx are failures without retry;
* ``failure_budget`` consecutive failed requests abandon the source for the rest of the run
  (`SourceExhausted`), so a dead source costs seconds, not a retry storm.

Log lines and error messages name the host and path only (never the query, the headers or a
body), and every configured secret value is scrubbed from them. Every wait (a backoff, a
Retry-After, a provider's token wait) goes through the client's ``sleep``, injectable for
tests; only the rate limiter's own spacing uses the real clock.
"""

from __future__ import annotations

import email.utils
import random
import re
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from scanctl.config import MASK
from scanctl.logs import get_logger
from scanctl.providers.base import (
    PayloadError,
    Progress,
    SourceBlocked,
    SourceError,
    SourceExhausted,
    Throttled,
)
from scanctl.providers.breaker import Breaker
from scanctl.providers.settings import HttpSettings

log = get_logger("providers.http")

Expect = Literal["xml", "json", "text"]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_HTML = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)


@dataclass(frozen=True)
class HttpResponse:
    """A completed reply: status, headers (case-insensitive), the body bytes, where from."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    where: str  # host + path, safe to show


class TokenBucket:
    """``rate`` requests per second with bursts of ``burst``; thread-safe, first come first served.

    A caller that finds the bucket empty reserves the next token (the level goes negative) and
    sleeps until it is due, so waiting callers are spaced exactly 1/rate apart.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(max(1, burst))
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)


class _Retry(Exception):
    """Internal: this attempt failed in a retryable way."""

    def __init__(self, why: str, wait: float | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.wait = wait


class HttpClient:
    """The HTTP side of one provider (see the module docstring for the policy).

    Parameters
    ----------
    source
        The provider name, used in messages and as the breaker's key.
    settings
        Timeouts, limits and budgets.
    breaker
        The source's circuit breaker.
    secrets
        Values scrubbed from every message (credentials, tokens).
    headers
        Extra headers sent with every request (e.g. a Referer).
    sleep
        How the client (and its provider) waits: backoffs, Retry-After, token waits.
    """

    def __init__(
        self,
        source: str,
        settings: HttpSettings,
        breaker: Breaker,
        secrets: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = source
        self.sleep = sleep
        self.settings = settings
        self.breaker = breaker
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self._bucket = TokenBucket(settings.rate_per_s, settings.max_in_flight)
        self._in_flight = threading.BoundedSemaphore(settings.max_in_flight)
        self._lock = threading.Lock()
        self._consecutive_failures = 0
        self._retries_left = settings.retry_budget
        self.stats = {"requests": 0, "retries": 0, "failures": 0}
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=settings.max_in_flight)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": settings.user_agent, **(headers or {})})

    def add_secret(self, value: str) -> None:
        """Scrub ``value`` too from now on (e.g. a token obtained at run time)."""
        if value:
            self._secrets = tuple(sorted({*self._secrets, value}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every secret value masked."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        expect: Expect,
        headers: Mapping[str, str] | None = None,
        check: Callable[[HttpResponse], None] | None = None,
        check_error: Callable[[HttpResponse], None] | None = None,
    ) -> HttpResponse:
        """`request` with GET."""
        return self.request(
            "GET",
            url,
            params=params,
            expect=expect,
            headers=headers,
            check=check,
            check_error=check_error,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        expect: Expect,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        check: Callable[[HttpResponse], None] | None = None,
        check_error: Callable[[HttpResponse], None] | None = None,
    ) -> HttpResponse:
        """Send one request under the policy of the module docstring; returns a 2xx reply.

        ``expect`` is what a good body looks like (an HTML page instead is a block page).
        ``check`` may inspect a 2xx reply and raise `Throttled` (retried like 429),
        `SourceBlocked` (opens the breaker) or `PayloadError`. ``check_error`` sees every
        non-2xx reply first and may raise the same, a `SourceError` (that request fails, not
        retried) or a `CredentialsRejected` (exit 2); when it returns, the status decides.

        Raises
        ------
        SourceBlocked, SourceExhausted, SourceError, PayloadError, CredentialsRejected
        """
        self.breaker.raise_if_open()
        self._raise_if_exhausted()
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]  # never user:password@
        where = self.redact(f"{host}{parts.path}")  # never the query
        attempts = self.settings.max_attempts
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                response = self._send(method, url, where, params, json, data, headers)
                self._classify(response, expect, check, check_error)
            except _Retry as retry:
                last = retry.why
                if attempt == attempts or not self._take_retry():
                    break
                wait = retry.wait if retry.wait is not None else self._backoff(attempt)
                fields = {"source": self.source, "where": where, "why": last}
                fields |= {"attempt": attempt, "wait_s": round(wait, 2)}
                log.warning("retrying", extra={"fields": fields})
                self.sleep(wait)
                self.breaker.raise_if_open()
                continue
            except SourceBlocked:
                raise
            except SourceError:
                self._record(ok=False)
                raise
            self._record(ok=True)
            return response
        self._record(ok=False)
        raise SourceError(
            self.redact(
                f"{self.source}: {method} {where} failed after {attempt} attempt(s): {last}"
            )
        )

    def map(
        self,
        fn: Callable[[K], V],
        items: Iterable[K],
        progress: Progress | None = None,
    ) -> tuple[dict[K, V], dict[K, SourceError]]:
        """Run ``fn`` on every item with at most ``max_in_flight`` at once.

        Returns the results and, per item, the `SourceError` it raised (a failed ticker is data
        for the coverage gate). `SourceBlocked` and `SourceExhausted` cancel what has not
        started and propagate; so does any other exception (a bug). ``progress(done, total)`` is
        called on the calling thread.
        """
        items = list(items)
        results: dict[K, V] = {}
        failures: dict[K, SourceError] = {}
        pool = ThreadPoolExecutor(self.settings.max_in_flight, thread_name_prefix=self.source)
        try:
            futures: dict[Future[V], K] = {pool.submit(fn, item): item for item in items}
            for done, future in enumerate(as_completed(futures), start=1):
                item = futures[future]
                try:
                    results[item] = future.result()
                except (SourceBlocked, SourceExhausted):
                    raise
                except SourceError as exc:
                    failures[item] = exc
                if progress is not None:
                    progress(done, len(items))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return results, failures

    def close(self) -> None:
        self.session.close()

    def _send(
        self,
        method: str,
        url: str,
        where: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Any,
        headers: Mapping[str, str] | None,
    ) -> HttpResponse:
        """One attempt; transport failures become `_Retry`."""
        self._bucket.acquire()
        timeout = (self.settings.connect_timeout_s, self.settings.timeout_s)
        with self._in_flight:
            with self._lock:
                self.stats["requests"] += 1
            try:
                reply = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
                    timeout=timeout,
                    stream=True,
                    allow_redirects=False,
                )
                with reply:
                    content = self._read(reply, where)
                    return HttpResponse(reply.status_code, reply.headers, content, where)
            except requests.Timeout:
                raise _Retry("timed out") from None
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                raise _Retry("connection failed or cut") from None
            except requests.RequestException as exc:
                raise SourceError(
                    self.redact(f"{self.source}: {method} {where}: {type(exc).__name__}")
                ) from None

    def _read(self, reply: requests.Response, where: str) -> bytes:
        limit = self.settings.max_bytes
        chunks, size = [], 0
        for chunk in reply.iter_content(chunk_size=65_536):
            size += len(chunk)
            if size > limit:
                raise PayloadError(f"{self.source}: {where}: reply larger than {limit:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _classify(
        self,
        response: HttpResponse,
        expect: Expect,
        check: Callable[[HttpResponse], None] | None,
        check_error: Callable[[HttpResponse], None] | None,
    ) -> None:
        """Raise for anything but a usable 2xx reply."""
        status, where = response.status, response.where
        if not 200 <= status < 300 and check_error is not None:
            self._run_check(check_error, response)
        if status == 403:
            raise self.breaker.open(self.redact(f"HTTP 403 from {where}"))
        if status == 429:
            raise _Retry("HTTP 429 (rate limited)", self._retry_after(response))
        if status >= 500:
            raise _Retry(f"HTTP {status}")
        if status == 401:
            raise SourceError(f"{self.source}: {where}: HTTP 401, credentials rejected", 401)
        if not 200 <= status < 300:
            raise SourceError(f"{self.source}: {where}: HTTP {status}", status)
        if expect != "text" and _HTML.match(response.content[:2048]):
            title = self.redact(_title(response.content))
            raise self.breaker.open(f"block page from {where}: {title!r}")
        if check is not None:
            self._run_check(check, response)

    def _run_check(self, check: Callable[[HttpResponse], None], response: HttpResponse) -> None:
        """A provider's verdict on a reply: a throttle is retried, a block opens the breaker,
        anything else it raises propagates."""
        try:
            check(response)
        except Throttled as exc:
            raise _Retry(self.redact(str(exc)), self._bounded_wait(exc.retry_after)) from None
        except SourceBlocked as exc:
            raise self.breaker.open(self.redact(str(exc))) from None

    def _retry_after(self, response: HttpResponse) -> float | None:
        text = response.headers.get("Retry-After")
        if text is None:
            return None
        text = text.strip()
        if text.isdigit():
            seconds = float(text)
        else:
            try:
                moment = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                return None
            seconds = max(0.0, moment.timestamp() - time.time())
        return self._bounded_wait(seconds)

    def _bounded_wait(self, seconds: float | None) -> float | None:
        if seconds is not None and seconds > self.settings.max_retry_after_s:
            raise SourceError(
                f"{self.source}: rate limited for {seconds:.0f} s, longer than "
                f"max_retry_after_s = {self.settings.max_retry_after_s:g}; try again later"
            )
        return seconds

    def _backoff(self, attempt: int) -> float:
        base = min(self.settings.max_backoff_s, self.settings.backoff_s * 2 ** (attempt - 1))
        return base * (0.5 + random.random())  # jitter, not security

    def _take_retry(self) -> bool:
        with self._lock:
            if self._retries_left <= 0:
                return False
            self._retries_left -= 1
            self.stats["retries"] += 1
            return True

    def _record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self._consecutive_failures = 0
            else:
                self._consecutive_failures += 1
                self.stats["failures"] += 1

    def _raise_if_exhausted(self) -> None:
        with self._lock:
            failures = self._consecutive_failures
        if failures >= self.settings.failure_budget:
            raise SourceExhausted(
                f"{self.source}: {failures} requests in a row failed; giving up for this run "
                "(failure_budget) instead of retrying further"
            )


def _title(content: bytes) -> str:
    """The <title> of an HTML page, printable and short (it is untrusted text)."""
    match = _TITLE.search(content[:65_536])
    text = match.group(1).decode("utf-8", "replace") if match else "no title"
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:80]
