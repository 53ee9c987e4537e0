"""The engine registry: one entry per engine, versions resolved once, before any write."""

import json

import pytest
from typer.testing import CliRunner

from scanctl.cli.main import app
from scanctl.engines import registry
from scanctl.errors import BadInput
from tests.demo_store import DEMO_LAST_SESSION, dump

TOY = registry.EngineSpec(
    name="toy",
    description="Largest day rises (test engine).",
    module="tests.engines.toy_engine",
    labels=("rise",),
    sections=("engines.toy",),
)


def cli(db, *args, env=None):
    return CliRunner().invoke(app, ["--db", str(db), *args], env=env)


def test_the_shipped_engines_are_registered_once():
    assert registry.names() == ("v1", "v2", "v3")
    for spec in registry.engines().values():
        assert spec.description and spec.labels and spec.sections[0] == f"engines.{spec.name}"
        params = spec.default_params()
        assert params.lookback >= 21 and callable(spec.compute)


def test_resolving_versions():
    assert registry.resolve_versions(None, "v1", "v2,v3") == ("v1",)
    assert registry.resolve_versions("all", "v1", "v2,v3") == ("v2", "v3")
    assert registry.resolve_versions("v3,v2,v3", "v1", "v2,v3") == ("v2", "v3")
    for bad in ("", " , ", "v9", "v2,v9"):
        with pytest.raises(BadInput, match="unknown version"):
            registry.resolve_versions(bad, "v1", "v2,v3")


@pytest.mark.parametrize("version", ["", "v9", "v2,"])
def test_a_bad_version_exits_2_before_anything_is_written(scan_db, version):
    before = {table: dump(scan_db, table) for table in ("scan_rank", "scan_runs")}
    result = cli(scan_db, "scan", "--version", version, "--no-notify")
    if version == "v2,":
        assert result.exit_code == 0  # a trailing comma is still the list "v2"
        return
    assert result.exit_code == 2, result.output
    assert "unknown version" in result.stderr
    assert {table: dump(scan_db, table) for table in before} == before


def test_a_new_engine_is_one_module_and_one_entry(scan_db):
    """A toy engine registered at run time goes through scan, show, runs and inspect."""
    with registry.registered(TOY):
        result = cli(scan_db, "scan", "--version", "toy,v2", "--no-notify", "--json")
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert list(doc["versions"]) == ["v2", "toy"]
        assert doc["versions"]["toy"]["status"] == "ok"
        picked = doc["versions"]["toy"]["matched_count"]
        assert picked == 2

        shown = json.loads(cli(scan_db, "show", "--version", "toy", "--json").stdout)
        assert shown["date"] == DEMO_LAST_SESSION
        rows = [row for row in shown["picks"] if row["scanner_version"] == "toy"]
        assert [row["rank"] for row in rows] == [1, 2]
        assert rows[0]["change_rate"] >= rows[1]["change_rate"] > 0

        runs = json.loads(cli(scan_db, "runs", "--version", "toy", "--json").stdout)
        assert [run["scanner_version"] for run in runs] == ["toy"]
        assert runs[0]["status"] == "ok" and runs[0]["date"] == DEMO_LAST_SESSION
        assert runs[0]["matched_count"] == 2

        code = rows[0]["code"]
        inspected = cli(scan_db, "inspect", code, "--version", "toy", "--json")
        assert inspected.exit_code == 0, inspected.output
        verdict = json.loads(inspected.stdout)["versions"]["toy"]
        assert verdict["picked"] is True and verdict["rank"] == 1 and verdict["reason"] is None

        bad = cli(
            scan_db,
            "scan",
            "--version",
            "toy",
            "--no-notify",
            env={"SCANCTL_ENGINES_TOY_TOP_N": "0"},
        )
        assert bad.exit_code == 2
        assert "[engines.toy] top_n must be an integer ≥ 1, got 0" in bad.stderr
        assert "(from SCANCTL_ENGINES_TOY_TOP_N)" in bad.stderr
    assert "toy" not in registry.names()
