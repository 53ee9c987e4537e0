"""The ``krx-openapi`` provider: the official KRX Open API (``AUTH_KEY``), whole market per date.

Endpoints (openapi.krx.co.kr; ECOSYSTEM.md §1.2): ``GET {base_url}/svc/apis/sto/stk_bydd_trd``
(KOSPI) and ``…/sto/ksq_bydd_trd`` (KOSDAQ) with ``basDd=YYYYMMDD`` and the key in an
``AUTH_KEY`` header → UTF-8 JSON ``{"OutBlock_1": [{BAS_DD, ISU_CD, ISU_NM, MKT_NM, SECT_TP_NM,
TDD_OPNPRC, TDD_HGPRC, TDD_LWPRC, TDD_CLSPRC, CMPPREVDD_PRC, FLUC_RT, ACC_TRDVOL, ACC_TRDVAL,
MKTCAP, LIST_SHRS}, …]}``. ``ISU_CD`` is the short code (a 12-character ISIN is cut to its code).
Numbers are text and may carry thousands separators (``"4,210"``) and a sign (``CMPPREVDD_PRC``);
``-`` or an empty field reads as 0.

What it is for: **backfill** (one request per market and date, ~500 for a year) and
**reconciling yesterday's bars**. What it is not:

* **A day late.** KRX publishes a date the next morning (D+1). Asked for a date it has not
  published (or a holiday) it answers an empty ``OutBlock_1``: every code is then missing and
  the coverage and stamped-date gates fail cleanly (exit 3, nothing written).
* **Unadjusted.** Prices are the exchange's raw prices; ``TDD_CLSPRC − CMPPREVDD_PRC`` (the
  exchange's base price, adjusted for a split on that day) is the `PreviousClose` (``date=None``:
  the sync compares it with the stored close of the calendar's previous session).
* **No per-ticker history.** `fetch_history` raises `SourceError`: a corporate action found on a
  KRX date cannot be repaired from KRX, so the sync writes no bar for that ticker that day,
  records ``corporate_action_failed`` and keeps its stored history; a later sync of that date
  from naver / kis / kiwoom refetches the adjusted history.
* **No index bars** (`fetch_index` returns []: the index services need their own approval).
* **No exclusion flags.** The ticker master (`fetch_tickers`, from the latest published date)
  gives names and the market of the service (``MKT_NM`` may say ``KOSDAQ GLOBAL``); the stored
  security type and managed / halted flags are kept (`ticker_fields`), unknown / false for new
  codes. The daily trading services cover stocks (common, preferred, REITs, SPACs), not ETFs or
  ETNs.

Errors. Each service must be applied for and approved separately: an unapproved service, like a
wrong key, answers HTTP 401 ``{"respMsg": "Unauthorized API Call", "respCode": "401"}``
(NomaDamas/k-skill #99; the same body in a 200 reply is read the same way). That is
`CredentialsRejected`: exit 2, naming ``[data.krx-openapi] auth_key`` and the approval to check;
never retried, never a breaker. It is the only error KRX documents to us. A daily call quota is
cited by public clients (10,000 calls, **unverified**; the reply that enforces it is unknown), so
a quota reply is not recognised: a 429 is retried like any, another ``respCode`` fails the
request. No block code is documented for the Open API either (the 403 / error-page blocks of
ECOSYSTEM.md §1.1 are the data.krx.co.kr portal's): a 403 or an HTML page opens the breaker,
the shared client's conservative default for an unknown refusal.

A halted issue (close only: open/high/low and volume 0) is stored as ``(close ×4, 0)``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanctl.clock import today_kst
from scanctl.config import setting
from scanctl.logs import get_logger
from scanctl.providers.base import (
    BarRow,
    DayBars,
    IndexBarRow,
    PayloadError,
    PreviousClose,
    Progress,
    ProviderBase,
    ProviderSpec,
    SourceError,
    TickerRow,
    credentials_rejected,
)
from scanctl.providers.http import HttpClient, HttpResponse
from scanctl.providers.payload import halted_row, iso_day, json_object
from scanctl.providers.settings import ProviderConfig, ProviderOptions

log = get_logger("providers.krx_openapi")

NAME = "krx-openapi"
SERVICES = {"KOSPI": "/svc/apis/sto/stk_bydd_trd", "KOSDAQ": "/svc/apis/sto/ksq_bydd_trd"}
MASTER_LOOKBACK_DAYS = 10  # the ticker master comes from the latest published date this recent
CODE = re.compile(r"^[0-9A-Z]{6}$")
_ISIN = re.compile(r"^KR[0-9A-Z]([0-9A-Z]{6})[0-9A-Z]{3}$")
_NUMBER = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+|\d{1,18})$")
_APPLY = "; apply for the service at openapi.krx.co.kr (each one is approved separately)"


@dataclass(frozen=True)
class KrxRow:
    """One issue of a daily-trading reply: its bar and base price, or why it has none."""

    code: str
    name: str | None
    bar: BarRow | None
    previous: int | None
    problem: str | None = None


class KrxOpenApiProvider(ProviderBase):
    """The KRX Open API's daily trading services (see the module doc)."""

    name = NAME
    ticker_fields = frozenset({"name", "market"})

    def __init__(self, client: HttpClient, auth_key: str) -> None:
        super().__init__(client)
        self.base_url = client.settings.base_url
        self._headers = {"AUTH_KEY": auth_key}
        self._replies: dict[tuple[str, str], list[KrxRow]] = {}

    def fetch_tickers(self) -> list[TickerRow]:
        """Names and markets from the latest date KRX has published (within 10 days)."""
        today = today_kst()
        for back in range(MASTER_LOOKBACK_DAYS + 1):
            day = today - dt.timedelta(days=back)
            if day.weekday() >= 5:
                continue
            kospi = self._market("KOSPI", day, keep=True)
            if not kospi:
                continue
            kosdaq = self._market("KOSDAQ", day, keep=True)
            if not kosdaq:
                raise SourceError(
                    f"krx-openapi: {day} has KOSPI rows but no KOSDAQ rows; publication "
                    "incomplete, try again later"
                )
            tickers: dict[str, TickerRow] = {}
            for market, rows in (("KOSPI", kospi), ("KOSDAQ", kosdaq)):
                for row in rows:
                    tickers.setdefault(row.code, TickerRow(row.code, row.name, market))
            return sorted(tickers.values(), key=lambda ticker: ticker.code)
        raise SourceError(
            f"krx-openapi: nothing published in the {MASTER_LOOKBACK_DAYS} days up to {today} "
            "(an empty OutBlock_1 every day); check that the daily trading services are "
            "approved for this AUTH_KEY"
        )

    def fetch_bars(
        self, day: dt.date, codes: Sequence[str], progress: Progress | None = None
    ) -> DayBars:
        """The bars of ``day``: one request per market, rows stamped with ``BAS_DD``."""
        rows: list[BarRow] = []
        previous: dict[str, PreviousClose] = {}
        missing: dict[str, str] = {}
        found: dict[str, KrxRow] = {}
        empty = []
        for market in SERVICES:
            reply = self._market(market, day)
            if not reply:
                empty.append(market)
            for row in reply:
                found.setdefault(row.code, row)
        for code in codes:
            row = found.get(code)
            if row is None:
                missing[code] = self._absent(code, day, empty)
            elif row.bar is None:
                missing[code] = row.problem or f"krx-openapi: {code}: no bar"
            else:
                rows.append(row.bar)
                if row.previous is not None and row.previous > 0:
                    previous[code] = PreviousClose(None, row.previous)
        if progress is not None:
            progress(len(codes), len(codes))
        return DayBars(day, rows, previous, missing)

    def fetch_history(self, code: str, start: dt.date, end: dt.date) -> list[BarRow]:
        """Not available: KRX serves one unadjusted whole-market snapshot per date."""
        raise SourceError(
            f"krx-openapi: no per-ticker history for {code} ({start} … {end}): the KRX Open API "
            "serves one unadjusted whole-market snapshot per date; refetch the adjusted history "
            "by syncing that date from another provider (`scanctl data sync --source naver "
            "--date D`, or kis / kiwoom)"
        )

    def fetch_index(self, index_code: str, start: dt.date, end: dt.date) -> list[IndexBarRow]:
        """Not taken from KRX: [] (naver or kis serve index bars; engines use proxy ETFs)."""
        return []

    # ---- requests ---------------------------------------------------------------------------
    def _market(self, market: str, day: dt.date, keep: bool = False) -> list[KrxRow]:
        """The rows of one market and date; ``keep`` them for a later `fetch_bars` of that date
        (only the master's date is kept: a year's backfill would hold ~1.4 M rows)."""
        stamp = day.strftime("%Y%m%d")
        cached = self._replies.get((market, stamp))
        if cached is not None:
            return cached
        url = self.base_url + SERVICES[market]
        reply = self.client.get(
            url,
            {"basDd": stamp},
            expect="json",
            headers=self._headers,
            check=self._ok,
            check_error=self._error,
        )
        rows = parse_daily(reply.content, market, day)
        if keep:
            self._replies[(market, stamp)] = rows
        return rows

    def _ok(self, response: HttpResponse) -> None:
        """``check``: an error object (``respCode`` / ``respMsg``) instead of ``OutBlock_1``."""
        payload = json_object(response.content, f"krx-openapi: {response.where}")
        if "OutBlock_1" in payload or not {"respCode", "respMsg"} & payload.keys():
            return  # data, or a shape `parse_daily` refuses
        code = str(payload.get("respCode", ""))[:8]
        message = " ".join(str(payload.get("respMsg", "")).split())[:120]
        text = self.client.redact(f"krx-openapi: {response.where}: {code} {message}".strip())
        if code == "401":
            detail = self.client.redact(f"{message} for {response.where}")
            raise credentials_rejected(NAME, "respCode 401", detail, ["auth_key"], _APPLY)
        raise SourceError(text)

    def _error(self, response: HttpResponse) -> None:
        """``check_error``: only HTTP 401 is documented (any body); the rest is left to the
        status rules (429 / 5xx retried, 403 a block, other 4xx a failure)."""
        if response.status == 401:
            payload = _json_or_none(response.content)
            message = " ".join(str((payload or {}).get("respMsg", "")).split())[:120]
            detail = self.client.redact(f"{message or 'Unauthorized'} for {response.where}")
            raise credentials_rejected(NAME, "HTTP 401", detail, ["auth_key"], _APPLY)

    @staticmethod
    def _absent(code: str, day: dt.date, empty: list[str]) -> str:
        if len(empty) == len(SERVICES):
            return (
                f"krx-openapi: {day} is empty in KOSPI and KOSDAQ: not published yet (KRX "
                "publishes a date the next morning) or not a session"
            )
        return f"krx-openapi: {code} is not in the KRX replies for {day}"


def _json_or_none(content: bytes) -> Mapping[str, Any] | None:
    try:
        return json_object(content, NAME)
    except PayloadError:
        return None


def parse_daily(content: bytes, market: str, day: dt.date) -> list[KrxRow]:
    """The rows of one daily-trading reply; a row whose fields do not parse carries a problem
    (its code is then missing for the coverage gate), a row without a usable code is skipped.

    Raises
    ------
    PayloadError
        Not UTF-8 JSON (truncated, garbled) or no ``OutBlock_1`` list.
    """
    where = f"krx-openapi: {market} {day}"
    payload = json_object(content, where)
    block = payload.get("OutBlock_1")
    if not isinstance(block, list):
        raise PayloadError(f"{where}: no OutBlock_1 list in the reply")
    rows: dict[str, KrxRow] = {}
    skipped = 0
    for item in block:
        code = None
        if isinstance(item, dict):
            code = _code(item.get("ISU_SRT_CD") or item.get("ISU_CD"))
        if code is None:
            skipped += 1
            continue
        rows.setdefault(code, _row(code, item, where))
    if skipped:
        log.warning(
            "KRX rows without a usable code skipped",
            extra={"fields": {"market": market, "date": day.isoformat(), "rows": skipped}},
        )
    return list(rows.values())


def _row(code: str, item: Mapping[str, Any], where: str) -> KrxRow:
    name = item.get("ISU_NM") or item.get("ISU_ABBRV")
    name = " ".join(name.split()) if isinstance(name, str) and name.strip() else None
    try:
        stamp = iso_day(item.get("BAS_DD"), f"{code} BAS_DD")
        fields = ("TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "TDD_CLSPRC", "ACC_TRDVOL")
        open_, high, low, close, volume = (_number(item.get(f), f, code) for f in fields)
        value = _number(item.get("ACC_TRDVAL"), "ACC_TRDVAL", code)
        change = _number(item.get("CMPPREVDD_PRC"), "CMPPREVDD_PRC", code, signed=True)
    except PayloadError as exc:
        return KrxRow(code, name, None, None, f"{where}: {exc}")
    if close <= 0:
        return KrxRow(code, name, None, None, f"{where}: {code} has no close (no trade)")
    bar = halted_row(code, stamp, (open_, high, low, close, volume), value)
    return KrxRow(code, name, bar, close - change)


def _code(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().removeprefix("A")
    if CODE.match(text):
        return text
    isin = _ISIN.match(text)
    return isin.group(1) if isin else None


def _number(text: Any, field: str, code: str, signed: bool = False) -> int:
    if text is None or (isinstance(text, str) and text.strip() in ("", "-")):
        return 0
    match = _NUMBER.match(text.strip()) if isinstance(text, str) else None
    if match is None or (match.group(1) and not signed):
        raise PayloadError(f"{code} {field} = {str(text)[:20]!r} is not a number")
    number = int(match.group(2).replace(",", ""))
    return -number if match.group(1) == "-" else number


@dataclass(frozen=True)
class KrxOpenApiOptions(ProviderOptions):
    """The ``[data.krx-openapi]`` keys besides the HTTP ones: the service key."""

    auth_key: str = setting(
        None, "the KRX Open API service key (AUTH_KEY header)", kind="text", secret=True
    )


def _build(config: ProviderConfig, client: HttpClient) -> KrxOpenApiProvider:
    return KrxOpenApiProvider(client, str(config.options["auth_key"]))


SPEC = ProviderSpec(
    name=NAME,
    build=_build,
    http_defaults={"base_url": "https://data-dbg.krx.co.kr", "rate_per_s": 5.0},
    options=KrxOpenApiOptions,
    required=frozenset({"auth_key"}),
)
