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
    assert (check.timeout, check.attempts, check.backoff_s) == (10.0, 3, 1.0)
    assert UUID not in repr(check)


def test_no_url_does_nothing(session):
    check = Healthcheck(None, session)
    assert not check.configured
    assert not check.start() and not check.success() and not check.fail(3)


def test_dead_monitor_is_tried_three_times_never_raises_never_logs_the_url(
    session, closed_port, stderr_logs, sleeps
):
    url = f"http://127.0.0.1:{closed_port}/ping/{UUID}"
    check = Healthcheck(url, session, timeout=0.5, sleep=sleeps)
    assert not check.start()
    assert not check.finish(4)
    assert sleeps.calls == [1.0, 2.0, 1.0, 2.0]  # 3 tries per ping, backoff 1 s doubled
    logged = stderr_logs()
    assert logged.count("trying again") == 4
    assert logged.count("warning healthcheck ping failed ping=") == 2
    assert "ping=start attempt=3" in logged and "ping=4 attempt=3" in logged
    assert UUID not in logged


def test_5xx_is_tried_again_and_then_succeeds(server, session, sleeps):
    server.expect_ordered_request(f"/ping/{UUID}").respond_with_data("busy", status=503)
    server.expect_ordered_request(f"/ping/{UUID}").respond_with_data("OK")
    check = Healthcheck(server.url_for(f"/ping/{UUID}"), session, backoff_s=0.25, sleep=sleeps)
    assert check.success()
    assert len(server.log) == 2 and sleeps.calls == [0.25]


def test_bounded_tries_then_gives_up(server, session, sleeps, stderr_logs):
    server.expect_request(f"/ping/{UUID}/start").respond_with_data("nope", status=500)
    check = Healthcheck(server.url_for(f"/ping/{UUID}"), session, attempts=4, sleep=sleeps)
    assert not check.start()
    assert len(server.log) == 4 and sleeps.calls == [1.0, 2.0, 4.0]
    assert "HTTPError" in stderr_logs() and UUID not in stderr_logs()


def test_a_4xx_is_not_tried_again(server, session, sleeps):
    server.expect_request(f"/ping/{UUID}/5").respond_with_data("unknown check", status=404)
    check = Healthcheck(server.url_for(f"/ping/{UUID}"), session, sleep=sleeps)
    assert not check.fail(5)
    assert len(server.log) == 1 and sleeps.calls == []


def test_timeout_is_tried_again_and_swallowed(server, session, sleeps, stderr_logs):
    def slow(request: Request) -> Response:
        time.sleep(0.3)  # three times the 0.1 s timeout
        return Response("OK")

    server.expect_request(f"/ping/{UUID}").respond_with_handler(slow)
    check = Healthcheck(
        server.url_for(f"/ping/{UUID}"), session, timeout=0.1, attempts=2, sleep=sleeps
    )
    assert not check.success()
    wait_for_log(server, 2)
    assert len(server.log) == 2 and sleeps.calls == [1.0]
    assert "Timeout" in stderr_logs() and UUID not in stderr_logs()
