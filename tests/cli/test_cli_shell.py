"""Shell conventions (issue 14): --version, completion, help that names and lists values, usage
errors in one line, global options after the command, a closed pipe, the run's trigger, log
lines and `data import -`."""

import gzip
import json
import re
import subprocess
import sys

import pytest
import typer.main

from scanctl import __version__
from scanctl.cli.context import run_trigger
from scanctl.cli.main import CLOSED_PIPE, app
from scanctl.engines.registry import engines, names
from scanctl.market.calendar import OVERRIDE_KINDS
from scanctl.providers.names import PROVIDERS
from tests.conftest import run_cli, scanctl_command
from tests.demo_store import DEMO_LAST_SESSION, dump
from tests.test_docs import leaf_commands

BARS = "date,ticker,open,high,low,close,volume\n2025-11-28,005930,100,110,90,105,1000\n"
HEAVY = ("pandas", "numpy", "exchange_calendars", "sqlite_utils", "requests", "pydantic", "rich")


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_package_version(flag):
    result = run_cli(flag)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"scanctl {__version__}\n", "")


def test_scan_version_still_chooses_the_engine(store_path):
    result = run_cli("--db", str(store_path), "scan", "--version", "v9")
    assert result.returncode == 2 and "unknown version 'v9'" in result.stderr


def test_help_version_and_completion_import_nothing_heavy():
    """What `scanctl --help` may cost is the interpreter, typer and scanctl.cli: not rich's
    help renderer, not pydantic (Typer's default value conversion), not the libraries. The
    cases run one after the other in one process: modules stay loaded, so an empty list at
    the end means that none of them loaded anything heavy."""
    cases = [["--help"], ["scan", "--help"], ["data", "sync", "--help"], ["--version"]]
    code = (
        "import os, sys\n"
        "from scanctl.cli.main import run\n"
        f"for args in {cases!r}:\n"
        "    sys.argv = ['scanctl', *args]\n"
        "    try:\n        run()\n    except SystemExit:\n        pass\n"
        "os.environ.update(_SCANCTL_COMPLETE='complete_bash', COMP_CWORD='4',\n"
        "                  COMP_WORDS='scanctl data sync --source ')\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "naver\nkis\nkiwoom\nkrx-openapi" in done.stdout  # the completion did answer
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr


def completions(env: dict) -> list[str]:
    result = run_cli(env={"_SCANCTL_COMPLETE": "complete_bash", **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_completion_of_commands_options_and_listed_values(store_path):
    assert completions({"COMP_WORDS": "scanctl sc", "COMP_CWORD": "1"}) == ["scan"]
    assert completions({"COMP_WORDS": "scanctl data s", "COMP_CWORD": "2"}) == ["sync", "status"]
    sync = {"COMP_WORDS": "scanctl data sync --source ", "COMP_CWORD": "4"}
    assert completions(sync) == list(PROVIDERS)
    version = {"COMP_WORDS": "scanctl runs --version v", "COMP_CWORD": "3"}
    assert completions(version) == list(names())
    shells = completions({"COMP_WORDS": "scanctl completion ", "COMP_CWORD": "2"})
    assert shells == ["bash", "zsh", "fish"]
    options = completions({"COMP_WORDS": "scanctl runs --", "COMP_CWORD": "2"})
    assert {"--limit", "--version", "--json", "--wide", "--help"} <= set(options)
    # global options typed after the command are parsed, not executed, while completing
    after = {"COMP_WORDS": f"scanctl runs --db {store_path} --l", "COMP_CWORD": "4"}
    assert completions(after) == ["--limit"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script_of_a_shell(shell):
    result = run_cli("completion", shell)
    assert result.returncode == 0, result.stderr
    assert f"_SCANCTL_COMPLETE=complete_{shell}" in result.stdout
    assert "scanctl" in result.stdout.splitlines()[-1]


def test_completion_answers_zsh_and_fish_with_help_texts():
    zsh = run_cli(env={"_SCANCTL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "scanctl ru"})
    assert zsh.stdout.startswith("_arguments") and '"runs":"Run history' in zsh.stdout
    fish = run_cli(
        env={
            "_SCANCTL_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            "_TYPER_COMPLETE_ARGS": "scanctl ru",
        }
    )
    assert fish.stdout.startswith("runs\tRun history")


def test_completion_refuses_an_unknown_shell():
    result = run_cli("completion", "tcsh")
    assert result.returncode == 2
    assert result.stderr == "scanctl: error: unknown shell 'tcsh'; choose from bash, zsh, fish\n"


def test_bash_completion_works_in_bash(tmp_path):
    """The printed script, sourced by a real bash, completes a command name."""
    script = run_cli("completion", "bash", process=True).stdout
    wrapper = tmp_path / "scanctl"
    wrapper.write_text(f'#!/bin/sh\nexec {" ".join(scanctl_command())} "$@"\n')
    wrapper.chmod(0o755)
    probe = (
        f"{script}\nPATH={tmp_path}:$PATH\n"
        "COMP_WORDS=(scanctl calendar pre); COMP_CWORD=2\n"
        "_scanctl_completion scanctl; echo ${COMPREPLY[@]}\n"
    )
    done = subprocess.run(["bash", "--norc", "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "previous", done.stderr


def help_text(*path: str) -> str:
    result = run_cli(*path, "--help")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_help_names_every_value_and_lists_the_choices():
    root = typer.main.get_command(app)
    for path, _ in leaf_commands(root):
        text = help_text(*path)
        assert not re.search(r"<(str|int|bool|path|float)>", text), " ".join(path)
    assert f"--source [{'|'.join(PROVIDERS)}]" in help_text("data", "sync")
    assert f"--version [{'|'.join([*names(), 'all'])}]" in help_text("runs")
    assert f"--kind [{'|'.join(OVERRIDE_KINDS)}]" in help_text("calendar", "overrides", "add")
    assert "scanctl inspect [OPTIONS] CODE" in help_text("inspect")
    assert "--date DATE" in help_text("inspect") and "--limit N" in help_text("show")
    assert "--db PATH" in help_text() and "--tickers PATH" in help_text("data", "import")
    scan = help_text("scan")
    for name, spec in engines().items():
        assert f"{name}: {spec.description}" in " ".join(scan.split())


@pytest.mark.parametrize(
    ("args", "first", "hint"),
    [
        (
            ("show", "--limit", "ten"),
            "invalid value for '--limit': 'ten' is not a whole number",
            "show",
        ),
        (
            ("runs", "--limit", "0"),
            "invalid value for '--limit': 0 is below the least value, 1",
            "runs",
        ),
        (("show", "--bogus"), "no such option: --bogus", "show"),
        (("nosuch",), "no such command 'nosuch'.", ""),
        (("calendar", "overrides", "add"), "missing argument 'DATE'.", "calendar overrides add"),
        (("completion",), "missing argument '{bash|zsh|fish}'.", "completion"),
        (("-V", "x"), None, None),
    ],
)
def test_a_usage_error_is_one_line_and_a_hint(store_path, args, first, hint):
    result = run_cli("--db", str(store_path), *args)
    if first is None:  # --version is eager: it prints and ends before the rest is read
        assert result.returncode == 0 and result.stdout == f"scanctl {__version__}\n"
        return
    assert result.returncode == 2
    assert result.stdout == ""
    command = f"scanctl {hint} --help" if hint else "scanctl --help"
    assert result.stderr.startswith(f"scanctl: error: {first}"), result.stderr
    assert result.stderr.splitlines()[1:] == [f"Try '{command}'."]
    assert "╭" not in result.stderr and "Usage:" not in result.stderr


def test_a_bad_flag_value_is_one_line(store_path):
    result = run_cli("--db", str(store_path), "scan", "--kospi-limit", "-1")
    assert result.returncode == 2
    assert result.stderr == (
        "scanctl: error: [scan] kospi_limit must be an integer ≥ 0, got -1 (from --kospi-limit)\n"
    )


def test_global_options_may_follow_the_command(tmp_path, store_path):
    config = tmp_path / "c.toml"
    config.write_text("[scan]\nkospi_limit = 7\n")
    after = run_cli("settings", "get", "active_engine", "--db", str(store_path))
    assert (after.returncode, after.stdout) == (0, "v1\n"), after.stderr
    shown = json.loads(run_cli("config", "show", "--json", "--config", str(config)).stdout)
    assert shown["sections"]["scan"]["kospi_limit"] == 7
    grouped = run_cli("data", "--db", str(store_path), "status", "--json")
    assert json.loads(grouped.stdout)["bars"] == 0
    # before the command they still work, and the environment stays below both
    env = {"SCANCTL_DB": str(tmp_path / "missing.db")}
    assert run_cli("--db", str(store_path), "runs", env=env).returncode == 0
    assert run_cli("runs", "--db", str(store_path), env=env).returncode == 0
    assert run_cli("runs", env=env).returncode == 2


def test_quiet_verbose_and_log_json_after_the_command(tmp_path):
    bars = tmp_path / "bars.csv"
    bars.write_text(BARS)
    db = str(tmp_path / "q.db")
    quiet = run_cli("data", "import", str(bars), "--db", db, "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""
    logged = run_cli("data", "import", str(bars), "--db", db, "--log-json")
    record = json.loads(logged.stderr)
    assert record["command"] == "data import" and record["msg"].startswith("imported 1 bars")


@pytest.mark.parametrize("args", [("runs",), ("config", "keys")])
def test_a_closed_stdout_ends_quietly(store_path, args):
    """`scanctl runs | head -1`: here the reader has gone before scanctl writes, so a small
    output fails at the last flush and a large one in the middle of the command."""
    child = subprocess.Popen(
        scanctl_command("--db", str(store_path), *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    child.stdout.close()
    stderr = child.stderr.read()
    assert child.wait(timeout=60) == CLOSED_PIPE
    assert stderr == b""


@pytest.mark.parametrize(
    ("environ", "interactive", "trigger"),
    [
        ({}, False, "cron"),
        ({}, True, "manual"),
        ({"MAKELEVEL": "1"}, False, "manual"),
        ({"CI": "true"}, True, "ci"),
        ({"CI": "true", "MAKELEVEL": "2"}, False, "ci"),
        ({"CI": "false"}, False, "cron"),
        ({"GITHUB_ACTIONS": "true"}, False, "ci"),
        ({"GITLAB_CI": "true"}, False, "ci"),
    ],
)
def test_the_trigger_of_a_run(environ, interactive, trigger):
    assert run_trigger(environ, interactive) == trigger


def test_a_scan_under_make_is_recorded_as_manual(scan_db):
    env = {"MAKELEVEL": "1"}
    result = run_cli("--db", str(scan_db), "scan", "--version", "v2", "--no-notify", env=env)
    assert result.returncode == 0, result.stderr
    assert {run[3] for run in dump(scan_db, "scan_runs")} == {"manual"}


LOG_LINE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00 (debug|info|warning|error) "


def test_log_lines_carry_time_level_and_command(scan_db):
    backfill = ("backfill", "--from", "2025-11-24", "--to", DEMO_LAST_SESSION, "--version", "v2")
    result = run_cli("--db", str(scan_db), *backfill)
    assert result.returncode == 0, result.stderr
    logged = [line for line in result.stderr.splitlines() if re.match(LOG_LINE, line)]
    assert logged and all(re.match(LOG_LINE + "backfill: ", line) for line in logged)
    assert "0 of 5 sessions done, now 2025-11-24" in logged[0]  # the plain progress
    scan = run_cli("--db", str(scan_db), "scan", "--version", "v3", "--no-notify")
    lines = scan.stderr.splitlines()
    assert any(re.match(LOG_LINE + r"scan: version done version=v3", line) for line in lines)
    assert any(re.match(LOG_LINE + r"scan: load …", line) for line in lines)


@pytest.mark.parametrize("compress", [False, True])
def test_data_import_reads_standard_input(tmp_path, compress):
    data = BARS.encode()
    db = str(tmp_path / "in.db")
    result = run_cli(
        "--db", db, "data", "import", "-", input=gzip.compress(data) if compress else data
    )
    assert result.returncode == 0, result.stderr
    assert "imported 1 bars on 1 dates" in result.stderr
    assert json.loads(run_cli("--db", db, "data", "status", "--json").stdout)["bars"] == 1


def test_data_import_from_standard_input_names_it_in_errors(tmp_path):
    bad = BARS.replace("110,90", "99,90").encode()
    db = tmp_path / "bad.db"
    result = run_cli("--db", str(db), "data", "import", "-", input=bad)
    assert result.returncode == 2 and not db.exists()
    assert result.stderr.startswith("scanctl: error: standard input: 1 invalid row(s)")
    tickers = tmp_path / "t.csv"
    tickers.write_text("ticker,name,market\n005930,삼성전자,KOSPI\n")
    both = run_cli("--db", str(db), "data", "import", "-", "--tickers", "-", input=BARS.encode())
    assert both.returncode == 2 and "only one file can be read from standard input" in both.stderr
    piped = run_cli("--db", str(db), "data", "import", "--tickers", "-", input=tickers.read_bytes())
    assert piped.returncode == 0 and "1 tickers" in piped.stderr
