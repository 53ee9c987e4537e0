"""The ``kiwoom`` provider: Kiwoom Securities REST API (app key + secret key, adjusted bars).

Endpoints (Kiwoom REST API guide as public clients use it; ECOSYSTEM.md §1.5):

* **Token** ``POST {base_url}/oauth2/token`` with ``{grant_type: client_credentials, appkey,
  secretkey}`` → ``{token, token_type, expires_dt: "YYYYMMDDhhmmss" (KST), return_code: 0}``;
  cached on disk across runs (`providers.tokens`) until 30 min before it expires.
* **Daily chart** ``ka10081``: ``POST /api/dostk/chart`` with headers ``api-id: ka10081``,
  ``authorization: Bearer …``, ``cont-yn``, ``next-key`` and the body ``{stk_cd, base_dt:
  YYYYMMDD, upd_stkpc_tp: "1"}`` (``1`` = **adjusted** prices) → ``{stk_cd,
  stk_dt_pole_chart_qry: [{dt, open_pric, high_pric, low_pric, cur_prc, trde_qty, trde_prica},
  …], return_code, return_msg}``, newest first from ``base_dt``. More rows follow while the reply
  headers say ``cont-yn: Y``: the next request repeats the body with ``cont-yn: Y`` and the
  ``next-key`` received, until the rows reach the first date wanted. Prices may carry a ``+`` /
  ``-`` sign (the direction of the change), which is dropped. ``trde_prica`` is in millions of
  KRW; the traded value is stored as ``trde_prica × 1,000,000`` (rounded to the million).
* **Stock list** ``ka10099``: ``POST /api/dostk/stkinfo`` with ``api-id: ka10099`` and
  ``{mrkt_tp}`` (``0`` KOSPI, ``10`` KOSDAQ, ``8`` ETF, ``6`` REIT), paged like the chart →
  ``{list: [{code, name, regDay, marketName, auditInfo, state, orderWarning, …}]}``.

The ticker master: codes, names and markets from the KOSPI and KOSDAQ lists, ``listed_on`` from
``regDay``; ``security_type`` ``etf`` / ``reit`` for codes in the ETF / REIT lists, else from the
name as naver does (``ETN`` → etn, 스팩 → spac, a preferred-share suffix on a code not ending in 0
→ preferred, otherwise stock). ``managed`` and ``halted`` are not taken from Kiwoom (the meaning
of ``auditInfo`` / ``state`` / ``orderWarning`` is not published in a form we could verify): the
store keeps its values (`ticker_fields`), false for new codes; the KIS master files
(``--source kis``) carry every exclusion flag. Index bars are left to naver / kis (`fetch_index`
returns [] and the engines use their proxy ETFs).

Errors: ``return_code`` ≠ 0 in a reply (a 200 one, or a non-2xx one with that JSON body) is an
error, identified by the bracketed code of ``return_msg`` (``…[1700:허용된 요청 개수를
초과하였습니다]``) or the return code itself. The codes are those of Kiwoom's REST guide (오류코드
table, as public clients copy it; `classify`):

* 1700 (허용된 요청 개수를 초과) is `Throttled`: retried with backoff (the limit is per API id),
  never a breaker;
* 8005 (Token이 유효하지 않습니다), or HTTP 401, renews the token once and repeats the request;
  so does 8010 (the token was issued to another IP address: a cached token outlived an address
  change) — that reading of 8010 is ours, **unconfirmed**; a renewed token refused again gives
  up the run (exit 3);
* 8001 / 8002 (App Key와 Secret Key 검증에 실패), 8020 (appkey or secretkey missing), 8030 /
  8031 (the key or token belongs to the other investment type, real vs paper: the key does not
  match ``base_url``) and 8040 / 8050 / 8103 (단말기 인증 실패: the server's IP address is not
  registered for the key) are `CredentialsRejected`: exit 2, naming the code and the key to
  check; never retried, never a breaker;
* any other code (1501–1517 a malformed request, 1687 recursive calls, 1901/1902 unknown code,
  1999, 8003/8006/8009 token lookup or issue failed "for a reason", 1634 which shares 1700's
  message) fails that request without retry. Kiwoom documents no block code: a non-2xx reply
  with a Kiwoom error body is the API's answer, never a block; only a 403 without one (or an
  HTML page) opens the breaker.

``rate_per_s`` defaults to 4 (Kiwoom publishes no number; 1700 is handled either way).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from scanctl.clock import now_kst
from scanctl.config import setting
from scanctl.logs import get_logger
from scanctl.providers.base import (
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
from scanctl.providers.kis import LOOKBACK_DAYS, StaleToken
from scanctl.providers.payload import halted_row, iso_day, json_object
from scanctl.providers.settings import ProviderConfig, ProviderOptions
from scanctl.providers.tokens import Token, TokenCache, TokenKeeper, is_unauthorized

log = get_logger("providers.kiwoom")

NAME = "kiwoom"
TOKEN_PATH = "/oauth2/token"
CHART_PATH, CHART_API = "/api/dostk/chart", "ka10081"
LIST_PATH, LIST_API = "/api/dostk/stkinfo", "ka10099"
LIST_MARKETS = {"0": "KOSPI", "10": "KOSDAQ"}
TYPE_LISTS = {"8": "etf", "6": "reit"}
MAX_PAGES = 200
THROTTLED = frozenset({1700})  # 허용된 요청 개수를 초과하였습니다
STALE_TOKEN = frozenset({8005, 8010})  # Token이 유효하지 않습니다; issued to another IP
_KEYS = ("app_key", "secret_key")
CREDENTIALS: dict[int, tuple[tuple[str, ...], str]] = {  # code → keys to check, hint
    8001: (_KEYS, ""),  # App Key와 Secret Key 검증에 실패했습니다
    8002: (_KEYS, ""),  # … 검증에 실패했습니다. 실패사유={?}
    8020: (_KEYS, ""),  # 입력파라미터로 appkey 또는 secretkey가 들어오지 않았습니다
    8030: (("app_key", "base_url"), " (a paper-trading key needs mockapi.kiwoom.com)"),
    8031: (("app_key", "base_url"), " (a paper-trading key needs mockapi.kiwoom.com)"),
    8040: (("app_key",), " and the IP address registered for it at openapi.kiwoom.com"),
    8050: (("app_key",), " and the IP address registered for it at openapi.kiwoom.com"),
    8103: (("app_key",), " and the IP address registered for it at openapi.kiwoom.com"),
}
VALUE_UNIT = 1_000_000  # trde_prica is in millions of KRW

CODE = re.compile(r"^[0-9A-Z]{6}$")
_SIGNED = re.compile(r"^[+-]?(\d{1,18})$")
_BRACKET = re.compile(r"\[(\d{3,5})\b")
_BRACKET_TEXT = re.compile(r"\[\d{3,5}:([^\]]+)\]")
_EXPIRY = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$")
_PREFERRED_NAME = re.compile(r"\d?우[A-C]?(?:\(전환\))?$")


class KiwoomProvider(PerTickerProvider):
    """Kiwoom REST over a configurable host (see the module doc)."""

    name = NAME
    ticker_fields = frozenset({"name", "market", "security_type", "listed_on"})

    def __init__(self, client: HttpClient, app_key: str, secret_key: str) -> None:
        super().__init__(client)
        self.base_url = client.settings.base_url
        self._key, self._secret = app_key, secret_key
        cache = TokenCache(NAME, app_key, self.base_url)
        self.tokens = TokenKeeper(client, cache, self._issue_token)

    # ---- the Provider interface -----------------------------------------------------------------
    def fetch_tickers(self) -> list[TickerRow]:
        """KOSPI and KOSDAQ from ``ka10099``; ETF and REIT lists give those security types."""
        kinds = {}
        for market_type, kind in TYPE_LISTS.items():
            kinds.update({item["code"]: kind for item in self._listing(market_type)})
        tickers: dict[str, TickerRow] = {}
        for market_type, market in LIST_MARKETS.items():
            for item in self._listing(market_type):
                code, name = item["code"], _name(item.get("name"))
                kind = kinds.get(code) or _security_type(name or "", code)
                listed = item.get("regDay")
                listed_on = iso_day(listed, f"kiwoom: {code}") if listed else None
                tickers.setdefault(code, TickerRow(code, name, market, kind, listed_on=listed_on))
        if not tickers:
            raise PayloadError("kiwoom: the KOSPI and KOSDAQ lists are empty")
        return sorted(tickers.values(), key=lambda row: row.code)

    def series(self, code: str, first: dt.date, last: dt.date) -> list[BarRow]:
        """The chart back from ``last`` to `LOOKBACK_DAYS` before ``first``."""
        return self._bars(code, first - dt.timedelta(days=LOOKBACK_DAYS), last)

    def fetch_history(self, code: str, start: dt.date, end: dt.date) -> list[BarRow]:
        """Adjusted bars of ``code`` dated ``start`` … ``end``, ascending (all pages)."""
        return self._bars(code, start, end)

    def fetch_index(self, index_code: str, start: dt.date, end: dt.date) -> list[IndexBarRow]:
        """Not taken from Kiwoom: [] (naver or kis serve index bars; engines use proxy ETFs)."""
        return []

    # ---- requests ---------------------------------------------------------------------------
    def _bars(self, code: str, start: dt.date, end: dt.date) -> list[BarRow]:
        first, last = start.isoformat(), end.isoformat()
        body = {"stk_cd": code, "base_dt": end.strftime("%Y%m%d"), "upd_stkpc_tp": "1"}
        where = f"kiwoom: chart {code}"
        rows: dict[str, BarRow] = {}
        for payload in self._pages(CHART_PATH, CHART_API, body, where):
            answered = str(payload.get("stk_cd") or code).removeprefix("A").split("_")[0]
            if answered != code:
                raise PayloadError(f"{where}: the reply is for {answered[:12]!r}")
            items = payload.get("stk_dt_pole_chart_qry")
            if not isinstance(items, list):
                raise PayloadError(f"{where}: no stk_dt_pole_chart_qry list in the reply")
            dates = [_bar(code, item, where) for item in items]
            fresh = {row[0]: row for row in dates if row is not None and first <= row[0] <= last}
            if not fresh.keys() - rows.keys() and rows:
                break  # a page with nothing new: stop rather than loop
            rows.update(fresh)
            days = [row[0] for row in dates if row is not None]
            if not days or min(days) <= first:
                break
        return [rows[day] for day in sorted(rows)]

    def _listing(self, market_type: str) -> list[dict[str, Any]]:
        where = f"kiwoom: list {market_type}"
        found: dict[str, dict[str, Any]] = {}
        for payload in self._pages(LIST_PATH, LIST_API, {"mrkt_tp": market_type}, where):
            items = payload.get("list")
            if not isinstance(items, list):
                raise PayloadError(f"{where}: no 'list' in the reply")
            for item in items:
                code = item.get("code") if isinstance(item, dict) else None
                if isinstance(code, str) and CODE.match(code):
                    found.setdefault(code, item)
        return list(found.values())

    def _pages(
        self, path: str, api_id: str, body: Mapping[str, str], where: str
    ) -> Iterator[dict[str, Any]]:
        """The reply payloads of one request and its continuations (``cont-yn`` / ``next-key``)."""
        key: str | None = None
        for _ in range(MAX_PAGES):
            reply = self._call(path, api_id, body, key)
            yield json_object(reply.content, where)
            more = reply.headers.get("cont-yn", "N").strip().upper() == "Y"
            following = reply.headers.get("next-key", "").strip()
            if not more or not following or following == key:
                return
            key = following
        raise PayloadError(f"{where}: more than {MAX_PAGES} continuation pages")

    def _call(
        self, path: str, api_id: str, body: Mapping[str, str], next_key: str | None
    ) -> HttpResponse:
        """One POST with the token; a refused token is renewed once and the request repeated."""
        token = self.tokens.current()
        for attempt in (1, 2):
            headers = {
                "Content-Type": "application/json;charset=UTF-8",
                "authorization": f"Bearer {token}",
                "api-id": api_id,
                "cont-yn": "Y" if next_key else "N",
                "next-key": next_key or "",
            }
            try:
                return self.client.request(
                    "POST",
                    self.base_url + path,
                    expect="json",
                    json=dict(body),
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
                            f"kiwoom: a freshly issued token was refused too ({exc}); nothing "
                            "more is asked of kiwoom in this run; check [data.kiwoom] app_key / "
                            "secret_key and the IP address registered for them"
                        )
                    ) from None
                token = self.tokens.renew(token)
        raise AssertionError("unreachable")

    def _ok(self, response: HttpResponse) -> None:
        """``check`` of a 2xx reply: return_code 0, or the error its code is."""
        payload = json_object(response.content, f"kiwoom: {response.where}")
        code, message = _return_code(payload)
        if code != 0:
            self._raise_for(code, message, response)

    def _error(self, response: HttpResponse) -> None:
        """``check_error``: a non-2xx reply with a Kiwoom error body is classified by its code;
        one without (a bare 403, an HTML page, a proxy's 502) is left to the status rules."""
        try:
            payload = json_object(response.content, "kiwoom")
            code, message = _return_code(payload)
        except PayloadError:
            return
        if code != 0 and "return_code" in payload:
            self._raise_for(code, message, response)

    def _raise_for(self, code: int, message: str, response: HttpResponse) -> None:
        """Raise what ``code`` means (module doc); returns only for an unknown code in a 5xx,
        429 or 401 reply, which the status rules handle."""
        status, where = response.status, response.where
        text = self.client.redact(f"kiwoom: {where}: return code {code}: {message}")
        kind = classify(code)
        if kind == "throttled":
            raise Throttled(text)
        if kind == "stale_token":
            raise StaleToken(text, status)
        if kind == "credentials":
            keys, hint = CREDENTIALS[code]
            said = _BRACKET_TEXT.search(message)  # "…[8001:App Key와 …]" → its own words
            detail = self.client.redact(said.group(1).strip() if said else message)
            raise credentials_rejected(NAME, str(code), detail, keys, hint)
        if status == 429 or status >= 500 or status == 401:
            return
        if status == 403:
            text += " (HTTP 403 with a Kiwoom error body: the API's answer, not a block)"
        raise SourceError(text, status if status >= 300 else None)

    def _issue_token(self) -> Token:
        body = {"grant_type": "client_credentials", "appkey": self._key, "secretkey": self._secret}
        try:
            reply = self.client.request(
                "POST",
                self.base_url + TOKEN_PATH,
                expect="json",
                json=body,
                check=self._ok,
                check_error=self._error,
            )
        except StaleToken as exc:  # a token code while asking for a token: not a renewal case
            raise SourceExhausted(f"{exc}; no access token could be issued") from None
        except SourceError as exc:
            if is_unauthorized(exc):  # HTTP 401 without a Kiwoom code (a code is classified)
                raise credentials_rejected(NAME, "HTTP 401", "", _KEYS) from None
            raise
        payload = json_object(reply.content, "kiwoom: token")
        value = payload.get("token")
        if not isinstance(value, str) or not value.strip():
            raise PayloadError("kiwoom: the token reply has no token")
        self.client.add_secret(value)
        return Token(value, _expiry(payload.get("expires_dt")))


def classify(code: int) -> str:
    """What a Kiwoom code means to scanctl: ``throttled``, ``stale_token``, ``credentials`` or
    ``other`` (see the module doc)."""
    if code in THROTTLED:
        return "throttled"
    if code in STALE_TOKEN:
        return "stale_token"
    if code in CREDENTIALS:
        return "credentials"
    return "other"


def _return_code(payload: Mapping[str, Any]) -> tuple[int, str]:
    """``(code, message)``: 0 for success, else the bracketed code of the message or the
    return code (a missing return code counts as success: the token reply may omit it)."""
    raw = payload.get("return_code", 0)
    message = "".join(ch if ch.isprintable() else " " for ch in str(payload.get("return_msg", "")))
    message = " ".join(message.split())[:120]
    try:
        code = int(str(raw).strip())
    except ValueError:
        raise PayloadError(f"kiwoom: return_code {str(raw)[:12]!r} is not a number") from None
    if code == 0:
        return 0, message
    bracket = _BRACKET.search(message)
    return (int(bracket.group(1)) if bracket else code), message


def _bar(code: str, item: Any, where: str) -> BarRow | None:
    if not isinstance(item, dict):
        raise PayloadError(f"{where}: a chart row is a {type(item).__name__}")
    if not item.get("dt"):
        return None
    day = iso_day(item["dt"], where)
    names = ("open_pric", "high_pric", "low_pric", "cur_prc", "trde_qty")
    values = [_unsigned(item.get(name), f"{where} {day}") for name in names]
    value = item.get("trde_prica")
    traded = _unsigned(value, f"{where} {day}") * VALUE_UNIT if value not in (None, "") else None
    return halted_row(code, day, values, traded)


def _unsigned(text: Any, where: str) -> int:
    match = _SIGNED.match(text) if isinstance(text, str) else None
    if match is None:
        raise PayloadError(f"{where}: {str(text)[:20]!r} is not a whole number")
    return int(match.group(1))


def _name(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _security_type(name: str, code: str) -> str:
    if "ETN" in name.upper():
        return "etn"
    if "스팩" in name:
        return "spac"
    if _PREFERRED_NAME.search(name) and not code.endswith("0"):
        return "preferred"
    return "stock"


def _expiry(stamp: Any) -> dt.datetime:
    match = _EXPIRY.match(stamp) if isinstance(stamp, str) else None
    try:
        if match is None:
            raise ValueError
        return dt.datetime(*(int(part) for part in match.groups()), tzinfo=now_kst().tzinfo)
    except ValueError:
        raise PayloadError(
            f"kiwoom: the token reply has no usable expires_dt ({str(stamp)[:16]!r})"
        ) from None


@dataclass(frozen=True)
class KiwoomOptions(ProviderOptions):
    """The ``[data.kiwoom]`` keys besides the HTTP ones: the app's credentials."""

    app_key: str = setting(None, "the Kiwoom REST API app key", kind="text", secret=True)
    secret_key: str = setting(None, "the Kiwoom REST API secret key", kind="text", secret=True)


def _build(config: ProviderConfig, client: HttpClient) -> KiwoomProvider:
    options = config.options
    return KiwoomProvider(client, str(options["app_key"]), str(options["secret_key"]))


SPEC = ProviderSpec(
    name=NAME,
    build=_build,
    http_defaults={"base_url": "https://api.kiwoom.com", "rate_per_s": 4.0},
    options=KiwoomOptions,
    required=frozenset({"app_key", "secret_key"}),
)
