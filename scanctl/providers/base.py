"""The provider interface: what a market-data source delivers, its errors, and the registry.

A provider fetches the ticker master, the bars of one or more dates for many codes, one
ticker's adjusted history, and index bars. It never writes to the store: `providers.sync` runs
the validation gates and writes. Every provider talks HTTP through one `http.HttpClient` (one
session, timeouts, retries, rate limit, bounded concurrency, circuit breaker, redaction).

Adding a provider (e.g. ``kis``)
--------------------------------
1. Write ``scanctl/providers/kis.py`` with a class implementing `Provider` (subclass
   `ProviderBase` to get `fetch_days`, `close` and the context manager for free) and a module
   constant ``SPEC = ProviderSpec(...)``: its HTTP defaults (``base_url``, ``rate_per_s``, …),
   the extra keys it accepts under ``[data.kis]`` (credentials, account, …) declared as a
   `settings.ProviderOptions` subclass, which of them are required, and
   ``build(config, client) -> Provider``.
2. Add one line to `names.PROVIDERS`: ``"kis": "scanctl.providers.kis:SPEC"``.
3. Inside the provider call ``client.get``/``client.request`` with ``expect="json"`` (or
   ``"xml"``) so block pages are recognised; raise `PayloadError` for any reply that does not
   parse, `Throttled` from a ``check`` callback for a source-specific "too many requests" reply
   in a 200 body, and `SourceBlocked` from ``check`` for a source-specific block notice. A
   source that answers errors with a documented code in a non-2xx reply (KIS: HTTP 403 with
   ``EGW00133``) reads it in a ``check_error`` callback, so that a documented harmless code is
   not taken for a block: `Throttled` retries, `CredentialsRejected` ends the run with exit 2,
   a `SourceError` fails that request; returning leaves the reply to the generic status rules.
4. A per-ticker source subclasses `PerTickerProvider` and implements ``series(code, first,
   last)``: each code is asked once per batch of days through ``client.map(fn, codes,
   progress)``, which bounds the requests in flight and turns a per-code `SourceError` into a
   missing ticker, while a blocked or exhausted source aborts the whole batch. A
   cross-sectional source (one call per market and date) keeps `ProviderBase.fetch_days` and
   implements `fetch_bars` only.
5. Fill `DayBars` honestly: stamp each row with the date the source gives it (``BAS_DD``,
   ``stck_bsop_date``…), never with the requested one; give `PreviousClose` (``date=None`` with
   close − change for a snapshot); write a halted issue as ``(close, close, close, close, 0)``;
   put codes you could not get in ``missing`` with the reason. The sync's gates do the rest.
6. A token obtained at run time goes through ``client.add_secret(token)`` before any request
   so that it is scrubbed too; set ``ticker_fields`` to the master fields the source tells.

Credentials come from ``[data.<name>]`` or ``SCANCTL_DATA_<NAME>_<KEY>``; every option whose key
looks secret (`scanctl.config.is_secret_key`) is handed to the client, which scrubs its value
from every log line and error message.
"""

from __future__ import annotations

import bisect
import datetime as dt
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from scanctl.errors import ConfigError, DataNotReady
from scanctl.providers.settings import DEFAULT_PROVIDER, PROVIDERS, ProviderOptions, key_names
from scanctl.store.bars import BarRow, IndexBarRow, TickerRow

if TYPE_CHECKING:
    import sqlite_utils

    from scanctl.providers.http import HttpClient
    from scanctl.providers.settings import DataConfig, ProviderConfig

__all__ = [
    "DEFAULT_PROVIDER",
    "PROVIDERS",
    "BarRow",
    "CredentialsRejected",
    "DayBars",
    "IndexBarRow",
    "PayloadError",
    "PreviousClose",
    "Progress",
    "Provider",
    "PerTickerProvider",
    "ProviderBase",
    "ProviderSpec",
    "SourceBlocked",
    "SourceError",
    "SourceExhausted",
    "Throttled",
    "batches_from_series",
    "credentials_rejected",
    "TickerRow",
    "make_provider",
    "provider_spec",
]

INDEX_CODES = ("KOSPI", "KOSDAQ")

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called on the calling thread as units of work complete."""


class SourceError(DataNotReady):
    """A source failed to deliver (after bounded retries): nothing from it is written (exit 3).

    ``status`` is the HTTP status that ended the request, when there was one.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PayloadError(SourceError):
    """A reply arrived but is not what the source documents: truncated, garbled, wrong shape."""


class SourceBlocked(SourceError):
    """The source answered with a block — an HTML page where data was expected, an HTTP 403
    without a documented error code, or a source's documented block notice: the breaker is open
    and the message names that signal."""


class SourceExhausted(SourceError):
    """Too many consecutive failures in this run: the source is abandoned (no retry storm)."""


class CredentialsRejected(ConfigError):
    """The source refused the configured credentials with a documented credential error code.

    A configuration error (exit 2), not a data failure: nothing is retried, no breaker opens,
    the whole run stops (`HttpClient.map` lets it through), and no later request is sent. The
    one-line message names the provider, the source's code and the key(s) to check, never a
    value (`credentials_rejected` builds it).
    """

    def __init__(self, message: str, source: str = "", code: str = "") -> None:
        super().__init__(message)
        self.source = source
        self.code = code


def credentials_rejected(
    source: str, code: str, detail: str, keys: Sequence[str], hint: str = ""
) -> CredentialsRejected:
    """The `CredentialsRejected` of ``source``'s ``code``: ``detail`` is the source's own
    message (already redacted), ``keys`` the ``[data.<source>]`` keys to check, ``hint`` an
    optional last clause."""
    what = f"{code} {detail}".strip()
    check = " and ".join(key_names(source, key) for key in keys)
    message = f"{source}: credentials refused ({what}); check {check}{hint}"
    return CredentialsRejected(message, source, code)


class Throttled(SourceError):
    """The source asks to slow down; retried like HTTP 429 (raised by a provider's check)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class PreviousClose:
    """The source's basis for a day's change: the close of the session before the bar.

    ``date`` is that session when the source says (a per-ticker chart), None when the source only
    gives a previous-close number (a cross-sectional snapshot: close − change); the sync then
    compares it with the store's close of the calendar's previous session.
    """

    date: str | None
    close: int


@dataclass(frozen=True)
class DayBars:
    """What a source returned when asked for the bars of ``day``.

    Attributes
    ----------
    day
        The requested date.
    rows
        At most one row per code, each stamped with the date **the source** gives it: a source
        that has not published ``day`` yet returns older rows, which the stamped-date gate
        catches. A halted ticker's row is ``(close, close, close, close, 0)`` (never zeros).
    previous
        code → the source's previous close for that code's row (for corporate actions); codes
        may be absent when the source does not tell.
    missing
        code → why no row was returned (request failed, payload error, no bar on or before
        ``day``). Only codes that were asked for.
    """

    day: dt.date
    rows: list[BarRow]
    previous: Mapping[str, PreviousClose] = field(default_factory=dict)
    missing: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """A market-data source. Dates are ``datetime.date``; rows use the store's tuple shapes.

    Every method raises `SourceBlocked` when the source blocks us (or the breaker is open),
    `SourceError` when it fails after bounded retries, `PayloadError` for a reply that does
    not parse and `CredentialsRejected` (exit 2) when the source refuses the configured key.
    Prices are adjusted KRW integers; codes are 6-character text (letters allowed).
    """

    name: str
    ticker_fields: frozenset[str]
    """The `TickerRow` fields the source really tells; the store keeps its values of the others
    (e.g. ``managed`` when the source cannot say) for codes it already holds."""

    def fetch_tickers(self) -> list[TickerRow]:
        """The ticker master (KOSPI and KOSDAQ), one row per code."""
        ...

    def fetch_bars(
        self, day: dt.date, codes: Sequence[str], progress: Progress | None = None
    ) -> DayBars:
        """The bars of ``day`` for ``codes`` (a per-ticker source fans out, bounded)."""
        ...

    def fetch_days(
        self, days: Sequence[dt.date], codes: Sequence[str], progress: Progress | None = None
    ) -> list[DayBars]:
        """`fetch_bars` for several sessions (ascending), one `DayBars` per day, same order."""
        ...

    def fetch_history(self, code: str, start: dt.date, end: dt.date) -> list[BarRow]:
        """One ticker's adjusted bars dated ``start`` … ``end``, ascending."""
        ...

    def fetch_index(self, index_code: str, start: dt.date, end: dt.date) -> list[IndexBarRow]:
        """Index bars (``KOSPI`` or ``KOSDAQ``) dated ``start`` … ``end``, ascending; a source
        without index data returns [] (the engines then use their proxy ETFs)."""
        ...

    def close(self) -> None:
        """Release the HTTP session."""
        ...


class ProviderBase:
    """Defaults for providers: `fetch_days` as one `fetch_bars` per day, `close`, ``with``."""

    name: str = ""
    ticker_fields: frozenset[str] = frozenset(
        {"name", "market", "security_type", "managed", "halted", "listed_on"}
    )

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def fetch_bars(
        self, day: dt.date, codes: Sequence[str], progress: Progress | None = None
    ) -> DayBars:
        raise NotImplementedError

    def fetch_days(
        self, days: Sequence[dt.date], codes: Sequence[str], progress: Progress | None = None
    ) -> list[DayBars]:
        """One `fetch_bars` per day; a per-ticker source overrides this to ask each code once."""
        total = len(days) * len(codes)
        batches = []
        for number, day in enumerate(days):
            offset = number * len(codes)

            def step(done: int, _total: int, offset: int = offset) -> None:
                if progress is not None:
                    progress(offset + done, total)

            batches.append(self.fetch_bars(day, codes, step))
        return batches

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ProviderBase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class ProviderSpec:
    """How to configure and build one provider (the registry entry a provider module exports).

    Attributes
    ----------
    name
        The ``--source`` / ``[data] provider`` name.
    build
        ``build(config, client) -> Provider``.
    http_defaults
        Defaults for the common HTTP keys of `settings.HttpSettings` (``base_url`` at least).
    options
        The `settings.ProviderOptions` subclass declaring the keys accepted under
        ``[data.<name>]`` besides the HTTP keys (hosts, credentials), each with its default
        (None = none) and description; secret ones are scrubbed from logs. A plain mapping of
        defaults is accepted too, as undocumented keys.
    required
        Options that must be set (credentials); missing ones are a `ConfigError` naming the
        TOML key and the environment variable.
    """

    name: str
    build: Callable[[ProviderConfig, HttpClient], Provider]
    http_defaults: Mapping[str, Any]
    options: type[ProviderOptions] | Mapping[str, Any] = ProviderOptions
    required: frozenset[str] = frozenset()


def provider_spec(name: str) -> ProviderSpec:
    """The registry entry of ``name``.

    Raises
    ------
    ConfigError
        Unknown provider name (the message lists the known ones).
    """
    target = PROVIDERS.get(name)
    if target is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigError(f"--source / [data] provider: unknown provider {name!r}; known: {known}")
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def make_provider(
    name: str | None,
    data: DataConfig,
    db: sqlite_utils.Database,
    sleep: Callable[[float], None] | None = None,
) -> Provider:
    """Build the provider ``name`` (None: ``[data] provider``, default ``naver``).

    The provider gets its own `HttpClient` whose circuit breaker is read from (and recorded in)
    the ``source_state`` table of ``db``, and which waits through ``sleep`` (`time.sleep` when
    None; tests pass a recorder). Close it (``with`` or ``.close()``) when done.

    Raises
    ------
    ConfigError
        Unknown provider, invalid ``[data]`` keys, or missing credentials.
    """
    from scanctl.providers.breaker import Breaker
    from scanctl.providers.http import HttpClient

    spec = provider_spec(name or data.settings.provider)
    provider_settings = data.provider(spec)
    breaker = Breaker.load(db, spec.name, hours=data.settings.breaker_hours)
    extra = {} if sleep is None else {"sleep": sleep}
    client = HttpClient(
        spec.name,
        provider_settings.http,
        breaker,
        secrets=provider_settings.secret_values(),
        **extra,
    )
    return spec.build(provider_settings, client)


class PerTickerProvider(ProviderBase):
    """A source with one chart a ticker: each code is asked once for all the days of a batch,
    with bounded fan-out (`HttpClient.map`); a subclass implements `series`."""

    def series(self, code: str, first: dt.date, last: dt.date) -> list[BarRow]:
        """``code``'s bars, ascending, from before ``first`` (its previous session at least)
        through ``last``."""
        raise NotImplementedError

    def fetch_bars(
        self, day: dt.date, codes: Sequence[str], progress: Progress | None = None
    ) -> DayBars:
        """The bars of ``day``: one chart per code."""
        return self.fetch_days([day], codes, progress)[0]

    def fetch_days(
        self, days: Sequence[dt.date], codes: Sequence[str], progress: Progress | None = None
    ) -> list[DayBars]:
        """Each code's chart once, long enough for every day and the session before the first."""
        days = sorted(days)
        if not days:
            return []
        series, failures = self.client.map(
            lambda code: self.series(code, days[0], days[-1]), codes, progress
        )
        return batches_from_series(self.name, days, codes, series, failures)


def batches_from_series(
    source: str,
    days: Sequence[dt.date],
    codes: Sequence[str],
    series: Mapping[str, list[BarRow]],
    failures: Mapping[str, SourceError],
) -> list[DayBars]:
    """One `DayBars` per day from each code's ascending bars: the bar dated that day, else the
    latest earlier one (stamped with its own date), the bar before it as the `PreviousClose`."""
    dates = {code: [row[0] for row in rows] for code, rows in series.items()}
    batches = []
    for day in days:
        iso = day.isoformat()
        rows: list[BarRow] = []
        previous: dict[str, PreviousClose] = {}
        missing = {code: str(error) for code, error in failures.items()}
        for code in codes:
            if code in failures:
                continue
            position = bisect.bisect_right(dates.get(code, []), iso) - 1
            if position < 0:
                missing[code] = f"{source}: {code} has no bar on or before {iso}"
                continue
            rows.append(series[code][position])
            if position > 0:
                before = series[code][position - 1]
                previous[code] = PreviousClose(before[0], before[5])
        batches.append(DayBars(day, rows, previous, missing))
    return batches
