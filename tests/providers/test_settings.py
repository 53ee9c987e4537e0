"""The ``[data]`` configuration through the real config loader: defaults, provider tables,
environment variables, validation messages, credentials, and the provider registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scanctl.config import load_config
from scanctl.errors import ConfigError
from scanctl.providers.base import PROVIDERS, ProviderSpec, make_provider, provider_spec
from scanctl.providers.naver import NaverProvider
from scanctl.providers.settings import (
    DataConfig,
    DataSettings,
    HttpSettings,
    declared_options,
    describe,
    parse_data_settings,
    provider_config,
)
from tests.declared import bounded, check_declarations, declared


def config_from(tmp_path: Path, text: str, environ: dict[str, str] | None = None):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ=environ or {})


def test_defaults(tmp_path):
    config = config_from(tmp_path, "")
    assert parse_data_settings(config) == DataSettings()
    naver = provider_config(config, provider_spec("naver"))
    assert naver.http.base_url == "https://fchart.stock.naver.com"
    assert naver.http.max_in_flight == 4 and naver.http.rate_per_s == 10.0  # polite: README
    assert (naver.http.connect_timeout_s, naver.http.timeout_s) == (5.0, 20.0)
    assert naver.options["listing_url"] == "https://m.stock.naver.com"


def test_file_table_and_environment(tmp_path):
    text = """
[data]
provider = "naver"
coverage_min = 0.9
invalid_max = 2

[data.naver]
base_url = "http://127.0.0.1:9/"
listing_url = "http://127.0.0.1:9"
max_in_flight = 3
timeout_s = 7
"""
    environ = {"SCANCTL_DATA_NAVER_RATE_PER_S": "12.5", "SCANCTL_DATA_NAVER_TIMEOUT_S": "9"}
    config = config_from(tmp_path, text, environ)
    settings = parse_data_settings(config)
    assert settings.coverage_min == 0.9 and settings.invalid_max == 2
    naver = provider_config(config, provider_spec("naver"))
    assert naver.http.base_url == "http://127.0.0.1:9"
    assert naver.http.max_in_flight == 3
    assert naver.http.rate_per_s == 12.5 and naver.http.timeout_s == 9.0  # env wins


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[data.naver]\nmax_in_flight = 6\n",
            r"\[data.naver\] max_in_flight must be an integer between 1 and 5, got 6 \(from config",
        ),
        (
            "[data.naver]\nmax_in_flight = 2.5\n",
            r"max_in_flight must be an integer between 1 and 5, got 2.5",
        ),
        (
            "[data.naver]\ntimeout_s = true\n",
            r"timeout_s must be a number ≥ 0.01 and ≤ 600, got True",
        ),
        (
            '[data.naver]\nbase_url = "ftp://x"\n',
            r"base_url must be an http:// or https:// URL, got 'ftp://x'",
        ),
        ('[data.naver]\ntoken = "x"\n', r"\[data.naver\] token: unknown key; known keys: "),
    ],
)
def test_bad_provider_keys(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        provider_config(config_from(tmp_path, text), provider_spec("naver"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[data]\ncoverage_min = 1.5\n",
            r"\[data\] coverage_min must be a number ≥ 0 and ≤ 1, got 1.5",
        ),
        (
            '[data]\nprovider = "yahoo"\n',
            r"provider must be one of kis, kiwoom, krx-openapi, naver, got 'yahoo'",
        ),
        ("[data]\ncoverage = 0.9\n", r"\[data\] coverage: unknown key; known keys: provider"),
    ],
)
def test_bad_data_keys(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        parse_data_settings(config_from(tmp_path, text))


def test_unknown_source_lists_known_ones(tmp_path, db):
    known = r"known: kis, kiwoom, krx-openapi, naver"
    with pytest.raises(ConfigError, match=rf"unknown provider 'kiwoomx'; {known}"):
        make_provider("kiwoomx", DataConfig.from_config(config_from(tmp_path, "")), db)


def test_make_provider_builds_naver_from_config(tmp_path, db):
    text = '[data.naver]\nbase_url = "http://127.0.0.1:9"\nlisting_url = "http://127.0.0.1:8"\n'
    provider = make_provider(None, DataConfig.from_config(config_from(tmp_path, text)), db)
    try:
        assert isinstance(provider, NaverProvider) and provider.name == "naver"
        assert provider.chart_url == "http://127.0.0.1:9/sise.nhn"
        assert provider.listing_url == "http://127.0.0.1:8/api/stocks/marketValue/{market}"
    finally:
        provider.close()


def test_credentials_are_required_and_named(tmp_path):
    spec = ProviderSpec(
        name="krx-openapi",
        build=lambda config, client: None,
        http_defaults={"base_url": "https://data-dbg.krx.co.kr"},
        options={"auth_key": None, "markets": "STK,KSQ"},
        required=frozenset({"auth_key"}),
    )
    with pytest.raises(
        ConfigError,
        match=r"set auth_key in \[data.krx-openapi\] or SCANCTL_DATA_KRX_OPENAPI_AUTH_KEY",
    ):
        provider_config(config_from(tmp_path, ""), spec)
    config = config_from(tmp_path, "", {"SCANCTL_DATA_KRX_OPENAPI_AUTH_KEY": "k-123"})
    settings = provider_config(config, spec)
    assert settings.options["auth_key"] == "k-123" and settings.secret_values() == ("k-123",)
    table = config_from(tmp_path, '[data.krx-openapi]\nauth_key = "k-9"\nmarkets = "STK"\n')
    assert provider_config(table, spec).secret_values() == ("k-9",)


def test_registry_entries_import():
    for name in PROVIDERS:
        assert provider_spec(name).name == name


# ---- declared keys --------------------------------------------------------------------------


def test_every_key_is_described_with_a_default_its_rule_accepts():
    check_declarations(DataSettings)
    check_declarations(HttpSettings)
    docs = describe()
    assert [doc.key for doc in docs if doc.section == "data"] == list(DataSettings.keys())
    for name in PROVIDERS:
        spec = provider_spec(name)
        options = declared_options(spec)
        assert spec.options is options  # every real provider declares its keys
        check_declarations(options)
        HttpSettings.from_mapping(spec.http_defaults)  # the provider's defaults pass the rules
        defaults = {key: default for key, _, default in declared(options)}
        assert all(defaults[key] is None for key in spec.required)
        table = {doc.key: doc for doc in docs if doc.section == f"data.{name}"}
        assert list(table) == [*HttpSettings.keys(), *options.keys()]
        assert table["base_url"].default == spec.http_defaults["base_url"]
        for key in spec.required:
            assert table[key].secret and table[key].accepts.endswith("; required")
        assert all(doc.doc for doc in table.values())


@pytest.mark.parametrize(("key", "value"), bounded(DataSettings))
def test_an_out_of_range_data_value_names_the_key_and_its_source(tmp_path, key, value):
    message = rf"^\[data\] {key} must be .*, got {value!r} \(from config file '.*'\)$"
    with pytest.raises(ConfigError, match=message):
        parse_data_settings(config_from(tmp_path, f"[data]\n{key} = {value!r}\n"))
    variable = f"SCANCTL_DATA_{key.upper()}"
    with pytest.raises(ConfigError, match=rf"got {value!r} \(from {variable}\)$"):
        parse_data_settings(config_from(tmp_path, "", {variable: repr(value)}))


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize(("key", "value"), bounded(HttpSettings))
def test_an_out_of_range_http_value_names_the_table_key_and_source(tmp_path, provider, key, value):
    spec = provider_spec(provider)
    table = rf"\[data\.{re.escape(provider)}\]"
    text = f'[data."{provider}"]\n{key} = {value!r}\n'
    with pytest.raises(
        ConfigError, match=rf"^{table} {key} must be .*, got {value!r} \(from config"
    ):
        provider_config(config_from(tmp_path, text), spec)
    variable = f"SCANCTL_DATA_{provider.replace('-', '_').upper()}_{key.upper()}"
    with pytest.raises(ConfigError, match=rf"^{table} {key} .* \(from {variable}\)$"):
        provider_config(config_from(tmp_path, "", {variable: repr(value)}), spec)


def test_a_bad_credential_is_named_with_its_source_but_not_shown(tmp_path):
    variable = "SCANCTL_DATA_KRX_OPENAPI_AUTH_KEY"
    with pytest.raises(ConfigError) as caught:
        provider_config(
            config_from(tmp_path, "", {variable: "[1, 2]"}), provider_spec("krx-openapi")
        )
    assert str(caught.value) == (
        "[data.krx-openapi] auth_key must be a non-empty string, got a secret value "
        f"(from {variable})"
    )
    digits = config_from(tmp_path, "", {variable: "123456"})  # the environment reads a number
    settings = provider_config(digits, provider_spec("krx-openapi"))
    assert settings.options["auth_key"] == "123456" and "123456" not in repr(settings)


def test_provider_urls_are_checked_when_loaded(tmp_path):
    text = '[data.kis]\nmaster_url = "master.test"\napp_key = "k"\napp_secret = "s"\n'
    with pytest.raises(
        ConfigError, match=r"^\[data\.kis\] master_url must be an http:// or https://"
    ):
        provider_config(config_from(tmp_path, text), provider_spec("kis"))
