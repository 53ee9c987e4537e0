"""The ``naver`` provider (default, no key): Naver Finance's chart and market-listing endpoints.

Endpoints (ECOSYSTEM.md §1.3; unofficial, undocumented by Naver, shapes as public clients use
them):

* **Chart** ``GET {base_url}/sise.nhn?symbol=CODE&timeframe=day&count=N&requestType=0`` →
  EUC-KR XML, the last N daily bars up to today::

      <?xml version="1.0" encoding="EUC-KR" ?><protocol>
      <chartdata symbol="005930" name="삼성전자" count="3" timeframe="day" precision="0" …>
      <item data="20251127|53700|54200|52400|53400|14223500" />
      …</chartdata></protocol>

  Prices are **adjusted** (수정주가): after a split Naver restates the whole history. There is
  no traded-value column (``value`` is stored NULL; engines use close × volume). A halted day is
  ``date|0|0|0|close|0``; it is stored as ``(close, close, close, close, 0)``, which the panel
  treats as "no bar" (volume 0) while the store keeps the close for the next day's
  corporate-action check. Index bars use the same endpoint with ``symbol=KOSPI`` / ``KOSDAQ``
  (decimal prices). The reply is parsed with a few regular expressions, never an XML parser
  (untrusted input: no entity expansion, no DTDs), and every field is checked (8-digit valid
  dates in ascending order, digits only).
* **Listing** ``GET {listing_url}/api/stocks/marketValue/{KOSPI|KOSDAQ}?page=P&pageSize=100`` →
  UTF-8 JSON ``{totalCount, stocks: [{itemCode, stockName, stockEndType, tradeStopType, …}]}``;
  larger pages are rejected by Naver. Pages 2… are fetched concurrently after page 1 gives the
  total; the listing must hold ≥ 98 % of ``totalCount`` per market (pages shift while prices
  move) or it is a `PayloadError`.

What the listing tells and the defaults for what it does not:

* ``market`` — the market of the listing page; KONEX is not fetched.
* ``security_type`` — ``stockEndType`` etf → ``etf``, etn → ``etn``, stock → ``stock``, other
  values → ``other``, absent → NULL (unknown). Inside ``stock``: a name containing "스팩" →
  ``spac``; a name ending in 우 / 우B / 우(전환) (optionally after a digit) **and** a code not
  ending in 0 → ``preferred`` (both heuristics; ECOSYSTEM.md §1.7). REITs, infrastructure funds
  and foreign stocks cannot be told apart from stocks and are ``stock``.
* ``halted`` — ``tradeStopType.name`` present and not ``TRADING``; else false.
* ``managed`` — Naver does not say: the stored flag is kept (`ticker_fields`), false for new
  codes. ``listed_on`` — not given: the stored value is kept.

Codes are 6 characters of digits and capital letters (``0126Z0``); nothing filters on
``\\d{6}``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from scanctl.clock import today_kst
from scanctl.config import setting
from scanctl.errors import BadInput
from scanctl.logs import get_logger
from scanctl.providers.base import (
    INDEX_CODES,
    BarRow,
    IndexBarRow,
    PayloadError,
    PerTickerProvider,
    ProviderSpec,
    SourceError,
    TickerRow,
)
from scanctl.providers.http import HttpClient
from scanctl.providers.payload import json_object
from scanctl.providers.settings import ProviderConfig, ProviderOptions

log = get_logger("providers.naver")

NAME = "naver"
CHART_PATH = "/sise.nhn"
LISTING_PATH = "/api/stocks/marketValue/{market}"
MARKETS = ("KOSPI", "KOSDAQ")
PAGE_SIZE = 100  # Naver rejects larger pages (prism-insight cores/naver_market_snapshot.py)
LISTING_MIN_SHARE = 0.98
LISTING_MAX_TOTAL = 10_000  # a larger totalCount is garbage, not 100+ pages to fetch
COUNT_MARGIN = 10  # chart bars asked beyond the calendar days back to the first date
HEADERS = {"Referer": "https://finance.naver.com/"}
# The default pace. Naver publishes no limit for these unofficial endpoints (ECOSYSTEM.md §1.3:
# "no documented rate limit"; prism-insight runs 5 workers), so scanctl stays polite: at most 10
# requests a second and 4 in flight. A whole-market sync (2,730 requests) then takes 4 min 33 s
# (README; measured by tests/bench/sync.py); raise them in [data.naver] at your own risk.
RATE_PER_S = 10.0
MAX_IN_FLIGHT = 4

CODE = re.compile(r"^[0-9A-Z]{6}$")
_CHART_OPEN = re.compile(r"<chartdata\b([^<>]*)>")
_ATTRIBUTE = re.compile(r'([A-Za-z_]+)\s*=\s*"([^"<>]*)"')
_ITEM = re.compile(r'<item\s+data\s*=\s*"([^"<>]*)"\s*/>')
_ITEM_TAG = re.compile(r"<item\b")
_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_INTEGER = re.compile(r"^\d{1,15}$")
_DECIMAL = re.compile(r"^\d{1,12}(?:\.\d{1,6})?$")
_PREFERRED_NAME = re.compile(r"\d?우[A-C]?(?:\(전환\))?$")
_END_TYPES = {"stock": "stock", "etf": "etf", "etn": "etn"}


class NaverProvider(PerTickerProvider):
    """Naver Finance over a configurable chart host and listing host (see the module doc)."""

    name = NAME
    ticker_fields = frozenset({"name", "market", "security_type", "halted"})

    def __init__(self, client: HttpClient, listing_url: str) -> None:
        super().__init__(client)
        self.chart_url = client.settings.base_url + CHART_PATH
        self.listing_url = listing_url.rstrip("/") + LISTING_PATH
        client.session.headers.update(HEADERS)

    def fetch_tickers(self) -> list[TickerRow]:
        """KOSPI and KOSDAQ from the market listing (all pages)."""
        firsts = {market: self._listing_page(market, 1) for market in MARKETS}
        pending = [
            (market, page)
            for market, (total, _, _) in firsts.items()
            for page in range(2, math.ceil(total / PAGE_SIZE) + 1)
        ]
        pages, failures = self.client.map(lambda key: self._listing_page(*key), pending)
        if failures:
            (market, page), error = next(iter(failures.items()))
            raise SourceError(
                f"naver: listing {market} page {page} failed ({error}); "
                f"{len(failures)} of {len(pending) + 2} pages failed; the ticker master is "
                "all or nothing"
            )
        by_market = {market: list(first) for market, (_, first, _) in firsts.items()}
        skipped = {market: first_skipped for market, (_, _, first_skipped) in firsts.items()}
        for (market, _), (_, rows, page_skipped) in sorted(pages.items()):
            by_market[market].extend(rows)
            skipped[market] += page_skipped
        tickers: dict[str, TickerRow] = {}
        for market, (total, _, _) in firsts.items():
            before = len(tickers)
            for row in by_market[market]:
                tickers.setdefault(row.code, row)
            found = len(tickers) - before + skipped[market]  # unusable codes were delivered
            if found < LISTING_MIN_SHARE * total:
                raise PayloadError(
                    f"naver: listing {market} holds {found:,} distinct codes of the "
                    f"{total:,} it announces (< {LISTING_MIN_SHARE:.0%}); pages moved or "
                    "were cut; try again after the close"
                )
        return sorted(tickers.values(), key=lambda row: row.code)

    def series(self, code: str, first: dt.date, last: dt.date) -> list[BarRow]:
        """The last bars of ``code``, enough to reach the session before ``first``.

        For each day a code's row is then its bar dated that day, else its latest earlier bar
        (stamped with its own date: the stamped-date gate sees a source that is behind).
        """
        return self._chart(code, self._count_since(first))

    def fetch_history(self, code: str, start: dt.date, end: dt.date) -> list[BarRow]:
        """Adjusted bars of ``code`` dated ``start`` … ``end``."""
        rows = self._chart(code, self._count_since(start))
        first, last = start.isoformat(), end.isoformat()
        return [row for row in rows if first <= row[0] <= last]

    def fetch_index(self, index_code: str, start: dt.date, end: dt.date) -> list[IndexBarRow]:
        """KOSPI or KOSDAQ index bars dated ``start`` … ``end``."""
        if index_code not in INDEX_CODES:
            raise BadInput(f"index {index_code!r}: naver serves {', '.join(INDEX_CODES)}")
        params = _chart_params(index_code, self._count_since(start))
        reply = self.client.get(self.chart_url, params, expect="xml")
        items = parse_chart(reply.content, index_code)
        first, last = start.isoformat(), end.isoformat()
        rows: list[IndexBarRow] = []
        for day, fields in items:
            if first <= day <= last:
                open_, high, low, close = (_decimal(v, index_code, day) for v in fields[:4])
                rows.append(
                    (day, index_code, open_, high, low, close, _integer(fields[4], index_code, day))
                )
        return rows

    def _chart(self, code: str, count: int) -> list[BarRow]:
        reply = self.client.get(self.chart_url, _chart_params(code, count), expect="xml")
        return [_bar(code, day, fields) for day, fields in parse_chart(reply.content, code)]

    def _listing_page(self, market: str, page: int) -> tuple[int, list[TickerRow], int]:
        url = self.listing_url.format(market=market)
        reply = self.client.get(url, {"page": page, "pageSize": PAGE_SIZE}, expect="json")
        return parse_listing(reply.content, market, page)

    def _count_since(self, first: dt.date) -> int:
        """Bars to ask for so that the session before ``first`` is included."""
        return max(COUNT_MARGIN, (today_kst() - first).days + COUNT_MARGIN)


def parse_chart(content: bytes, symbol: str) -> list[tuple[str, list[str]]]:
    """The ``(ISO date, [open, high, low, close, volume])`` items of a chart reply, as text.

    Raises
    ------
    PayloadError
        Not EUC-KR, no ``<chartdata>`` for ``symbol``, truncated (no ``</chartdata>``), a
        malformed ``<item>``, a field count other than 6, an invalid or non-ascending date.
    """
    where = f"naver: chart {symbol}"
    try:
        text = content.decode("euc-kr")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"{where}: not EUC-KR text (byte {exc.start}); garbled reply") from None
    head = _CHART_OPEN.search(text)
    if head is None:
        raise PayloadError(f"{where}: no <chartdata> element in a {len(content):,}-byte reply")
    answered = dict(_ATTRIBUTE.findall(head.group(1))).get("symbol")
    if answered != symbol:
        raise PayloadError(f"{where}: the reply is for symbol {answered!r}")
    end = text.find("</chartdata>", head.end())
    if end < 0:
        raise PayloadError(f"{where}: truncated reply (no </chartdata> after {len(content):,} B)")
    body = text[head.end() : end]
    raw_items = _ITEM.findall(body)
    if len(raw_items) != len(_ITEM_TAG.findall(body)):
        raise PayloadError(f"{where}: malformed <item> element (garbled reply)")
    items: list[tuple[str, list[str]]] = []
    for number, raw in enumerate(raw_items, start=1):
        fields = raw.split("|")
        if len(fields) != 6:
            raise PayloadError(
                f"{where}: item {number} has {len(fields)} fields, expected "
                f"date|open|high|low|close|volume: {raw[:60]!r}"
            )
        day = _iso_day(fields[0], where, number)
        if items and day <= items[-1][0]:
            raise PayloadError(f"{where}: item {number} dated {day} is not after {items[-1][0]}")
        items.append((day, fields[1:]))
    return items


def parse_listing(content: bytes, market: str, page: int) -> tuple[int, list[TickerRow], int]:
    """``(totalCount, ticker rows, rows skipped)`` of one listing page.

    Rows whose ``itemCode`` is not 6 digits/capital letters are skipped (and logged).

    Raises
    ------
    PayloadError
        Not UTF-8 JSON (truncated, garbled), or not ``{totalCount, stocks: [...]}``.
    """
    where = f"naver: listing {market} page {page}"
    payload = json_object(content, where)
    stocks = payload.get("stocks")
    total = payload.get("totalCount")
    if not isinstance(stocks, list) or isinstance(total, bool):
        raise PayloadError(f"{where}: expected an object with a 'stocks' list and 'totalCount'")
    try:
        total = int(str(total).replace(",", ""))
    except ValueError:
        raise PayloadError(f"{where}: totalCount {total!r} is not a number") from None
    if not 0 < total <= LISTING_MAX_TOTAL:
        raise PayloadError(f"{where}: implausible totalCount {total:,}")
    rows, skipped = [], []
    for stock in stocks:
        row = _ticker(stock, market) if isinstance(stock, dict) else None
        if row is None:
            skipped.append(str(stock.get("itemCode") if isinstance(stock, dict) else stock)[:12])
        else:
            rows.append(row)
    if skipped:
        log.warning(
            "listing rows skipped (no valid 6-character code)",
            extra={"fields": {"market": market, "page": page, "codes": ",".join(skipped[:10])}},
        )
    return total, rows, len(skipped)


def _ticker(stock: dict[str, Any], market: str) -> TickerRow | None:
    code = stock.get("itemCode")
    if not isinstance(code, str) or not CODE.match(code):
        return None
    name = stock.get("stockName")
    name = name.strip() if isinstance(name, str) and name.strip() else None
    stop = stock.get("tradeStopType")
    stop_name = stop.get("name") if isinstance(stop, dict) else None
    return TickerRow(
        code=code,
        name=name,
        market=market,
        security_type=_security_type(stock.get("stockEndType"), name or "", code),
        halted=stop_name is not None and stop_name != "TRADING",
    )


def _security_type(end_type: Any, name: str, code: str) -> str | None:
    if not isinstance(end_type, str):
        return None
    kind = _END_TYPES.get(end_type.lower(), "other")
    if kind != "stock":
        return kind
    if "스팩" in name:
        return "spac"
    if _PREFERRED_NAME.search(name) and not code.endswith("0"):
        return "preferred"
    return "stock"


def _chart_params(symbol: str, count: int) -> dict[str, str | int]:
    return {"symbol": symbol, "timeframe": "day", "count": count, "requestType": 0}


def _bar(code: str, day: str, fields: list[str]) -> BarRow:
    open_, high, low, close, volume = (_integer(value, code, day) for value in fields)
    if open_ == high == low == 0 and volume == 0 and close > 0:  # halted: close only
        open_ = high = low = close
    return (day, code, open_, high, low, close, volume, None)


def _iso_day(text: str, where: str, number: int) -> str:
    match = _DAY.match(text)
    try:
        if match is None:
            raise ValueError
        return dt.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        raise PayloadError(f"{where}: item {number} has an invalid date {text[:12]!r}") from None


def _integer(text: str, code: str, day: str) -> int:
    if not _INTEGER.match(text):
        raise PayloadError(f"naver: chart {code} {day}: {text[:20]!r} is not a whole number")
    return int(text)


def _decimal(text: str, code: str, day: str) -> float:
    if not _DECIMAL.match(text):
        raise PayloadError(f"naver: chart {code} {day}: {text[:20]!r} is not a number")
    return float(text)


@dataclass(frozen=True)
class NaverOptions(ProviderOptions):
    """The ``[data.naver]`` keys besides the HTTP ones (``base_url`` is the chart host)."""

    listing_url: str = setting(
        "https://m.stock.naver.com", "the host of the market-listing API", kind="url"
    )


def _build(config: ProviderConfig, client: HttpClient) -> NaverProvider:
    return NaverProvider(client, listing_url=config.options["listing_url"])


SPEC = ProviderSpec(
    name=NAME,
    build=_build,
    http_defaults={
        "base_url": "https://fchart.stock.naver.com",
        "rate_per_s": RATE_PER_S,
        "max_in_flight": MAX_IN_FLIGHT,
    },
    options=NaverOptions,
)
