"""The declared channel types: their keys, required keys, sources of bad values and describe."""

from __future__ import annotations

import pytest

from scanctl.config import Config, load_config
from scanctl.errors import ConfigError
from scanctl.notify.channel_config import (
    CHANNEL_CONFIGS,
    CHANNEL_TYPES,
    ChannelConfig,
    SolapiChannelConfig,
    TelegramChannelConfig,
)
from scanctl.notify.config import describe, load_notify_settings
from tests.declared import check_declarations, declared

# A complete table of each type (fake values), to break one key at a time.
VALID = {
    "solapi": {
        "api_key": "KEY-1",
        "api_secret": "SECRET-1",
        "pf_id": "PF01",
        "template_id": "TP01",
        "from": "02-1234-5678",
        "to": ["010-1111-2222"],
    },
    "telegram": {"bot_token": "111:TOKEN-abc", "chat_id": "-100"},
    "slack": {"webhook_url": "https://hooks.test/services/SECRETPATH"},
    "discord": {"webhook_url": "https://discord.test/api/webhooks/1/SECRETPATH"},
    "webhook": {"webhook_url": "https://hooks.test/x/SECRETPATH"},
}


def channels(**tables: dict) -> Config:
    return Config(sections={"notify": {"channels": tables}})


def test_every_type_is_declared_with_described_keys_and_valid_defaults():
    assert tuple(CHANNEL_CONFIGS) == CHANNEL_TYPES == tuple(VALID)
    for kind, config_class in CHANNEL_CONFIGS.items():
        assert kind == config_class.TYPE
        check_declarations(config_class)
        fields = {name for name, _, _ in declared(config_class)}
        assert {ChannelConfig.FIELDS.get(key, key) for key in config_class.REQUIRED} <= fields
        channel = load_notify_settings(channels(c={"type": kind, **VALID[kind]})).channel("c")
        assert type(channel) is config_class and channel.type == kind


@pytest.mark.parametrize(
    ("kind", "key"),
    [(kind, key) for kind, cls in CHANNEL_CONFIGS.items() for key in cls.REQUIRED],
)
def test_each_required_key_is_named_when_missing(kind, key):
    table = {"type": kind, **{k: v for k, v in VALID[kind].items() if k != key}}
    needs = ", ".join(CHANNEL_CONFIGS[kind].REQUIRED)
    message = rf"\[notify\.channels\.c\] {key}: missing; a {kind} channel needs {needs}$"
    with pytest.raises(ConfigError, match=message):
        load_notify_settings(channels(c=table))


@pytest.mark.parametrize("kind", CHANNEL_TYPES)
def test_a_bad_value_from_the_environment_names_the_variable(kind):
    environ = {
        "SCANCTL_NOTIFY_CHANNELS_OPS_TYPE": kind,
        **{
            f"SCANCTL_NOTIFY_CHANNELS_OPS_{key.upper()}": str(value).replace("'", '"')
            for key, value in VALID[kind].items()
        },
        "SCANCTL_NOTIFY_CHANNELS_OPS_DAILY": "3",
    }
    with pytest.raises(ConfigError) as caught:
        load_notify_settings(load_config(None, environ=environ))
    assert str(caught.value) == (
        "[notify.channels.ops] daily must be true or false, got 3 "
        "(from SCANCTL_NOTIFY_CHANNELS_OPS_DAILY)"
    )


def test_a_bad_value_from_the_file_names_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[notify.channels.ops]\ntype = "telegram"\nbot_token = "t"\nchat_id = true\n')
    with pytest.raises(ConfigError) as caught:
        load_notify_settings(load_config(path, environ={}))
    assert str(caught.value) == (
        f"[notify.channels.ops] chat_id must be a non-empty string, got True "
        f"(from config file {str(path)!r})"
    )


@pytest.mark.parametrize("kind", ["slack", "discord", "webhook"])
def test_a_bad_secret_url_is_not_repeated(kind):
    environ = {
        "SCANCTL_NOTIFY_CHANNELS_HOOK_TYPE": kind,
        "SCANCTL_NOTIFY_CHANNELS_HOOK_WEBHOOK_URL": "ftp://hooks.test/SECRETPATH",
    }
    with pytest.raises(ConfigError) as caught:
        load_notify_settings(load_config(None, environ=environ))
    assert str(caught.value) == (
        "[notify.channels.hook] webhook_url must be an http:// or https:// URL, got a secret "
        "value (from SCANCTL_NOTIFY_CHANNELS_HOOK_WEBHOOK_URL)"
    )


def test_values_are_normalised_as_before():
    keys = {k: v for k, v in VALID["solapi"].items() if k != "from"}
    solapi = SolapiChannelConfig(
        name="k", **{**keys, "from_": 212345678, "to": "010-1111-2222", "pf_id": " PF01 "}
    )
    assert (solapi.from_, solapi.to, solapi.pf_id, solapi.alerts) == (
        "212345678",
        ("01011112222",),
        "PF01",
        False,
    )
    assert solapi.options["from"] == "212345678" and "from_" not in solapi.options
    telegram = TelegramChannelConfig(name="t", bot_token="tok", chat_id=-100200)
    assert telegram.chat_id == "-100200" and telegram.alerts and telegram.daily
    assert telegram.options["base_url"] == "https://api.telegram.org"


def test_secrets_stay_out_of_repr_and_are_listed_for_scrubbing():
    settings = load_notify_settings(
        channels(**{kind: {"type": kind, **VALID[kind]} for kind in CHANNEL_TYPES})
    )
    text = repr(settings)
    for secret in ("KEY-1", "SECRET-1", "111:TOKEN-abc", "SECRETPATH"):
        assert secret not in text
    found = settings.secret_values()
    assert {"KEY-1", "SECRET-1", "111:TOKEN-abc"} <= set(found)
    assert any("SECRETPATH" in value for value in found)


def test_describe_lists_each_type_table_with_its_keys():
    docs = [doc for doc in describe() if doc.section == "notify.channels.<name>"]
    for kind, config_class in CHANNEL_CONFIGS.items():
        keys = [doc.key for doc in docs if doc.when == f'type = "{kind}"']
        assert keys == list(config_class.config_keys()), kind
        assert keys[:3] == ["type", "daily", "alerts"]
    by_key = {(doc.when, doc.key): doc for doc in docs}
    solapi = 'type = "solapi"'
    assert by_key[(solapi, "alerts")].default is False
    assert by_key[('type = "slack"', "alerts")].default is True
    assert by_key[(solapi, "type")].default == "solapi"
    assert by_key[(solapi, "from")].accepts.endswith("; required")
    assert by_key[(solapi, "from")].env == "SCANCTL_NOTIFY_CHANNELS_<NAME>_FROM"
    secrets = {doc.key for doc in docs if doc.secret}
    assert secrets == {"api_key", "api_secret", "bot_token", "webhook_url"}
    assert all(doc.doc for doc in docs)
