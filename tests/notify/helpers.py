"""Shared builders for the notifier tests (secrets here are fake but realistically shaped)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from scanctl.config import Config
from scanctl.notify.config import NotifySettings, load_notify_settings

TELEGRAM_TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ra"
SOLAPI_KEY = "NCSAYU7YDBXYORXC"
SOLAPI_SECRET = "ULJ1ICZKN3TAX0VTVBLHE1EHXJ6YDQ7S"
WEBHOOK_TOKEN = "Zk3wQ9vT7mB2xR8pL4sN6dH1jF5gC0aE"


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def settings_for(channels: dict[str, dict[str, Any]], **notify: Any) -> NotifySettings:
    """NotifySettings through the real parser, as if read from a config file."""
    return load_notify_settings(Config(sections={"notify": {**notify, "channels": channels}}))


def telegram(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    base = server.url_for("/").rstrip("/")
    return {
        "type": "telegram",
        "bot_token": TELEGRAM_TOKEN,
        "chat_id": "-100200",
        **extra,
        "base_url": base,
    }


def solapi(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {
        "type": "solapi",
        "api_key": SOLAPI_KEY,
        "api_secret": SOLAPI_SECRET,
        "pf_id": "KA01PF2501010000000000000000000",
        "template_id": "KA01TP2501010000000000000000000",
        "from": "02-1234-5678",
        "to": ["010-1234-5678", "01098765432"],
        "base_url": server.url_for("/").rstrip("/"),
        "alerts": False,
        **extra,
    }


def webhook(server: HTTPServer, path: str, type_: str = "webhook", **extra: Any) -> dict:
    """A webhook-style channel whose secret token is the last path segment."""
    return {"type": type_, "webhook_url": server.url_for(f"{path}/{WEBHOOK_TOKEN}"), **extra}


def wait_for_log(server, count: int) -> None:
    """Let a slow handler finish, so that its reply does not land in the next test's log."""
    deadline = time.monotonic() + 5
    while len(server.log) < count and time.monotonic() < deadline:
        time.sleep(0.02)


class HangupServer:
    """A server on 127.0.0.1 that reads each HTTP request in full and then closes the
    connection without answering: the request arrived, the reply never comes."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.requests_read = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                while len(body) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                self.requests_read += 1

    def close(self) -> None:
        self._sock.close()


class FakeSolapi:
    """Solapi's group API (messages/v4/groups) on a pytest-httpserver, with state.

    ``groups`` maps a group id to ``{"status", "messages", "sent_requests"}``. Knobs: ``refuse``
    (recipients whose message is refused with 3034), ``send_delay`` (seconds the send request
    takes, after the group is marked SENDING), ``send_status`` (an HTTP status answered to the
    send request instead of 200; ``mark_sent_on_error`` says whether Solapi sent the group
    anyway), ``lookup_status`` (an HTTP status answered to look-ups).
    """

    PREFIX = "/messages/v4/groups"

    def __init__(self, server: HTTPServer) -> None:
        self.groups: dict[str, dict[str, Any]] = {}
        self.refuse: set[str] = set()
        self.send_delay = 0.0
        self.send_status = 200
        self.mark_sent_on_error = False
        self.lookup_status = 200
        self._lock = threading.Lock()
        group = re.compile(r"^/messages/v4/groups/([A-Z0-9]+)$")
        server.expect_request(self.PREFIX, method="POST").respond_with_handler(self._create)
        server.expect_request(
            re.compile(r"^/messages/v4/groups/([A-Z0-9]+)/messages$"), method="PUT"
        ).respond_with_handler(self._add)
        server.expect_request(
            re.compile(r"^/messages/v4/groups/([A-Z0-9]+)/send$"), method="POST"
        ).respond_with_handler(self._send)
        server.expect_request(group, method="GET").respond_with_handler(self._lookup)
        server.expect_request(group, method="DELETE").respond_with_handler(self._delete)

    def add_group(self, status: str = "PENDING", date_sent: str | None = None) -> str:
        with self._lock:
            group_id = f"G4V20251128{len(self.groups) + 1:06d}"
            self.groups[group_id] = {
                "status": status,
                "messages": [],
                "sent_requests": 0,
                "dateSent": date_sent,
            }
        return group_id

    def sent_groups(self) -> list[str]:
        return [gid for gid, g in self.groups.items() if g["dateSent"] is not None]

    def _json(self, data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    def _info(self, group_id: str) -> dict[str, Any]:
        group = self.groups[group_id]
        return {
            "groupId": group_id,
            "status": group["status"],
            "dateSent": group["dateSent"],
            "count": {"total": len(group["messages"])},
        }

    def _id(self, request: Request) -> str:
        return request.path.split("/")[4]

    def _create(self, request: Request) -> Response:
        return self._json(self._info(self.add_group()))

    def _add(self, request: Request) -> Response:
        group = self.groups[self._id(request)]
        results = []
        for message in json.loads(request.get_data())["messages"]:
            refused = message["to"] in self.refuse
            if not refused:
                group["messages"].append(message)
            results.append(
                {
                    "to": message["to"],
                    "statusCode": "3034" if refused else "2000",
                    "statusMessage": "템플릿 불일치" if refused else "정상 접수",
                }
            )
        errors = sum(1 for r in results if r["statusCode"] != "2000")
        return self._json({"errorCount": errors, "resultList": results})

    def _send(self, request: Request) -> Response:
        group_id = self._id(request)
        group = self.groups[group_id]
        group["sent_requests"] += 1
        if self.send_status == 200 or self.mark_sent_on_error:
            if group["status"] != "PENDING":
                return self._json({"errorCode": "AlreadySent"}, 400)
            group["status"], group["dateSent"] = "SENDING", "2025-11-28T09:00:01.000Z"
        time.sleep(self.send_delay)
        if self.send_status != 200:
            return self._json({"errorCode": "InternalError"}, self.send_status)
        return self._json(self._info(group_id))

    def _lookup(self, request: Request) -> Response:
        if self.lookup_status != 200:
            return self._json({"errorCode": "InternalError"}, self.lookup_status)
        return self._json(self._info(self._id(request)))

    def _delete(self, request: Request) -> Response:
        group = self.groups[self._id(request)]
        if group["status"] != "PENDING":
            return self._json({"errorCode": "CannotDelete"}, 400)
        group["status"] = "DELETED"
        return self._json(self._info(self._id(request)))
