"""`show`, `runs` and `status` read what the daily job stored."""

import csv
import io
import json

from scanctl.engines import registry
from tests.conftest import run_cli
from tests.demo_store import DEMO_LAST_SESSION
from tests.engines.failing_engine import failing


def cli(db, *args, env=None):
    return run_cli("--db", str(db), *args, env=env)


def test_show_runs_and_status_after_a_scan(scan_db):
    assert cli(scan_db, "scan", "--version", "all", "--no-notify").returncode == 0
    shown = json.loads(cli(scan_db, "show", "--json", "--limit", "2").stdout)
    assert shown["date"] == DEMO_LAST_SESSION
    by_version = {}
    for pick in shown["picks"]:
        by_version.setdefault(pick["scanner_version"], []).append(pick["rank"])
    assert set(by_version) == {"v2", "v3"} and all(len(r) <= 2 for r in by_version.values())
    table = list(
        csv.DictReader(io.StringIO(cli(scan_db, "show", "--csv", "--version", "v2").stdout))
    )
    assert table and {row["scanner_version"] for row in table} == {"v2"}
    assert [int(row["rank"]) for row in table] == sorted(int(row["rank"]) for row in table)
    runs = json.loads(cli(scan_db, "runs", "--json").stdout)
    assert {r["scanner_version"] for r in runs} == {"v2", "v3"}
    assert all(r["status"] == "ok" and r["universe_count"] > 0 for r in runs)
    status = cli(scan_db, "status", "--json")
    assert status.returncode == 0
    report = json.loads(status.stdout)
    assert report["healthy"] and report["success_rate_30d"] == {"v2": 1.0, "v3": 1.0}


def test_status_unhealthy_when_failed_or_stale(scan_db):
    never = cli(scan_db, "status", "--json")
    missing = "results: no successful run of v2, v3 for 2025-11-28"
    assert never.returncode == 1 and json.loads(never.stdout)["problems"][0].startswith(missing)
    with registry.substituted(failing("v3")):
        cli(scan_db, "scan", "--version", "all", "--no-notify")
    failed = json.loads(cli(scan_db, "status", "--json").stdout)
    assert not failed["healthy"]
    assert any(p.startswith("results: no successful run of v3 for") for p in failed["problems"])
    assert cli(scan_db, "scan", "--version", "all", "--no-notify").returncode == 0
    assert cli(scan_db, "status").returncode == 0
    stale = cli(scan_db, "status", "--json", env={"SCANCTL_NOW": "2025-12-03T18:00:00"})
    assert stale.returncode == 1
    problems = json.loads(stale.stdout)["problems"]
    assert any(p.startswith("data: last bars 2025-11-28, expected 2025-12-03") for p in problems)


def test_show_with_nothing_stored_and_bad_options(scan_db):
    empty = cli(scan_db, "show")
    assert empty.returncode == 0 and "no stored picks" in empty.stderr
    both = cli(scan_db, "show", "--json", "--csv")
    assert both.returncode == 2 and "use just one of --json or --csv" in both.stderr
    bad = cli(scan_db, "show", "--date", "yesterday")
    assert bad.returncode == 2 and "not a date or 'latest'" in bad.stderr
