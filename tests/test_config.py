import pytest

from scanctl.config import MASK, render_toml
from scanctl.errors import ConfigError
from scanctl.settings import read_sources as load_config

TOML = """
[scan]
kospi_limit = 50

[engines.v3.midterm]
top_n = 7

[notify.telegram]
bot_token = "123:SECRET"
chat_id = "42"

[data]
provider = "naver"
kis_app_secret = "s3cr3t"
"""


def test_file_env_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(TOML)
    env = {"SCANCTL_SCAN_KOSDAQ_LIMIT": "0", "SCANCTL_ENGINES_V1_RSI_THRESHOLD": "60.5"}
    config = load_config(path, environ=env, flags={"scan": {"kospi_limit": 10}})
    assert config.get("scan", "kospi_limit") == 10
    assert config.get("scan", "kosdaq_limit") == 0
    assert config.get("engines.v1", "rsi_threshold") == 60.5
    assert config.get("engines.v3.midterm", "top_n") == 7
    assert config.get("notify", "telegram") == {"bot_token": "123:SECRET", "chat_id": "42"}


def test_secrets_are_masked(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(TOML)
    masked = load_config(path, environ={}).masked()
    assert masked["notify"]["telegram"] == {"bot_token": MASK, "chat_id": "42"}
    assert masked["data"]["kis_app_secret"] == MASK
    text = render_toml(masked)
    assert "SECRET" not in text and "s3cr3t" not in text and 'provider = "naver"' in text


def test_missing_default_file_is_empty_and_explicit_missing_is_error(tmp_path):
    assert load_config(None, environ={}).sections == {}
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [("[bogus]\nx = 1\n", r"unknown section \[bogus\]"), ("[scan\n", "config file")],
)
def test_bad_files(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})


def test_unknown_env_section():
    with pytest.raises(ConfigError, match="SCANCTL_FOO_BAR"):
        load_config(None, environ={"SCANCTL_FOO_BAR": "1"})


def test_config_show_lists_effective_defaults_and_masks(tmp_path):
    import json

    from typer.testing import CliRunner

    from scanctl.cli.main import app

    path = tmp_path / "c.toml"
    path.write_text(
        "[scan]\nkospi_limit = 50\n[engines.v3.midterm]\ntop_n = 7\n"
        '[notify.channels.ops]\ntype = "telegram"\nbot_token = "123:SECRET"\nchat_id = "42"\n'
    )
    result = CliRunner().invoke(app, ["--config", str(path), "config", "show", "--json"])
    assert result.exit_code == 0, result.output
    sections = json.loads(result.stdout)["sections"]
    assert sections["scan"]["kospi_limit"] == 50 and sections["scan"]["kosdaq_limit"] == 100
    assert sections["engines.v1"]["top_k"] == 5  # a default
    assert sections["engines.v3.midterm"]["top_n"] == 7  # from the file
    assert sections["data"]["provider"] == "naver"
    assert sections["notify"]["channels"]["ops"]["bot_token"] == MASK
    assert "SECRET" not in result.stdout
