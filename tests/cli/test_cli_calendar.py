import json

from typer.testing import CliRunner

from scanctl.cli.main import app

runner = CliRunner()


def invoke(db_path, *args):
    return runner.invoke(app, ["--db", str(db_path), "calendar", *args])


def test_check_closed_and_csat(store_path):
    closed = json.loads(invoke(store_path, "check", "20250603", "--json").stdout)
    assert closed["is_session"] is False and "presidential election" in closed["reason"]
    csat = json.loads(invoke(store_path, "check", "2025-11-13", "--json").stdout)
    assert (csat["open"], csat["close"]) == (
        "2025-11-13T10:00:00+09:00",
        "2025-11-13T16:30:00+09:00",
    )
    plain = invoke(store_path, "check", "2025-11-13")
    assert "10:00–16:30 KST" in plain.stdout


def test_check_today_uses_seoul_clock(store_path):
    # SCANCTL_NOW pins 2025-11-28 18:00 KST (a Friday session)
    record = json.loads(invoke(store_path, "check", "--json").stdout)
    assert record["date"] == "2025-11-28" and record["is_session"] is True


def test_next_skips_weekend(store_path):
    record = json.loads(invoke(store_path, "next", "2025-11-28", "--json").stdout)
    assert record["date"] == "2025-12-01"


def test_operator_override_lifecycle(store_path):
    added = invoke(
        store_path,
        "overrides",
        "add",
        "2025-12-01",
        "--kind",
        "closed",
        "--reason",
        "system outage",
    )
    assert added.exit_code == 0, added.output
    record = json.loads(invoke(store_path, "check", "2025-12-01", "--json").stdout)
    assert record["is_session"] is False and record["source"] == "operator override"
    listed = json.loads(invoke(store_path, "overrides", "list", "--json").stdout)
    assert listed[0] == {
        "date": "2025-12-01",
        "kind": "closed",
        "open_time": None,
        "close_time": None,
        "reason": "system outage",
        "origin": "operator",
    }
    assert any(row["origin"] == "shipped" for row in listed)
    assert invoke(store_path, "overrides", "remove", "2025-12-01").exit_code == 0
    assert json.loads(invoke(store_path, "check", "2025-12-01", "--json").stdout)["is_session"]
    again = invoke(store_path, "overrides", "remove", "2025-12-01")
    assert again.exit_code == 2 and "no operator override on 2025-12-01" in again.stderr


def test_session_override_with_hours(store_path):
    result = invoke(
        store_path,
        "overrides",
        "add",
        "2025-12-02",
        "--kind",
        "session",
        "--open",
        "10:00",
        "--close",
        "16:30",
        "--reason",
        "late open",
    )
    assert result.exit_code == 0, result.output
    record = json.loads(invoke(store_path, "check", "2025-12-02", "--json").stdout)
    assert record["close"] == "2025-12-02T16:30:00+09:00"


def test_bad_override_inputs(store_path):
    bad_time = invoke(
        store_path,
        "overrides",
        "add",
        "2025-12-02",
        "--kind",
        "session",
        "--open",
        "25:00",
        "--close",
        "16:30",
        "--reason",
        "x",
    )
    assert bad_time.exit_code == 2 and "--open" in bad_time.stderr
    bad_kind = invoke(
        store_path, "overrides", "add", "2025-12-02", "--kind", "maybe", "--reason", "x"
    )
    assert bad_kind.exit_code == 2 and "kind" in bad_kind.stderr
    bad_date = invoke(store_path, "check", "tomorrow")
    assert bad_date.exit_code == 2 and "'tomorrow' is not a date" in bad_date.stderr


def test_previous_session_is_computed_in_kst_from_the_calendar(store_path, monkeypatch):
    """The reconcile line of crontab.example: right on a UTC host, on Mondays, after closures."""
    from typer.testing import CliRunner

    from scanctl.cli.main import app

    def previous(now, *args):
        monkeypatch.setenv("SCANCTL_NOW", now)
        result = CliRunner().invoke(
            app, ["--db", str(store_path), "calendar", "previous", "--iso", *args]
        )
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    monkeypatch.setenv("TZ", "UTC")
    # 07:30 KST on Tuesday 2025-12-02 is 22:30 UTC on Monday: the previous session is Monday.
    assert previous("2025-12-01T22:30:00+00:00") == "2025-12-01"
    assert previous("2025-12-01T07:30:00") == "2025-11-28"  # a Monday: Friday
    assert previous("2025-10-10T07:30:00") == "2025-10-02"  # after the Chuseok closure
    assert previous("2025-06-04T07:30:00") == "2025-06-02"  # after the election day
    assert previous("2025-06-04T07:30:00", "2025-06-02") == "2025-05-30"
