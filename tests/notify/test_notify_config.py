"""[notify] and [healthcheck] parsing: the documented shape, defaults, env keys, every error."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanctl.config import MASK, Config, is_secret_key, load_config, mask_value
from scanctl.errors import ConfigError
from scanctl.notify.config import (
    ChannelConfig,
    HealthcheckSettings,
    NotifySettings,
    describe,
    load_healthcheck_settings,
    load_notify_settings,
)
from tests.declared import bounded, check_declarations

CONFIG_TOML = """
[notify]
min_matched = 2
top_n = 5
timeout_s = 3
max_attempts = 3
backoff_s = 0.5

[notify.channels.kakao]
type = "solapi"
api_key = "KEY-1234"
api_secret = "SOLAPI-SECRET-9999"
pf_id = "PF01"
template_id = "TP01"
from = "02-1234-5678"
to = ["010-1111-2222", "01033334444"]

[notify.channels.ops]
type = "telegram"
bot_token = "111:TELEGRAM-SECRET-TOKEN-abcdefghij"
chat_id = -100200
daily = false

[notify.channels.team]
type = "slack"
webhook_url = "https://hooks.slack.com/services/T0/B0/SLACKSECRET"

[healthcheck]
ping_url = "https://hc-ping.com/0b7d7d0e-ffff-4a4a-9c9c-000000000000/"
"""

SECRETS = (
    "KEY-1234",
    "SOLAPI-SECRET-9999",
    "111:TELEGRAM-SECRET-TOKEN-abcdefghij",
    "SLACKSECRET",
    "0b7d7d0e-ffff",
)


def notify(section: dict) -> Config:
    return Config(sections={"notify": section})


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG_TOML, encoding="utf-8")
    return path


def test_documented_shape_parses(config_file):
    settings = load_notify_settings(load_config(config_file, environ={}))
    assert (settings.min_matched, settings.top_n, settings.max_attempts) == (2, 5, 3)
    assert (settings.timeout_s, settings.backoff_s, settings.max_retry_after_s) == (3, 0.5, 60)
    assert settings.template == "default" and settings.template_text is None
    kakao, ops, team = settings.channels
    assert (kakao.type, kakao.daily, kakao.alerts) == ("solapi", True, False)
    assert kakao.options["from"] == "0212345678"
    assert kakao.options["to"] == ("01011112222", "01033334444")
    assert kakao.options["base_url"] == "https://api.solapi.com"
    assert (ops.type, ops.daily, ops.alerts, ops.options["chat_id"]) == (
        "telegram",
        False,
        True,
        "-100200",
    )
    assert ops.options["base_url"] == "https://api.telegram.org"
    assert [c.name for c in settings.channels_for("daily")] == ["kakao", "team"]
    assert [c.name for c in settings.channels_for("failure")] == ["ops", "team"]
    assert [c.name for c in settings.channels_for("test")] == ["kakao", "ops", "team"]


def test_defaults_without_section():
    settings = load_notify_settings(Config())
    assert settings.channels == ()
    assert (settings.min_matched, settings.top_n, settings.c_name) == (1, 3, "고객님")
    assert (settings.max_attempts, settings.backoff_s) == (4, 1.0)
    assert settings.timeouts == (10.0, 30.0)  # generous: connect 10 s, reply 30 s
    health = load_healthcheck_settings(Config())
    assert health.ping_url is None and (health.timeout_s, health.attempts) == (10, 3)


def test_secret_keys_are_masked_and_never_in_repr(config_file):
    for key in ("api_key", "api_secret", "bot_token", "webhook_url", "ping_url"):
        assert is_secret_key(key), key
    config = load_config(config_file, environ={})
    shown = repr(config.masked())
    assert all(secret not in shown for secret in SECRETS)
    assert config.masked()["notify"]["channels"]["ops"]["bot_token"] == MASK
    settings = load_notify_settings(config)
    health = load_healthcheck_settings(config)
    text = repr(settings) + repr(health)
    assert all(secret not in text for secret in SECRETS)
    assert "ops" in text


def test_environment_sets_channel_keys(config_file):
    environ = {
        "SCANCTL_NOTIFY_CHANNELS_OPS_BOT_TOKEN": "222:FROM-ENV-TOKEN-abcdefghijklmnop",
        "SCANCTL_NOTIFY_CHANNELS_OPS_DAILY": "true",
        "SCANCTL_NOTIFY_CHANNELS_HOOK_TYPE": "webhook",
        "SCANCTL_NOTIFY_CHANNELS_HOOK_WEBHOOK_URL": "https://example.test/hook/abc",
        "SCANCTL_NOTIFY_TOP_N": "1",
        "SCANCTL_HEALTHCHECK_TIMEOUT_S": "2",
    }
    config = load_config(config_file, environ=environ)
    settings = load_notify_settings(config)
    assert settings.top_n == 1
    ops = settings.channel("ops")
    assert ops.options["bot_token"] == "222:FROM-ENV-TOKEN-abcdefghijklmnop" and ops.daily
    hook = settings.channel("hook")
    assert hook.type == "webhook" and hook.options["webhook_url"].endswith("/hook/abc")
    assert load_healthcheck_settings(config).timeout_s == 2
    assert mask_value("notify", dict(config.section("notify")))["channels_ops_bot_token"] == MASK


def test_env_channel_name_with_underscore_matches_file_channel():
    section = {
        "channels": {"ops_team": {"type": "slack", "webhook_url": "https://a.test/x"}},
        "channels_ops_team_webhook_url": "https://b.test/y",
    }
    channel = load_notify_settings(notify(section)).channel("ops_team")
    assert channel.options["webhook_url"] == "https://b.test/y"


def test_template_file_next_to_config(tmp_path):
    (tmp_path / "msg.txt").write_text("{date}: {count}\n{versions}\n", encoding="utf-8")
    config = Config(sections={"notify": {"template": "msg.txt"}}, path=tmp_path / "c.toml")
    settings = load_notify_settings(config)
    assert settings.template_text == "{date}: {count}\n{versions}\n"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"colour": 1},
            r"\[notify\] unknown key 'colour'; known keys: template, .*channels\.<name>",
        ),
        ({"top_n": -1}, r"\[notify\] top_n must be an integer between 0 and 50, got -1"),
        ({"top_n": True}, r"\[notify\] top_n must be an integer"),
        ({"timeout_s": 0}, r"\[notify\] timeout_s must be a number ≥ 0\.05 and ≤ 300, got 0"),
        ({"max_attempts": 0}, r"\[notify\] max_attempts must be an integer between 1 and 10"),
        ({"template": "/nonexistent/t.txt"}, r"\[notify\] template: cannot read"),
        ({"channels": []}, r"\[notify\] channels: expected a table"),
        (
            {"channels": {"x": {"type": "pager"}}},
            r"\[notify\.channels\.x\] type must be one of solapi, telegram, .*, got 'pager'",
        ),
        ({"channels": {"log": {"type": "slack"}}}, r"'log' is reserved"),
        (
            {"channels": {"ops": {"type": "telegram", "chat_id": "1"}}},
            r"\[notify\.channels\.ops\] bot_token: missing; a telegram channel needs",
        ),
        (
            {"channels": {"ops": {"type": "slack", "webhook_url": "x", "colour": 1}}},
            r"\[notify\.channels\.ops\] unknown key 'colour' for type 'slack'",
        ),
        (
            {"channels": {"ops": {"type": "slack", "webhook_url": "https://a.b/c", "daily": 1}}},
            r"\[notify\.channels\.ops\] daily must be true or false",
        ),
        (
            {
                "channels": {
                    "k": {
                        "type": "solapi",
                        "api_key": "a",
                        "api_secret": "b",
                        "pf_id": "p",
                        "template_id": "t",
                        "from": "0212345678",
                        "to": "01012345678",
                        "alerts": True,
                    }
                }
            },
            r"\[notify\.channels\.k\] alerts: AlimTalk sends only pre-approved templates",
        ),
        (
            {
                "channels": {
                    "k": {
                        "type": "solapi",
                        "api_key": "a",
                        "api_secret": "b",
                        "pf_id": "p",
                        "template_id": "t",
                        "from": "0212345678",
                        "to": ["01012345678", "call me"],
                    }
                }
            },
            r"\[notify\.channels\.k\] to must be a phone number of 8 to 15 digits.*'call me'",
        ),
    ],
)
def test_invalid_notify_section(section, message):
    with pytest.raises(ConfigError, match=message):
        load_notify_settings(notify(section))


def test_bad_secret_values_are_not_repeated():
    section = {"channels": {"hook": {"type": "webhook", "webhook_url": "ftp://host/SECRETPATH"}}}
    with pytest.raises(ConfigError, match=r"hook\] webhook_url must be an http") as caught:
        load_notify_settings(notify(section))
    assert "SECRETPATH" not in str(caught.value)
    section = {"channels": {"ops": {"type": "telegram", "bot_token": 12345678, "chat_id": "1"}}}
    with pytest.raises(
        ConfigError, match=r"ops\] bot_token must be a non-empty string, got a secret value"
    ):
        load_notify_settings(notify(section))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{date} {total}", r"unknown placeholder \{total\}"),
        ("{date.year}", r"unknown placeholder \{date\.year\}"),
        ("{date", r"\[notify\] template .*placeholders are"),
    ],
)
def test_template_placeholders_are_checked(tmp_path, text, message):
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    config = Config(sections={"notify": {"template": str(tmp_path / "t.txt")}})
    with pytest.raises(ConfigError, match=message):
        load_notify_settings(config)


def test_healthcheck_section():
    config = Config(sections={"healthcheck": {"ping_url": "https://hc.test/abc/", "timeout_s": 3}})
    health = load_healthcheck_settings(config)
    assert (health.ping_url, health.timeout_s) == ("https://hc.test/abc", 3)
    with pytest.raises(ConfigError, match=r"\[healthcheck\] url: use ping_url"):
        load_healthcheck_settings(Config(sections={"healthcheck": {"url": "https://x.test"}}))
    with pytest.raises(ConfigError, match=r"\[healthcheck\] ping_url must be an http"):
        load_healthcheck_settings(Config(sections={"healthcheck": {"ping_url": "hc.test/x"}}))


def test_channel_receives():
    channel = ChannelConfig(name="a", type="slack", daily=False, alerts=True)
    assert not channel.receives("daily")
    assert channel.receives("failure") and channel.receives("test")


# ---- declared keys --------------------------------------------------------------------------

SECTIONS = {"notify": NotifySettings, "healthcheck": HealthcheckSettings}
LOADERS = {"notify": load_notify_settings, "healthcheck": load_healthcheck_settings}


def test_every_key_is_described_with_a_default_its_rule_accepts():
    for section_class in SECTIONS.values():
        check_declarations(section_class)
    keys = {(doc.section, doc.key) for doc in describe()}
    assert ("notify", "top_n") in keys and ("healthcheck", "ping_url") in keys
    assert ("notify", "channels") not in keys and ("notify", "template_text") not in keys
    assert load_notify_settings(Config()) == NotifySettings()
    assert load_healthcheck_settings(Config()) == HealthcheckSettings()


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [(section, key, value) for section, cls in SECTIONS.items() for key, value in bounded(cls)],
)
def test_an_out_of_range_value_names_the_key_and_its_source(section, key, value):
    with pytest.raises(ConfigError, match=rf"^\[{section}\] {key} must be .*, got {value!r}$"):
        LOADERS[section](Config(sections={section: {key: value}}))
    variable = f"SCANCTL_{section.upper()}_{key.upper()}"
    with pytest.raises(ConfigError, match=rf"got {value!r} \(from {variable}\)$"):
        LOADERS[section](load_config(None, environ={variable: repr(value)}))
