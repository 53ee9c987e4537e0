"""The ``kis`` provider: Korea Investment & Securities Open API (app key + secret, adjusted bars).

Endpoints (KIS Developers, koreainvestment/open-trading-api ``examples_llm``; ECOSYSTEM.md §1.4):

* **Token** ``POST {base_url}/oauth2/tokenP`` with ``{grant_type: client_credentials, appkey,
  appsecret}`` → ``{access_token, access_token_token_expired: "YYYY-MM-DD HH:MM:SS" (KST),
  expires_in}``. Valid 24 h, issued at most once a minute (EGW00133): cached on disk
  (`providers.tokens`) and reused across cron runs until 30 min before it expires.
* **Daily bars** ``GET /uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice`` with
  ``tr_id: FHKST03010100`` and ``FID_COND_MRKT_DIV_CODE=J`` (KRX), ``FID_INPUT_ISCD=code``,
  ``FID_INPUT_DATE_1/2`` (first / last date), ``FID_PERIOD_DIV_CODE=D``, ``FID_ORG_ADJ_PRC=0``
  (**adjusted** prices) → ``{rt_cd, msg_cd, msg1, output1, output2: [{stck_bsop_date, stck_oprc,
  stck_hgpr, stck_lwpr, stck_clpr, acml_vol, acml_tr_pbmn}, …]}``, newest first, at most 100
  rows a call: longer ranges are paged backwards by moving ``FID_INPUT_DATE_2`` before the
  oldest row received. ``acml_tr_pbmn`` (KRW) is stored as the traded value.
* **Index bars** ``GET /uapi/domestic-stock/v1/quotations/inquire-daily-indexchartprice`` with
  ``tr_id: FHKUP03500100``, ``FID_COND_MRKT_DIV_CODE=U``, ``FID_INPUT_ISCD`` 0001 (KOSPI) or
  1001 (KOSDAQ) → ``output2: [{stck_bsop_date, bstp_nmix_oprc, bstp_nmix_hgpr, bstp_nmix_lwpr,
  bstp_nmix_prpr, acml_vol}]``, paged the same way.
* **Ticker master** from the public master files (`providers.kis_master`), no token needed.

Every data request carries ``authorization: Bearer``, ``appkey``, ``appsecret``, ``tr_id`` and
``custtype: P`` headers (never logged: the client logs host and path only, and scrubs the key,
the secret and the token from every message).

Errors. KIS answers with a code: ``msg_cd`` / ``msg1`` (data requests, ``rt_cd`` ≠ 0) or
``error_code`` / ``error_description`` (the token request), in a 200 reply or in a non-2xx one —
notably HTTP 403 for the token and credential codes and HTTP 500 for the rate and token codes
(public clients: Soju06/python-kis #24; the KIS portal's error-code list as public clients copy
it). The code decides, before the HTTP status (`classify`):

* ``EGW00201`` (초당 거래건수를 초과: over the per-second limit) is `Throttled`: retried with
  backoff, never a breaker;
* ``EGW00121`` / ``EGW00123`` (invalid / expired token), or HTTP 401 without a code, renew the
  token once (one renewal per stale token, shared by the workers) and repeat the request; a
  freshly issued token refused too gives up the source for the run (exit 3);
* ``EGW00133`` (접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회): a token was issued less than a
  minute ago, usually by another process with the same key) is `TokenTooSoon`: the token that
  process cached is used, else one wait until the minute has passed and one more request
  (`providers.tokens`); never a breaker;
* ``EGW00102`` / ``EGW00103`` (app key missing / invalid) and ``EGW00104`` / ``EGW00105`` (app
  secret missing / invalid) are `CredentialsRejected`: exit 2, naming the code and the key to
  check (``[data.kis] app_key`` / ``SCANCTL_DATA_KIS_APP_KEY`` or ``app_secret``); never retried,
  never a breaker;
* any other code fails that request without retry (the ticker is missing; the failure budget
  stops a run that fails everywhere) — also in an HTTP 403 reply: a 403 that carries a KIS error
  code is the gateway's answer, not a block page. KIS documents no code for an IP or abuse
  block, so only a 403 **without** a KIS code (or an HTML page) opens the breaker; a 5xx
  without a known code is retried as a server error.

Rate: ``rate_per_s`` defaults to 15 (stable throughput measured by public clients) and may not
exceed 20, the real-account limit (a paper account allows 5: set ``rate_per_s = 5``); at most
``max_in_flight`` (≤ 5) requests at once.

Bars are stamped with ``stck_bsop_date``: a day KIS has not published yet yields the latest
earlier bar, which the stamped-date gate catches; the bar before it gives the `PreviousClose`. A
halted day (open/high/low 0, volume 0) is stored as ``(close, close, close, close, 0)``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scanctl.clock import now_kst, stored_date
from scanctl.config import setting
from scanctl.errors import BadInput, ConfigError
from scanctl.logs import get_logger
from scanctl.providers.base import (
    INDEX_CODES,
    BarRow,
    IndexBarRow,
    PayloadError,
    PerTickerProvider,
    ProviderSpec,
    SourceError,
    SourceExhausted,
    Throttled,
    TickerRow,
    credentials_rejected,
)
from scanctl.providers.http import HttpClient, HttpResponse
from scanctl.providers.kis_master import MASTER_FILES, check_zip, read_master
from scanctl.providers.payload import halted_row, iso_day, json_object
from scanctl.providers.settings import ProviderConfig, ProviderOptions
from scanctl.providers.tokens import (
    Token,
    TokenCache,
    TokenKeeper,
    TokenTooSoon,
    is_unauthorized,
)

log = get_logger("providers.kis")

NAME = "kis"
TOKEN_PATH = "/oauth2/tokenP"
CHART_PATH = "/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice"
INDEX_PATH = "/uapi/domestic-stock/v1/quotations/inquire-daily-indexchartprice"
CHART_TR, INDEX_TR = "FHKST03010100", "FHKUP03500100"
INDEX_ISCD = {"KOSPI": "0001", "KOSDAQ": "1001"}
MAX_RATE = 20.0
PAGE_ROWS = 100
LOOKBACK_DAYS = 20  # calendar days before the first day: its previous session, across holidays
PAGE_GAP_DAYS = 10  # a page ending this far after the start may have more rows before it
MAX_PAGES = 100
THROTTLED = frozenset({"EGW00201"})  # 초당 거래건수를 초과하였습니다
STALE_TOKEN = frozenset({"EGW00121", "EGW00123"})  # 유효하지 않은 token / 기간이 만료된 token
TOKEN_TOO_SOON = "EGW00133"  # 접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)
TOKEN_INTERVAL_S = 60.0  # KIS issues one token a minute (since 2023-10-27)
CREDENTIALS = {  # code → the [data.kis] key to check
    "EGW00102": "app_key",  # AppKey 누락
    "EGW00103": "app_key",  # 유효하지 않은 AppKey
    "EGW00104": "app_secret",  # AppSecret 누락
    "EGW00105": "app_secret",  # 유효하지 않은 AppSecret
}

_INTEGER = re.compile(r"^\d{1,18}$")
_DECIMAL = re.compile(r"^\d{1,12}(?:\.\d{1,6})?$")
_EXPIRY = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$")


class StaleToken(SourceError):
    """The source says the token is invalid or expired: renew it once and repeat the request."""


class KisProvider(PerTickerProvider):
    """KIS Open API over a configurable API host and master-file host (see the module doc)."""

    name = NAME
    ticker_fields = frozenset({"name", "market", "security_type", "managed", "halted", "listed_on"})

    def __init__(self, client: HttpClient, app_key: str, app_secret: str, master_url: str) -> None:
        super().__init__(client)
        self.base_url = client.settings.base_url
        self.master_url = master_url.rstrip("/")
        self._key, self._secret = app_key, app_secret
        cache = TokenCache(NAME, app_key, self.base_url)
        self.tokens = TokenKeeper(client, cache, self._issue_token)

    # ---- the Provider interface -----------------------------------------------------------------
    def fetch_tickers(self) -> list[TickerRow]:
        """KOSPI and KOSDAQ from the master files, every exclusion flag mapped."""
        tickers: dict[str, TickerRow] = {}
        for market, stem in MASTER_FILES.items():
            url = f"{self.master_url}/{stem}.mst.zip"
            reply = self.client.get(url, expect="text", check=check_zip)
            for record in read_master(reply.content, market):
                tickers.setdefault(record.code, record.ticker())
        return sorted(tickers.values(), key=lambda row: row.code)

    def series(self, code: str, first: dt.date, last: dt.date) -> list[BarRow]:
        """The chart from `LOOKBACK_DAYS` before ``first`` (its previous session) to ``last``."""
        return self._bars(code, first - dt.timedelta(days=LOOKBACK_DAYS), last)

    def fetch_history(self, code: str, start: dt.date, end: dt.date) -> list[BarRow]:
        """Adjusted bars of ``code`` dated ``start`` … ``end``, ascending (paged by 100)."""
        first, last = start.isoformat(), end.isoformat()
        return [row for row in self._bars(code, start, end) if first <= row[0] <= last]

    def fetch_index(self, index_code: str, start: dt.date, end: dt.date) -> list[IndexBarRow]:
        """KOSPI (0001) or KOSDAQ (1001) from the sector-index daily chart."""
        if index_code not in INDEX_CODES:
            raise BadInput(f"index {index_code!r}: kis serves {', '.join(INDEX_CODES)}")

        def page(first: dt.date, last: dt.date) -> list[tuple[str, IndexBarRow]]:
            params = _chart_params("U", INDEX_ISCD[index_code], first, last)
            params.pop("FID_ORG_ADJ_PRC")
            payload = self._call(INDEX_PATH, INDEX_TR, params)
            items = _dated_items(payload, f"kis: index {index_code}")
            return [(day, _index_bar(index_code, day, item)) for day, item in items]

        return [row for _, row in paged(page, start, end, f"kis: index {index_code}")]

    # ---- requests ---------------------------------------------------------------------------
    def _bars(self, code: str, start: dt.date, end: dt.date) -> list[BarRow]:
        def page(first: dt.date, last: dt.date) -> list[tuple[str, BarRow]]:
            payload = self._call(CHART_PATH, CHART_TR, _chart_params("J", code, first, last))
            items = _dated_items(payload, f"kis: chart {code}")
            return [(day, _bar(code, day, item)) for day, item in items]

        return [row for _, row in paged(page, start, end, f"kis: {code}")]

    def _call(self, path: str, tr_id: str, params: Mapping[str, str]) -> Mapping[str, Any]:
        """One GET with the token; a refused token is renewed once and the request repeated."""
        token = self.tokens.current()
        for attempt in (1, 2):
            headers = {
                "content-type": "application/json; charset=utf-8",
                "authorization": f"Bearer {token}",
                "appkey": self._key,
                "appsecret": self._secret,
                "tr_id": tr_id,
                "custtype": "P",
            }
            url = self.base_url + path
            try:
                reply = self.client.get(
                    url,
                    params,
                    expect="json",
                    headers=headers,
                    check=self._ok,
                    check_error=self._error,
                )
            except SourceError as exc:
                if not (isinstance(exc, StaleToken) or is_unauthorized(exc)):
                    raise
                if attempt == 2:
                    raise SourceExhausted(
                        self.client.redact(
                            f"kis: a freshly issued token was refused too ({exc}); nothing more "
                            "is asked of kis in this run; check that [data.kis] app_key / "
                            "app_secret belong to an active KIS Open API service"
                        )
                    ) from None
                token = self.tokens.renew(token)
                continue
            return json_object(reply.content, f"kis: {reply.where}")
        raise AssertionError("unreachable")

    def _ok(self, response: HttpResponse) -> None:
        """``check`` of a 200 data reply: ``rt_cd`` 0, or the error its code is."""
        payload = json_object(response.content, f"kis: {response.where}")
        if str(payload.get("rt_cd", "")) == "0":
            return
        code, message = _code(payload)
        self._raise_for(code, message, response)

    def _error(self, response: HttpResponse) -> None:
        """``check_error``: a non-2xx reply that carries a KIS code is classified by its code;
        one without (a bare 403, an HTML page, a proxy's 502) is left to the status rules."""
        payload = _json_or_none(response.content)
        code, message = _code(payload) if payload is not None else ("", "")
        if code:
            self._raise_for(code, message, response)

    def _raise_for(self, code: str, message: str, response: HttpResponse) -> None:
        """Raise what ``code`` means (module doc); returns only for an unknown code in a 5xx
        or 429 reply, which the status rules retry, or in a 401 (a token renewal)."""
        status, where = response.status, response.where
        text = self.client.redact(f"kis: {where}: {code} {message}".rstrip())
        kind = classify(code)
        if kind == "throttled":
            raise Throttled(text)
        if kind == "stale_token":
            raise StaleToken(text, status)
        if kind == "too_soon":
            raise TokenTooSoon(
                f"{text}: KIS issues one access token a minute", interval_s=TOKEN_INTERVAL_S
            )
        if kind == "credentials":
            detail = self.client.redact(message)
            raise credentials_rejected(NAME, code, detail, [CREDENTIALS[code]], hint=_PAPER_HINT)
        if status == 429 or status >= 500 or status == 401:
            return
        if status == 403:
            text += " (HTTP 403 with a KIS error code: the gateway's answer, not a block)"
        raise SourceError(text, status if status >= 300 else None)

    def _issue_token(self) -> Token:
        body = {"grant_type": "client_credentials", "appkey": self._key, "appsecret": self._secret}
        try:
            reply = self.client.request(
                "POST",
                self.base_url + TOKEN_PATH,
                expect="json",
                json=body,
                check=self._token_ok,
                check_error=self._error,
            )
        except SourceError as exc:
            if is_unauthorized(exc):  # HTTP 401 without a KIS code (a code is classified)
                raise credentials_rejected(
                    NAME, "HTTP 401", "", ["app_key", "app_secret"], hint=_PAPER_HINT
                ) from None
            raise
        payload = json_object(reply.content, "kis: token")
        value = payload.get("access_token")
        if not isinstance(value, str) or not value.strip():
            raise PayloadError("kis: the token reply has no access_token")
        self.client.add_secret(value)
        return Token(value, _expiry(payload))

    def _token_ok(self, response: HttpResponse) -> None:
        """``check`` of a 200 token reply: an ``error_code`` in it is classified like any."""
        payload = json_object(response.content, "kis: token")
        code, message = _code(payload)
        if code:
            self._raise_for(code, message, response)


_PAPER_HINT = " (a paper-trading key needs the paper host in [data.kis] base_url)"


def classify(code: str) -> str:
    """What a KIS error code means to scanctl: ``throttled``, ``stale_token``, ``too_soon``,
    ``credentials`` or ``other`` (see the module doc; only these codes are documented to us)."""
    if code in THROTTLED:
        return "throttled"
    if code in STALE_TOKEN:
        return "stale_token"
    if code == TOKEN_TOO_SOON:
        return "too_soon"
    if code in CREDENTIALS:
        return "credentials"
    return "other"


def _code(payload: Mapping[str, Any]) -> tuple[str, str]:
    """``(code, message)`` of a KIS reply: ``msg_cd`` / ``msg1`` of a data reply, or
    ``error_code`` / ``error_description`` of a token reply (``""`` when there is none)."""
    for code_key, message_key in (("msg_cd", "msg1"), ("error_code", "error_description")):
        code = payload.get(code_key)
        if code not in (None, ""):
            return str(code)[:12], _text(payload.get(message_key))
    return "", ""


def _json_or_none(content: bytes) -> Mapping[str, Any] | None:
    """The reply as a JSON object, or None (an error page, a truncated body)."""
    try:
        return json_object(content, "kis")
    except PayloadError:
        return None


# ---- shared by the per-ticker broker providers ------------------------------------------------


Page = Callable[[dt.date, dt.date], list[tuple[str, Any]]]


def paged(page: Page, start: dt.date, end: dt.date, where: str) -> list[tuple[str, Any]]:
    """``(ISO date, item)`` dated ``start`` … ``end``, ascending, from a source that returns the
    latest rows of a date range: the range's end moves before the oldest row received until the
    start is reached, a short page ends near it, or a page brings nothing new."""
    first, collected = start.isoformat(), {}
    last = end
    for _ in range(MAX_PAGES):
        items = page(start, last)
        fresh = [(d, item) for d, item in items if first <= d <= last.isoformat()]
        fresh = [(d, item) for d, item in fresh if d not in collected]
        collected.update(fresh)
        if not items or not fresh:
            break
        oldest = min(d for d, _ in items)
        gap = (stored_date(oldest) - start).days
        if oldest <= first or (len(items) < PAGE_ROWS and gap <= PAGE_GAP_DAYS):
            break
        last = stored_date(oldest) - dt.timedelta(days=1)
    else:
        raise PayloadError(f"{where}: more than {MAX_PAGES} pages for {start} … {end}")
    return sorted(collected.items())


def _dated_items(payload: Mapping[str, Any], where: str) -> list[tuple[str, Mapping[str, Any]]]:
    items = payload.get("output2")
    if not isinstance(items, list):
        raise PayloadError(f"{where}: no output2 list in the reply")
    dated: list[tuple[str, Mapping[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict):
            raise PayloadError(f"{where}: output2 holds a {type(item).__name__}")
        if not item.get("stck_bsop_date"):
            continue  # KIS pads an empty range with empty rows
        dated.append((iso_day(item["stck_bsop_date"], where), item))
    if len({day for day, _ in dated}) != len(dated):
        raise PayloadError(f"{where}: the reply repeats a date")
    return dated


def _bar(code: str, day: str, item: Mapping[str, Any]) -> BarRow:
    where = f"kis: chart {code} {day}"
    names = ("stck_oprc", "stck_hgpr", "stck_lwpr", "stck_clpr", "acml_vol")
    values = [_integer(item.get(name), where) for name in names]
    value = item.get("acml_tr_pbmn")
    traded = _integer(value, where) if value not in (None, "") else None
    return halted_row(code, day, values, traded)


def _index_bar(index_code: str, day: str, item: Mapping[str, Any]) -> IndexBarRow:
    where = f"kis: index {index_code} {day}"
    open_, high, low, close = (
        _decimal(item.get(f"bstp_nmix_{name}"), where) for name in ("oprc", "hgpr", "lwpr", "prpr")
    )
    return (day, index_code, open_, high, low, close, _integer(item.get("acml_vol"), where))


def _chart_params(market: str, code: str, first: dt.date, last: dt.date) -> dict[str, str]:
    return {
        "FID_COND_MRKT_DIV_CODE": market,
        "FID_INPUT_ISCD": code,
        "FID_INPUT_DATE_1": first.strftime("%Y%m%d"),
        "FID_INPUT_DATE_2": last.strftime("%Y%m%d"),
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": "0",
    }


def _integer(text: Any, where: str) -> int:
    if not isinstance(text, str) or not _INTEGER.match(text):
        raise PayloadError(f"{where}: {str(text)[:20]!r} is not a whole number")
    return int(text)


def _decimal(text: Any, where: str) -> float:
    if not isinstance(text, str) or not _DECIMAL.match(text):
        raise PayloadError(f"{where}: {str(text)[:20]!r} is not a number")
    return float(text)


def _text(value: Any) -> str:
    """A source's message, printable and short (it is untrusted text)."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value or ""))
    return " ".join(text.split())[:120]


def _expiry(payload: Mapping[str, Any]) -> dt.datetime:
    stamp = payload.get("access_token_token_expired")
    match = _EXPIRY.match(stamp) if isinstance(stamp, str) else None
    if match is not None:
        try:
            return dt.datetime(*(int(part) for part in match.groups()), tzinfo=now_kst().tzinfo)
        except ValueError:
            pass
    seconds = payload.get("expires_in")
    if isinstance(seconds, int) and not isinstance(seconds, bool) and 0 < seconds <= 400_000:
        return now_kst() + dt.timedelta(seconds=seconds)
    raise PayloadError("kis: the token reply has no usable expiry")


@dataclass(frozen=True)
class KisOptions(ProviderOptions):
    """The ``[data.kis]`` keys besides the HTTP ones: the app's credentials and the master."""

    app_key: str = setting(None, "the KIS Open API app key", kind="text", secret=True)
    app_secret: str = setting(None, "the KIS Open API app secret", kind="text", secret=True)
    master_url: str = setting(
        "https://new.real.download.dws.co.kr/common/master",
        "where the KOSPI / KOSDAQ master files are downloaded from",
        kind="url",
    )


def _build(config: ProviderConfig, client: HttpClient) -> KisProvider:
    rate = client.settings.rate_per_s
    if rate > MAX_RATE:
        raise ConfigError(
            f"[data.kis] rate_per_s = {rate:g}: KIS allows at most {MAX_RATE:g} requests per "
            "second on a real account (5 on a paper account); set rate_per_s ≤ 20"
        )
    options = config.options
    return KisProvider(client, options["app_key"], options["app_secret"], options["master_url"])


SPEC = ProviderSpec(
    name=NAME,
    build=_build,
    http_defaults={"base_url": "https://openapi.koreainvestment.com:9443", "rate_per_s": 15.0},
    options=KisOptions,
    required=frozenset({"app_key", "app_secret"}),
)
