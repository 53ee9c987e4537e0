"""A store for the daily-page tests, built once per test run: the demo market of
tests/demo_store.py backfilled with v1, v2 and v3 over its last 13 sessions (the 10-session
returns of the first three close, so the track record has curves), with v3's midterm keeping
up to 30 picks so that the last session has at least 30 picks in all."""

import shutil

import pytest

from tests.conftest import built_once, run_cli
from tests.demo_store import DEMO_LAST_SESSION

FIRST_SESSION = "2025-11-12"
CONFIG = "[engines.v3.midterm]\ntop_n = 30\n"


@pytest.fixture(scope="session")
def page_template(tmp_path_factory, demo_template):
    def build(path):
        shutil.copy(demo_template, path)
        config = path.with_suffix(".toml")
        config.write_text(CONFIG, encoding="utf-8")
        args = ("--db", str(path), "--config", str(config))
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SCANCTL_NOW", "2025-11-28T18:00:00")
            result = run_cli(
                *args, "backfill", "--from", FIRST_SESSION, "--to", DEMO_LAST_SESSION,
                "--version", "v1,v2,v3",
            )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return str(config)

    return built_once(tmp_path_factory, "page-store.db", build)


@pytest.fixture
def page_db(page_template, tmp_path):
    """A private copy of the page store and its config: ``(db path, config path)``."""
    path = tmp_path / "page.db"
    shutil.copy(page_template[0], path)
    config = tmp_path / "page.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return path, config
