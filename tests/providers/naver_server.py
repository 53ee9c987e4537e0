"""A local stand-in for Naver Finance (127.0.0.1 only), used by the provider tests and the bench.

It speaks the two shapes scanctl reads, written from their public descriptions (ECOSYSTEM.md
§1.3), in the sources' encodings:

* ``GET /sise.nhn?symbol=CODE&timeframe=day&count=N&requestType=0`` → EUC-KR XML, the last N
  ``<item data="YYYYMMDD|open|high|low|close|volume" />`` of the symbol (a halted day is
  ``date|0|0|0|close|0``; index symbols carry decimals);
* ``GET /api/stocks/marketValue/{KOSPI|KOSDAQ}?page=P&pageSize=S`` → UTF-8 JSON
  ``{totalCount, page, pageSize, stocks: [{itemCode, stockName, stockEndType, sosok, …}]}``.

A test scripts misbehaviour with `FakeNaver.script`: replies (status, body, headers, delay)
served, in order, to the next requests for a path and symbol (or market page) before the
normal data. The server is threaded, adds an optional latency to every request, logs every
request and records the most requests it ever had in flight.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.providers.scripted_server import Scripted, Seen

XML_TYPE = "text/xml;charset=EUC-KR"
JSON_TYPE = "application/json;charset=UTF-8"
BLOCK_PAGE = (
    "<!DOCTYPE html><html><head><title>서비스 이용이 제한되었습니다</title></head>"
    "<body>비정상적인 접근이 감지되었습니다.</body></html>"
).encode()


@dataclass(frozen=True)
class Reply:
    """One scripted reply."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_type: str = XML_TYPE


@dataclass
class Listed:
    """A stock in the fake market: its listing entry and its daily bars (text fields)."""

    code: str
    name: str
    market: str = "KOSPI"
    end_type: str = "stock"
    trading: bool = True
    bars: list[tuple[str, ...]] = field(default_factory=list)  # (YYYYMMDD, o, h, l, c, v)


def chart_xml(symbol: str, name: str, items: Sequence[Sequence[str]], precision: int = 0) -> bytes:
    """A chart reply in Naver's shape, EUC-KR encoded."""
    lines = [
        '<?xml version="1.0" encoding="EUC-KR" ?>',
        "<protocol>",
        f'<chartdata symbol="{symbol}" name="{name}" count="{len(items)}" timeframe="day" '
        f'precision="{precision}" origintime="19900103">',
        *(f'<item data="{"|".join(item)}" />' for item in items),
        "</chartdata>",
        "</protocol>",
    ]
    return "\n".join(lines).encode("euc-kr")


def listing_json(stocks: Sequence[Listed], total: int, page: int, page_size: int) -> bytes:
    """A market-listing page in Naver's shape (UTF-8 JSON, *Raw fields as strings)."""
    entries = []
    for stock in stocks:
        close = stock.bars[-1][4] if stock.bars else "0"
        entries.append(
            {
                "stockEndType": stock.end_type,
                "itemCode": stock.code,
                "reutersCode": stock.code,
                "stockName": stock.name,
                "sosok": "0" if stock.market == "KOSPI" else "1",
                "closePrice": f"{int(close):,}",
                "closePriceRaw": close,
                "compareToPreviousClosePriceRaw": "0",
                "compareToPreviousPrice": {"code": "3", "text": "보합", "name": "EVEN"},
                "accumulatedTradingVolumeRaw": stock.bars[-1][5] if stock.bars else "0",
                "accumulatedTradingValueRaw": "0",
                "marketValueRaw": "0",
                "localTradedAt": "2025-11-28T16:10:00+09:00",
                "tradeStopType": (
                    {"code": "1", "text": "매매", "name": "TRADING"}
                    if stock.trading
                    else {"code": "2", "text": "거래정지", "name": "STOP"}
                ),
            }
        )
    payload = {"stocks": entries, "totalCount": total, "page": page, "pageSize": page_size}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


class FakeNaver(Scripted):
    """The fake source: ``stocks`` by code, ``indexes`` by symbol, scripted misbehaviour."""

    def __init__(self, latency_s: float = 0.0) -> None:
        super().__init__()
        self.latency_s = latency_s
        self.stocks: dict[str, Listed] = {}
        self.indexes: dict[str, list[tuple[str, ...]]] = {}

    # ---- data -------------------------------------------------------------------------------
    def add(self, stock: Listed) -> Listed:
        self.stocks[stock.code] = stock
        return stock

    @property
    def log(self) -> list[tuple[str, dict[str, str]]]:  # type: ignore[override]
        """Every request as (path, query with its script key under ``_key``)."""
        return [(seen.path, {**seen.args, "_key": seen.key}) for seen in self.seen()]

    def requests_for(self, path: str, key: str | None = None) -> int:
        return sum(
            1
            for p, query in self.log
            if p == path and (key is None or key in (query.get("symbol"), query.get("_key")))
        )

    # ---- the scripted server's hooks --------------------------------------------------------
    def key(self, request: Seen) -> str:
        """A symbol, or ``MARKET:page`` for the listing (see `Scripted.script`)."""
        if request.path.startswith("/api/stocks/marketValue/"):
            return f"{request.path.rsplit('/', 1)[-1]}:{request.args.get('page', '1')}"
        return request.args.get("symbol", "")

    def normal(self, request: Seen) -> Reply:  # type: ignore[override]
        return self.reply_for(request.path, request.args)

    def reply_for(self, path: str, query: dict[str, str]) -> Reply:
        """The documented reply to ``path`` with ``query`` (what an unscripted request gets)."""
        if path == "/sise.nhn":
            symbol, count = query.get("symbol", ""), int(query.get("count", "10"))
            if symbol in self.indexes:
                items = self.indexes[symbol][-count:]
                return Reply(body=chart_xml(symbol, symbol, items, precision=2))
            stock = self.stocks.get(symbol)
            if stock is None:  # Naver answers an unknown symbol with an empty chart
                return Reply(body=chart_xml(symbol, "", []))
            return Reply(body=chart_xml(symbol, stock.name, stock.bars[-count:]))
        if path.startswith("/api/stocks/marketValue/"):
            market = path.rsplit("/", 1)[-1]
            page, size = int(query.get("page", "1")), int(query.get("pageSize", "20"))
            if size > 100:
                return Reply(400, b'{"message":"pageSize"}', content_type=JSON_TYPE)
            listed = [s for s in self.stocks.values() if s.market == market]
            chunk = listed[(page - 1) * size : page * size]
            return Reply(body=listing_json(chunk, len(listed), page, size), content_type=JSON_TYPE)
        return Reply(404, b"not found", content_type="text/plain")


# ---- a deterministic market ---------------------------------------------------------------


def compact(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def steady_bars(
    sessions: Sequence[dt.date], base: int, volume: int = 1_000
) -> list[tuple[str, ...]]:
    """Valid bars around ``base``: close moves in a small saw-tooth, wicks on both sides."""
    bars = []
    for number, day in enumerate(sessions):
        close = base + (number % 7) * 10
        open_ = close - 5
        bars.append(
            (compact(day), str(open_), str(close + 10), str(close - 10), str(close), str(volume))
        )
    return bars


def build_market(
    fake: FakeNaver, sessions: Sequence[dt.date], n_kospi: int, n_kosdaq: int
) -> list[Listed]:
    """``n_kospi`` + ``n_kosdaq`` stocks with bars on ``sessions`` and both indexes."""
    stocks = []
    for number in range(n_kospi + n_kosdaq):
        market = "KOSPI" if number < n_kospi else "KOSDAQ"
        code = f"{100_000 + number * 10:06d}"
        name = f"테스트{number}전자"
        bars = steady_bars(sessions, base=1_000 + 37 * number, volume=1_000 + number)
        stocks.append(fake.add(Listed(code, name, market, bars=bars)))
    for symbol, level in (("KOSPI", 2_500), ("KOSDAQ", 700)):
        fake.indexes[symbol] = [
            (compact(day), f"{level + n}.15", f"{level + n + 9}.50", f"{level + n - 9}.25",
             f"{level + n}.75", "385014")
            for n, day in enumerate(sessions)
        ]  # fmt: skip
    return stocks
