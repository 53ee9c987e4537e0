"""A scripted fake source on 127.0.0.1, the base of the fake KIS, Kiwoom and KRX Open API.

A stdlib ``ThreadingHTTPServer`` (like ``naver_server``) rather than pytest-httpserver: the
werkzeug development server drops request headers that contain an underscore, and the sources
use such headers (KIS ``tr_id``, KRX ``AUTH_KEY``).

One handler answers every request: a test scripts misbehaviour with `Scripted.script` (replies
served, in order, to the next requests for a path and key before the normal data); a subclass
supplies `key` (which request is which: a code, a market and date…) and `normal` (the documented
reply shape). Every request is logged with its headers, query and JSON body, and the most
requests ever in flight at once are recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

JSON_TYPE = "application/json;charset=UTF-8"
BLOCK_PAGE = (
    "<!DOCTYPE html><html><head><title>접근이 차단되었습니다</title></head>"
    "<body>비정상적인 접근이 감지되었습니다.</body></html>"
).encode()


@dataclass(frozen=True)
class Reply:
    """One reply: status, body, extra headers, a delay before answering."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_type: str = JSON_TYPE


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, dict(headers or {}))


@dataclass(frozen=True)
class Seen:
    """One request as the server received it (header names lower-cased)."""

    method: str
    path: str
    key: str
    headers: dict[str, str]
    args: dict[str, str]
    body: Any


class Scripted:
    """The scripted server (see the module docstring); subclasses define `key` and `normal`."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], deque[Reply | Callable[[], Reply]]] = defaultdict(deque)
        self.requests: list[Seen] = []
        self.latency_s = 0.0  # added to every reply (benchmarks)
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ---- what a subclass defines ----------------------------------------------------------------
    def key(self, request: Seen) -> str:
        return ""

    def normal(self, request: Seen) -> Reply:
        return Reply(404, b"not found", content_type="text/plain")

    # ---- scripting and inspection ---------------------------------------------------------------
    @property
    def log(self) -> list[Seen]:
        """Every request received, in order."""
        return self.requests

    def script(self, path: str, key: str, *replies: Reply | Callable[[], Reply]) -> None:
        """Serve ``replies`` first for ``path`` and ``key``."""
        with self._lock:
            self.scripts[(path, key)].extend(replies)

    def seen(self, path: str | None = None, key: str | None = None) -> list[Seen]:
        with self._lock:
            return [
                s
                for s in self.requests
                if (path is None or s.path == path) and (key is None or s.key == key)
            ]

    # ---- server ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Scripted:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                fake._serve(self)

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
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

    def __enter__(self) -> Scripted:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        args = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        headers = {name.lower(): value for name, value in handler.headers.items()}
        request = Seen(handler.command, parts.path, "", headers, args, body)
        request = Seen(request.method, parts.path, self.key(request), headers, args, body)
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            queue = self.scripts.get((request.path, request.key))
            scripted = queue.popleft() if queue else None
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
            reply = scripted() if callable(scripted) else scripted
            if reply is None:
                reply = self.normal(request)
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
