"""CLI tests: state through the library, then the command; exit codes and text asserted."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from scanctl.cli.main import app
from scanctl.store.db import open_db
from tests.conftest import run_cli

runner = CliRunner()


def invoke(db_path, *args, env=None):
    return runner.invoke(app, ["--db", str(db_path), *args], env=env)


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys, scanctl.cli.main;"
        "print(sorted(m for m in ('pandas','numpy','exchange_calendars','sqlite_utils','requests')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_store_does_not_import_pandas_and_pandas_still_imports():
    """sqlite-utils is loaded without its eager pandas import (scanctl/__init__.py); a
    command that needs pandas imports it as usual afterwards."""
    code = (
        "import sys; import scanctl.store.db, scanctl.jobs.daily, sqlite_utils.db as su;"
        "before = 'pandas' in sys.modules; import pandas;"
        "print(before, su.pd, pandas.DataFrame({'a': [1]}).shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "None", "(1,", "1)"]
    code = "import pandas, scanctl.store.db, sqlite_utils.db as su; print(su.pd is pandas)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"  # a process that already has pandas keeps it


def test_every_command_has_help():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("data", "calendar", "settings", "config"):
        sub = runner.invoke(app, [group, "--help"])
        assert sub.exit_code == 0, sub.output
        assert "Usage" in sub.output


def test_settings_round_trip(store_path):
    assert invoke(store_path, "settings", "get", "active_engine").stdout == "v1\n"
    result = invoke(store_path, "settings", "set", "active_engine", "v3")
    assert result.exit_code == 0, result.output
    assert invoke(store_path, "settings", "get", "active_engine").stdout == "v3\n"
    listed = json.loads(invoke(store_path, "settings", "list", "--json").stdout)
    assert {row["key"]: row["value"] for row in listed} == {
        "active_engine": "v3",
        "scan_all_versions": "v2,v3",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("settings", "set", "active_engine", "v9"), "unknown version 'v9'"),
        (("settings", "get", "nope"), "unknown setting 'nope'"),
        (("calendar", "check", "2025-02-30"), "is not a date"),
        (("data", "import", "/no/such/file.csv"), "does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_line(store_path, args, message):
    result = invoke(store_path, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_db_in_missing_folder_and_corrupt_db(tmp_path):
    missing = runner.invoke(app, ["--db", str(tmp_path / "no" / "x.db"), "data", "status"])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    corrupt = tmp_path / "bad.db"
    corrupt.write_bytes(b"garbage" * 1000)
    result = runner.invoke(app, ["--db", str(corrupt), "settings", "list"])
    assert result.exit_code == 2 and "not a usable scanctl database" in result.stderr
    assert corrupt.read_bytes() == b"garbage" * 1000


def test_import_then_status(tmp_path, db_path):
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "date,ticker,open,high,low,close,volume,value\n"
        "2025-11-27,005930,100,110,90,105,1000,\n"
        "2025-11-28,005930,105,112,100,110,1200,132000\n"
    )
    result = run_cli("--db", str(db_path), "data", "import", str(bars))
    assert result.returncode == 0, result.stderr
    assert "imported 2 bars on 2 dates 2025-11-27 … 2025-11-28" in result.stderr
    status = run_cli("--db", str(db_path), "data", "status", "--json")
    record = json.loads(status.stdout)
    assert record["last_date"] == "2025-11-28" and record["bars_on_last_date"] == 1
    plain = run_cli("--db", str(db_path), "data", "status")
    assert "last date" in plain.stdout and "\x1b[" not in plain.stdout


def test_bad_csv_row_exit_2_nothing_written(tmp_path, db_path):
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "date,ticker,open,high,low,close,volume\n"
        "2025-11-27,005930,100,110,90,105,1000\n"
        "2025-11-28,005930,105,100,100,110,1200\n"
    )
    result = run_cli("--db", str(db_path), "data", "import", str(bars))
    assert result.returncode == 2
    assert result.stderr.strip().endswith("line 3: high < max(open, close)")
    assert open_db(db_path).execute("SELECT count(*) FROM bars").fetchone() == (0,)


def test_config_show_masks_secrets(tmp_path, db_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[notify.channels.team]\ntype = "slack"\nwebhook_url = "https://hooks.example/T000/SECRET"\n'
    )
    result = invoke(db_path, "--config", str(config), "config", "show")
    assert result.exit_code == 0, result.output
    assert "SECRET" not in result.stdout and "********" in result.stdout
    env_result = runner.invoke(
        app, ["config", "show", "--json"], env={"SCANCTL_SCAN_KOSPI_LIMIT": "50"}
    )
    assert json.loads(env_result.stdout)["sections"]["scan"]["kospi_limit"] == 50


def test_quiet_silences_messages_but_not_errors(tmp_path, db_path):
    bars = tmp_path / "bars.csv"
    bars.write_text("date,ticker,open,high,low,close,volume\n2025-11-28,005930,1,2,1,2,3\n")
    quiet = run_cli("--db", str(db_path), "-q", "data", "import", str(bars))
    assert quiet.returncode == 0 and quiet.stderr == ""
    failing = run_cli("--db", str(db_path), "-q", "data", "import", str(tmp_path / "none.csv"))
    assert failing.returncode == 2 and "does not exist" in failing.stderr


def test_log_json_lines_are_json(tmp_path, db_path):
    bars = tmp_path / "bars.csv"
    bars.write_text("date,ticker,open,high,low,close,volume\n2025-11-28,005930,1,2,1,2,3\n")
    result = run_cli("--db", str(db_path), "--log-json", "data", "import", str(bars))
    assert result.returncode == 0
    record = json.loads(result.stderr.strip())
    assert record["level"] == "info" and record["msg"].startswith("imported 1 bars")
    assert record["ts"].endswith("+09:00")
