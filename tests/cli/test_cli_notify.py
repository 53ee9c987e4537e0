"""`scanctl notify test|retry|status` against a real HTTP server on 127.0.0.1."""

import json
import time

from typer.testing import CliRunner
from werkzeug import Response

from scanctl.cli.main import app

runner = CliRunner()
TOKEN = "123456:SECRET-BOT-TOKEN"


def write_config(tmp_path, server):
    path = tmp_path / "c.toml"
    path.write_text(
        "[notify]\nbackoff_s = 0.01\nmax_attempts = 2\n"
        '[notify.channels.ops]\ntype = "telegram"\n'
        f'bot_token = "{TOKEN}"\nchat_id = "42"\nbase_url = "{server.url_for("")}"\n'
    )
    return path


def invoke(db_path, config, *args):
    return runner.invoke(app, ["--db", str(db_path), "--config", str(config), "notify", *args])


def test_notify_test_sends_to_telegram(store_path, tmp_path, server):
    server.expect_request(f"/bot{TOKEN}/sendMessage", method="POST").respond_with_json(
        {"ok": True, "result": {"message_id": 7}}
    )
    config = write_config(tmp_path, server)
    result = invoke(store_path, config, "test", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "sent"
    body = json.loads(server.log[0][0].data)
    assert body["chat_id"] == "42" and "테스트" in body["text"]
    rows = json.loads(invoke(store_path, config, "status", "--json").stdout)
    assert rows[0]["kind"] == "test" and rows[0]["status"] == "sent"
    assert rows[0]["provider_message_id"] == "7"


def test_failed_send_exits_5_then_retry_delivers(store_path, tmp_path, server):
    server.expect_oneshot_request(f"/bot{TOKEN}/sendMessage").respond_with_data("no", status=500)
    server.expect_oneshot_request(f"/bot{TOKEN}/sendMessage").respond_with_data("no", status=500)
    config = write_config(tmp_path, server)
    failed = invoke(store_path, config, "test")
    assert failed.exit_code == 5
    assert TOKEN not in failed.output and "SECRET" not in failed.output
    server.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_json(
        {"ok": True, "result": {"message_id": 9}}
    )
    retried = invoke(store_path, config, "retry", "--json")
    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.stdout)["status"] == "sent"
    again = invoke(
        store_path, config, "retry", "--json"
    )  # nothing left: a sent row is never resent
    assert again.exit_code == 0 and json.loads(again.stdout)["channels"] == []


def test_bad_channel_config_is_exit_2(db_path, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[notify.channels.x]\ntype = "pigeon"\n')
    result = invoke(db_path, config, "test")
    assert result.exit_code == 2 and "pigeon" in result.stderr


def slow_then_fast(delays):
    replies = iter(delays)

    def handler(request):
        time.sleep(next(replies))
        return Response(
            '{"ok": true, "result": {"message_id": 5}}', content_type="application/json"
        )

    return handler


def test_unknown_delivery_exits_5_is_not_retried_until_forced_or_confirmed(
    store_path, tmp_path, server
):
    server.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_handler(
        slow_then_fast([1.0, 0.0])
    )
    config = write_config(tmp_path, server)
    config.write_text(config.read_text().replace("[notify]\n", "[notify]\ntimeout_s = 0.3\n"))
    sent = invoke(store_path, config, "test")
    assert sent.exit_code == 5
    assert "delivery unknown; the message may have arrived" in sent.stderr
    assert "scanctl notify confirm" in sent.stderr and TOKEN not in sent.output
    rows = json.loads(invoke(store_path, config, "status", "--json").stdout)
    assert [(r["kind"], r["status"], r["attempts"]) for r in rows] == [("test", "unknown", 1)]
    retried = invoke(store_path, config, "retry", "--json")
    assert retried.exit_code == 5
    assert [c["status"] for c in json.loads(retried.stdout)["channels"]] == ["unknown"]
    deadline = time.monotonic() + 5
    while len(server.log) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.log) == 1  # not resent
    forced = invoke(store_path, config, "retry", "--resend-unknown", "--json")
    assert forced.exit_code == 0, forced.output
    assert len(server.log) == 2 and json.loads(forced.stdout)["status"] == "sent"


def test_confirm_marks_an_unknown_row_sent(store_path, tmp_path, server):
    server.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_handler(slow_then_fast([1.0]))
    config = write_config(tmp_path, server)
    config.write_text(config.read_text().replace("[notify]\n", "[notify]\ntimeout_s = 0.3\n"))
    assert invoke(store_path, config, "test").exit_code == 5
    confirmed = invoke(store_path, config, "confirm", "--date", "2025-11-28", "--json")
    assert confirmed.exit_code == 0, confirmed.output
    assert [(c["channel"], c["status"]) for c in json.loads(confirmed.stdout)["channels"]] == [
        ("ops", "sent")
    ]
    rows = json.loads(invoke(store_path, config, "status", "--json").stdout)
    assert rows[0]["status"] == "sent"
    assert invoke(store_path, config, "retry").exit_code == 0
    again = invoke(store_path, config, "confirm")
    assert again.exit_code == 0 and "nothing to do" in again.stderr
