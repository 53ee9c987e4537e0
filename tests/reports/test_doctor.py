"""`scanctl doctor` passes on a good installation and fails on each broken condition."""

import json
import shutil

from scanctl.store.schema import SCHEMA_VERSION
from tests.conftest import run_cli


def doctor(db, *args, env=None):
    result = run_cli("--db", str(db), *args, "doctor", "--json", env=env)
    return result.returncode, {c["name"]: c for c in json.loads(result.stdout)}


def test_good_installation_passes(scan_db):
    code, checks = doctor(scan_db)
    assert code == 0
    assert set(checks) == {"config", "database", "calendar", "data", "engines", "notify", "lock"}
    assert all(check["ok"] for check in checks.values())
    assert f"schema v{SCHEMA_VERSION}, current" in checks["database"]["detail"]


def test_plain_output_is_one_line_per_check(scan_db):
    result = run_cli("--db", str(scan_db), "doctor")
    assert result.returncode == 0
    assert len(result.stdout.strip().splitlines()) == 1 + 7


def test_missing_and_corrupt_database(tmp_path):
    code, checks = doctor(tmp_path / "missing.db")
    assert code == 1 and not checks["database"]["ok"]
    assert "no scanctl store" in checks["database"]["detail"]
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"not sqlite" * 500)
    code, checks = doctor(corrupt)
    assert code == 1 and "not a usable scanctl database" in checks["database"]["detail"]


def test_stale_data_fails(scan_db):
    code, checks = doctor(scan_db, env={"SCANCTL_NOW": "2025-12-02T18:00:00"})
    assert code == 1
    assert checks["data"]["detail"].startswith("last bars 2025-11-28, expected 2025-12-02")


def test_short_calendar_horizon_fails(scan_db):
    code, checks = doctor(scan_db, env={"SCANCTL_NOW": "2027-11-01T18:00:00"})
    assert code == 1 and not checks["calendar"]["ok"]
    assert "fewer than 60 days ahead" in checks["calendar"]["detail"]


def test_channel_missing_setting_fails(scan_db, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[notify.channels.ops]\ntype = "telegram"\nchat_id = "1"\n')
    code, checks = doctor(scan_db, "--config", str(config))
    assert code == 1 and not checks["notify"]["ok"] and "bot_token" in checks["notify"]["detail"]
    assert checks["database"]["ok"]  # the other checks still ran


def test_bad_config_and_engine_params(scan_db, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[engines.v2]\ntop_k = 0\n")
    code, checks = doctor(scan_db, "--config", str(config))
    assert code == 1 and not checks["engines"]["ok"] and "top_k" in checks["engines"]["detail"]
    broken = tmp_path / "broken.toml"
    broken.write_text("[scan\n")
    code, checks = doctor(scan_db, "--config", str(broken))
    assert code == 1 and not checks["config"]["ok"]


def test_unusable_lock_location_fails(scan_db, tmp_path):
    lock = scan_db.with_name(scan_db.name + ".lock")
    lock.mkdir()  # a folder where the lock file should be
    code, checks = doctor(scan_db)
    assert code == 1 and "cannot be opened" in checks["lock"]["detail"]
    shutil.rmtree(lock)
