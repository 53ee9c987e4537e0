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
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

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


class FakeNaver:
    """The fake source: ``stocks`` by code, ``indexes`` by symbol, scripted misbehaviour."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.stocks: dict[str, Listed] = {}
        self.indexes: dict[str, list[tuple[str, ...]]] = {}
        self.scripts: dict[tuple[str, str], deque[Reply | Callable[[], Reply]]] = defaultdict(deque)
        self.log: list[tuple[str, dict[str, str]]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ---- data -------------------------------------------------------------------------------
    def add(self, stock: Listed) -> Listed:
        self.stocks[stock.code] = stock
        return stock

    def script(self, path: str, key: str, *replies: Reply | Callable[[], Reply]) -> None:
        """Serve ``replies`` first for ``path`` and ``key`` (a symbol, or ``MARKET:page``)."""
        self.scripts[(path, key)].extend(replies)

    def requests_for(self, path: str, key: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for p, query in self.log
                if p == path and (key is None or key in (query.get("symbol"), query.get("_key")))
            )

    # ---- server -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeNaver:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms stall)

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                fake._serve(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeNaver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        key = query.get("symbol", "")
        if parts.path.startswith("/api/stocks/marketValue/"):
            key = f"{parts.path.rsplit('/', 1)[-1]}:{query.get('page', '1')}"
        with self._lock:
            self.log.append((parts.path, {**query, "_key": key}))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            script = self.scripts.get((parts.path, key))
            scripted = script.popleft() if script else None
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
            reply = scripted() if callable(scripted) else scripted
            if reply is None:
                reply = self._normal(parts.path, query)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _normal(self, path: str, query: dict[str, str]) -> Reply:
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
