"""Healthcheck pings hit /start, the URL and /<exit code>; a dead monitor never raises."""

from __future__ import annotations

import time

from werkzeug import Request, Response

from scanctl.config import Config
from scanctl.notify.config import load_healthcheck_settings
from scanctl.notify.healthcheck import Healthcheck
from tests.notify.helpers import wait_for_log

UUID = "5f0e6c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6"


def test_pings_hit_start_success_and_exit_code(server, session):
    server.expect_request(f"/ping/{UUID}/start", method="POST").respond_with_data("OK")
    server.expect_request(f"/ping/{UUID}", method="POST").respond_with_data("OK")
    server.expect_request(f"/ping/{UUID}/5", method="POST").respond_with_data("OK")
    server.expect_request(f"/ping/{UUID}/fail", method="POST").respond_with_data("OK")
    check = Healthcheck(server.url_for(f"/ping/{UUID}/"), session, timeout=2)
    assert check.start()
    assert check.success("v2 ok matched=5")
    assert check.fail(5, "notification failed")
    assert check.fail()
    assert check.finish(0) and check.finish(5)
    paths = [request.path for request, _ in server.log]
    assert paths == [
        f"/ping/{UUID}/{suffix}".rstrip("/") for suffix in ("start", "", "5", "fail", "", "5")
    ]
    assert server.log[1][0].get_data() == b"v2 ok matched=5"


def test_from_settings(server, session):
    server.expect_request(f"/ping/{UUID}/start").respond_with_data("OK")
    config = Config(sections={"healthcheck": {"ping_url": server.url_for(f"/ping/{UUID}")}})
    check = Healthcheck.from_settings(load_healthcheck_settings(config), session)
    assert check.configured and check.start()
    assert UUID not in repr(check)


def test_no_url_does_nothing(session):
    check = Healthcheck(None, session)
    assert not check.configured
    assert not check.start() and not check.success() and not check.fail(3)


def test_dead_monitor_never_raises_and_never_logs_the_url(session, closed_port, stderr_logs):
    check = Healthcheck(f"http://127.0.0.1:{closed_port}/ping/{UUID}", session, timeout=0.5)
    assert not check.start()
    assert not check.finish(4)
    logged = stderr_logs()
    assert logged.count("healthcheck ping failed") == 2
    assert "ping=start" in logged and "ping=4" in logged
    assert UUID not in logged


def test_error_status_and_timeout_are_swallowed(server, session, stderr_logs):
    def slow(request: Request) -> Response:
        time.sleep(0.3)  # three times the 0.1 s timeout
        return Response("OK")

    server.expect_request(f"/ping/{UUID}/start").respond_with_data("nope", status=500)
    server.expect_request(f"/ping/{UUID}").respond_with_handler(slow)
    check = Healthcheck(server.url_for(f"/ping/{UUID}"), session, timeout=0.1)
    assert not check.start()
    assert not check.success()
    wait_for_log(server, 2)
    logged = stderr_logs()
    assert "HTTPError" in logged and "Timeout" in logged
    assert UUID not in logged
