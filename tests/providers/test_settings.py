"""The ``[data]`` configuration through the real config loader: defaults, provider tables,
environment variables, validation messages, credentials, and the provider registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanctl.config import load_config
from scanctl.errors import ConfigError
from scanctl.providers.base import PROVIDERS, ProviderSpec, make_provider, provider_spec
from scanctl.providers.naver import NaverProvider
from scanctl.providers.settings import (
    DataSettings,
    parse_data_settings,
    provider_config,
)


def config_from(tmp_path: Path, text: str, environ: dict[str, str] | None = None):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ=environ or {})


def test_defaults(tmp_path):
    config = config_from(tmp_path, "")
    assert parse_data_settings(config) == DataSettings()
    naver = provider_config(config, provider_spec("naver"))
    assert naver.http.base_url == "https://fchart.stock.naver.com"
    assert naver.http.max_in_flight == 5 and naver.http.rate_per_s == 80.0
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
        ("[data.naver]\nmax_in_flight = 6\n", r"max_in_flight = 6: out of range 1 … 5"),
        ("[data.naver]\nmax_in_flight = 2.5\n", r"max_in_flight = 2.5: must be an integer"),
        ("[data.naver]\ntimeout_s = true\n", r"timeout_s = True: must be a number"),
        ('[data.naver]\nbase_url = "ftp://x"\n', r"base_url = 'ftp://x': must be an http"),
        ('[data.naver]\ntoken = "x"\n', r"\[data.naver\] token: unknown key; known keys: "),
    ],
)
def test_bad_provider_keys(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        provider_config(config_from(tmp_path, text), provider_spec("naver"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[data]\ncoverage_min = 1.5\n", r"coverage_min = 1.5: out of range 0.0 … 1.0"),
        (
            '[data]\nprovider = "yahoo"\n',
            r"provider = 'yahoo': unknown provider; known: kis, kiwoom, krx-openapi, naver",
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
        make_provider("kiwoomx", config_from(tmp_path, ""), db)


def test_make_provider_builds_naver_from_config(tmp_path, db):
    text = '[data.naver]\nbase_url = "http://127.0.0.1:9"\nlisting_url = "http://127.0.0.1:8"\n'
    provider = make_provider(None, config_from(tmp_path, text), db)
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
