"""The HTTP policy against a real local server: retries only where they help, blocks open the
breaker (recorded, refused afterwards, resettable), budgets stop retry storms, pacing and
bounded concurrency hold, and secrets never reach a log line or an error message."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from werkzeug import Request, Response

from scanctl.clock import now_kst
from scanctl.providers.base import SourceBlocked, SourceError, SourceExhausted, Throttled
from scanctl.providers.breaker import Breaker, breaker_state, reset_breaker
from scanctl.providers.http import HttpResponse, TokenBucket

XML = b'<?xml version="1.0" encoding="EUC-KR" ?><protocol></protocol>'
HTML_BLOCK = (
    b"<!DOCTYPE html>\n<html><head><title>Access denied</title></head><body>blocked</body></html>"
)
SECRET = "PSk3wQ9vT7mB2xR8pL4sN6dH1jF5gC0aEz"


def url(server, path: str = "/data") -> str:
    return server.url_for(path)


def test_success_returns_body_and_sends_timeouts_and_user_agent(server, make_client):
    server.expect_request("/data").respond_with_data(XML, content_type="text/xml")
    client = make_client(server.url_for(""))
    reply = client.get(url(server), {"symbol": "005930"}, expect="xml")
    assert reply.status == 200 and reply.content == XML
    request = server.log[0][0]
    assert request.args["symbol"] == "005930"
    assert "Mozilla" in request.headers["User-Agent"]


def test_timeout_then_success(server, make_client):
    answered = threading.Event()

    def slow(request: Request) -> Response:
        time.sleep(0.4)
        answered.set()
        return Response(XML)

    server.expect_oneshot_request("/data").respond_with_handler(slow)
    server.expect_request("/data").respond_with_data(XML)
    client = make_client(server.url_for(""), timeout_s=0.2)
    assert client.get(url(server), expect="xml").content == XML
    assert client.stats == {"requests": 2, "retries": 1, "failures": 0}
    assert answered.wait(2)  # the slow reply is done before the next test clears the server


def test_429_then_success_honours_retry_after(server, make_client):
    server.expect_oneshot_request("/data").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "0"}
    )
    server.expect_request("/data").respond_with_data(XML)
    client = make_client(server.url_for(""))
    assert client.get(url(server), expect="xml").content == XML
    assert len(server.log) == 2


def test_429_with_a_long_retry_after_fails_at_once(server, make_client):
    server.expect_request("/data").respond_with_data(
        "later", status=429, headers={"Retry-After": "3600"}
    )
    client = make_client(server.url_for(""))
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"rate limited for 3600 s.*max_retry_after_s = 30"):
        client.get(url(server), expect="xml")
    assert time.monotonic() - started < 1 and len(server.log) == 1


def test_5xx_then_success(server, make_client):
    server.expect_oneshot_request("/data").respond_with_data("oops", status=502)
    server.expect_oneshot_request("/data").respond_with_data("oops", status=503)
    server.expect_request("/data").respond_with_data(XML)
    client = make_client(server.url_for(""))
    assert client.get(url(server), expect="xml").content == XML
    assert len(server.log) == 3


def test_5xx_forever_stops_after_max_attempts(server, make_client):
    server.expect_request("/data").respond_with_data("down", status=503)
    client = make_client(server.url_for(""), max_attempts=3)
    with pytest.raises(SourceError, match=r"GET 127\.0\.0\.1:\d+/data failed after 3 attempt"):
        client.get(url(server), expect="xml")
    assert len(server.log) == 3


def test_other_4xx_are_not_retried(server, make_client):
    server.expect_request("/data").respond_with_data("missing", status=404)
    client = make_client(server.url_for(""))
    with pytest.raises(SourceError, match="HTTP 404"):
        client.get(url(server), expect="xml")
    assert len(server.log) == 1


def test_failure_budget_abandons_the_source_without_more_requests(server, make_client):
    server.expect_request("/data").respond_with_data("down", status=500)
    client = make_client(server.url_for(""), max_attempts=2, failure_budget=3)
    for _ in range(3):
        with pytest.raises(SourceError):
            client.get(url(server), expect="xml")
    sent = len(server.log)
    assert sent == 6
    with pytest.raises(SourceExhausted, match="3 requests in a row failed"):
        client.get(url(server), expect="xml")
    assert len(server.log) == sent


def test_retry_budget_bounds_retries_across_requests(server, make_client):
    server.expect_request("/data").respond_with_data("down", status=500)
    client = make_client(server.url_for(""), max_attempts=3, retry_budget=2)
    with pytest.raises(SourceError):
        client.get(url(server), expect="xml")
    with pytest.raises(SourceError, match="after 1 attempt"):
        client.get(url(server), expect="xml")
    assert len(server.log) == 3 + 1


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, HTML_BLOCK, "block page from 127.0.0.1"),
        (403, b"Forbidden", "HTTP 403 from 127.0.0.1"),
    ],
)
def test_block_opens_the_breaker_records_it_and_refuses_later_calls(
    server, make_client, db, status, body, reason
):
    server.expect_request("/data").respond_with_data(body, status=status, content_type="text/html")
    client = make_client(server.url_for(""))
    with pytest.raises(SourceBlocked, match="blocked until") as caught:
        client.get(url(server), expect="xml")
    assert len(server.log) == 1  # never retried
    assert "--reset-breaker" in str(caught.value)
    state = breaker_state(db, "testsrc")
    assert state is not None and reason in state.reason
    assert state.blocked_until == (now_kst() + dt.timedelta(hours=24)).replace(microsecond=0)
    # this run and the next one (a new breaker read from the store) refuse without a request
    with pytest.raises(SourceBlocked, match=r"blocked until 2025-11-29 18:00 KST"):
        client.get(url(server), expect="xml")
    again = make_client(server.url_for(""))
    with pytest.raises(SourceBlocked):
        again.get(url(server), expect="xml")
    assert len(server.log) == 1
    # resetting reopens it
    assert reset_breaker(db, "testsrc") is True
    server.clear()
    server.expect_request("/data").respond_with_data(XML)
    assert make_client(server.url_for("")).get(url(server), expect="xml").content == XML
    assert reset_breaker(db, "testsrc") is False


def test_block_page_title_is_reported(server, make_client, db):
    server.expect_request("/data").respond_with_data(HTML_BLOCK, content_type="text/html")
    with pytest.raises(SourceBlocked, match="Access denied"):
        make_client(server.url_for("")).get(url(server), expect="json")


def test_html_is_fine_when_text_is_expected(server, make_client):
    server.expect_request("/data").respond_with_data(HTML_BLOCK, content_type="text/html")
    assert make_client(server.url_for("")).get(url(server), expect="text").status == 200


def test_breaker_expires_by_itself(db, monkeypatch):
    breaker = Breaker.load(db, "testsrc", hours=24)
    breaker.open("HTTP 403 from example")
    with pytest.raises(SourceBlocked):
        Breaker.load(db, "testsrc").raise_if_open()
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-29T18:00:01")
    Breaker.load(db, "testsrc").raise_if_open()  # 24 h later: closed


def test_check_callback_can_throttle_and_block(server, make_client, db):
    server.expect_request("/data").respond_with_data(b'{"return_code": 5}')
    calls = []

    def throttled_once(reply: HttpResponse) -> None:
        calls.append(reply.status)
        if len(calls) == 1:
            raise Throttled("rate error [1700]", retry_after=0)

    client = make_client(server.url_for(""))
    assert client.get(url(server), expect="json", check=throttled_once).status == 200
    assert len(calls) == 2

    def blocked(reply: HttpResponse) -> None:
        raise SourceBlocked("notice: abnormal bulk queries")

    with pytest.raises(SourceBlocked, match="abnormal bulk queries"):
        client.get(url(server), expect="json", check=blocked)
    assert "abnormal bulk queries" in breaker_state(db, "testsrc").reason


def test_check_error_sees_non_2xx_replies_before_the_status_rules(server, make_client, db):
    server.expect_oneshot_request("/data").respond_with_data(b'{"code": "slow"}', status=403)
    server.expect_request("/data").respond_with_data(b'{"ok": 1}')
    seen: list[int] = []

    def explain(reply: HttpResponse) -> None:
        seen.append(reply.status)
        if reply.content == b'{"code": "slow"}':
            raise Throttled("documented rate code", retry_after=0)

    client = make_client(server.url_for(""))
    assert client.get(url(server), expect="json", check_error=explain).status == 200
    assert seen == [403] and breaker_state(db, "testsrc") is None  # 2xx never reaches it

    server.clear()
    server.expect_request("/data").respond_with_data(b'{"code": "odd"}', status=403)
    with pytest.raises(SourceError, match="an undocumented code"):

        def refuse(reply: HttpResponse) -> None:
            raise SourceError("an undocumented code", reply.status)

        client.get(url(server), expect="json", check_error=refuse)
    assert len(server.log) == 1 and breaker_state(db, "testsrc") is None

    with pytest.raises(SourceBlocked, match="HTTP 403 from 127.0.0.1"):
        client.get(url(server), expect="json", check_error=lambda reply: None)
    assert breaker_state(db, "testsrc").reason.startswith("HTTP 403 from 127.0.0.1")


def test_backoff_waits_go_through_the_injected_sleep(server, make_client):
    server.expect_oneshot_request("/data").respond_with_data("down", status=503)
    server.expect_request("/data").respond_with_data(XML)
    waits: list[float] = []
    client = make_client(server.url_for(""), backoff_s=3.0, max_backoff_s=3.0)
    client.sleep = waits.append
    started = time.perf_counter()
    assert client.get(url(server), expect="xml").content == XML
    assert len(waits) == 1 and 1.5 <= waits[0] <= 4.5 and time.perf_counter() - started < 1.5


def test_secrets_never_in_logs_or_errors(server, make_client, stderr_logs, db):
    server.expect_request(f"/v1/{SECRET}/data").respond_with_data("down", status=500)
    server.expect_request("/blocked").respond_with_data(
        f"<html><head><title>denied {SECRET}</title></head></html>", content_type="text/html"
    )
    client = make_client(server.url_for(""), secrets=(SECRET,), max_attempts=2)
    client.session.headers["appkey"] = SECRET
    messages = []
    with pytest.raises(SourceError) as failed:
        client.get(server.url_for(f"/v1/{SECRET}/data"), {"AUTH_KEY": SECRET}, expect="json")
    messages.append(str(failed.value))
    with pytest.raises(SourceBlocked) as blocked:
        client.get(server.url_for("/blocked"), {"AUTH_KEY": SECRET}, expect="json")
    messages.append(str(blocked.value))
    for error in (failed.value, blocked.value):  # no chained requests error carrying the URL
        assert error.__cause__ is None
        assert error.__context__ is None or error.__suppress_context__
    text = "\n".join([*messages, stderr_logs(), breaker_state(db, "testsrc").reason])
    assert SECRET not in text
    assert "********" in text  # the path segment was masked, not dropped silently


def test_token_bucket_paces_requests():
    bucket = TokenBucket(rate=50.0, burst=2)
    started = time.monotonic()
    for _ in range(12):
        bucket.acquire()
    elapsed = time.monotonic() - started
    assert 0.18 <= elapsed < 0.6  # 2 free, then 10 at 20 ms each


def test_rate_limit_applies_to_requests(server, make_client):
    server.expect_request("/data").respond_with_data(XML)
    client = make_client(server.url_for(""), rate_per_s=40.0, max_in_flight=2)
    started = time.monotonic()
    for _ in range(10):
        client.get(url(server), expect="xml")
    assert time.monotonic() - started >= 0.18  # 8 paced requests at 25 ms


def test_map_bounds_concurrency_and_collects_failures(server, make_client):
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def handler(request: Request) -> Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.03)
        with lock:
            state["now"] -= 1
        if request.args["n"] in ("3", "7"):
            return Response("gone", status=404)
        return Response(XML)

    server.expect_request("/data").respond_with_handler(handler)
    client = make_client(server.url_for(""), max_in_flight=3)
    progress = []

    def fetch(n: int) -> int:
        client.get(url(server), {"n": n}, expect="xml")
        return n * 2

    results, failures = client.map(fetch, range(20), lambda done, total: progress.append(done))
    assert state["max"] <= 3
    assert set(failures) == {3, 7} and all("HTTP 404" in str(e) for e in failures.values())
    assert results == {n: n * 2 for n in range(20) if n not in (3, 7)}
    assert progress == list(range(1, 21))


def test_map_aborts_on_a_block(server, make_client):
    server.expect_request("/data").respond_with_data(b"no", status=403)
    client = make_client(server.url_for(""), max_in_flight=2)
    with pytest.raises(SourceBlocked):
        client.map(lambda n: client.get(url(server), {"n": n}, expect="xml"), range(50))
    assert len(server.log) <= 2  # in-flight ones at most; the rest are refused unsent
