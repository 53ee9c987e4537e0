"""The declared keys of the engine and market sections (`scanctl.config.setting`).

Every key is declared once, with a one-line description and a default that passes its own rule;
a value outside a declared bound is refused naming ``[section] key``; and an error names the
source of the bad value when the caller passes an origin.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from scanctl.config import RULE, Rule, Section
from scanctl.engines.scoring import Weights
from scanctl.engines.v1 import V1Params
from scanctl.engines.v2 import V2Params
from scanctl.engines.v3 import MidtermParams, PullbackParams, V3Params
from scanctl.errors import ConfigError
from scanctl.market.params import MarketParams, ScanOptions, UniverseParams
from scanctl.settings import read_sources as load_config
from tests.declared import out_of_range as declared_out_of_range

SECTIONS: tuple[type[Section], ...] = (
    UniverseParams,
    ScanOptions,
    MarketParams,
    V1Params,
    V2Params,
    V3Params,
    MidtermParams,
    PullbackParams,
)
# The kind each annotation must have: the kind follows the default, so an int default on a
# float key (min_price = 2000) needs kind="number".
KIND_OF_ANNOTATION = {
    "int": "integer",
    "float": "number",
    "bool": "flag",
    "str": "text",
    "tuple[str, ...]": "texts",
    "tuple[float, ...]": "numbers",
}


def declared(cls: type[Section]) -> list[tuple[dataclasses.Field, Rule]]:
    return [(f, f.metadata[RULE]) for f in dataclasses.fields(cls) if RULE in f.metadata]


def out_of_range(rule: Rule) -> list[object]:
    """One value beyond each declared bound (and one outside the choices)."""
    if rule.choices is not None:
        return [["nope"]] if rule.kind == "texts" else ["nope"]
    return list(declared_out_of_range(rule))


def bounded_cases() -> list[tuple[type[Section], str, object]]:
    return [
        (cls, f.name, value)
        for cls in SECTIONS
        for f, rule in declared(cls)
        for value in out_of_range(rule)
    ]


# --------------------------------------------------------------------------- declarations


@pytest.mark.parametrize("cls", (*SECTIONS, Weights), ids=lambda cls: cls.__name__)
def test_every_key_has_a_description_and_a_default_that_passes_its_rule(cls):
    keys = declared(cls)
    assert keys, f"{cls.__name__} declares no keys"
    for f, rule in keys:
        where = f"[{cls.SECTION}] {f.name}"
        assert rule.doc.strip() and "\n" not in rule.doc, f"{where}: no one-line description"
        assert "§" in rule.doc, f"{where}: the description cites no spec section"
        if rule.kind not in ("table", "tables"):  # tables are checked by `validate`
            assert rule.check(f.default) is not None, f"{where}: default {f.default!r} refused"
        expected = KIND_OF_ANNOTATION.get(str(f.type))
        if expected is not None:
            assert rule.kind == expected, f"{where}: {f.type} declared as {rule.kind}"
    assert [doc.key for doc in cls.describe()] == [f.name for f, _ in keys]
    cls()  # the defaults together pass the rules between keys


def test_every_field_of_a_section_is_a_key_except_v3_sub_tables():
    for cls in SECTIONS:
        others = {f.name for f in dataclasses.fields(cls)} - set(cls.keys())
        assert others == ({"midterm", "pullback"} if cls is V3Params else set()), cls


def test_v1_and_v2_declare_their_shared_keys_with_the_same_rule():
    v2_rules = {f.name: rule for f, rule in declared(V2Params)}
    shared = [(f.name, rule) for f, rule in declared(V1Params) if f.name in v2_rules]
    assert len(shared) == 27
    for name, rule in shared:  # the descriptions cite each engine's own spec section
        assert dataclasses.replace(rule, doc="") == dataclasses.replace(v2_rules[name], doc=""), (
            name
        )


# --------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    ("cls", "key", "value"),
    bounded_cases(),
    ids=lambda x: x.__name__ if isinstance(x, type) else repr(x),
)
def test_a_value_beyond_a_declared_bound_names_section_and_key(cls, key, value):
    with pytest.raises(ConfigError) as error:
        cls.from_mapping({key: value})
    message = str(error.value)
    assert message.startswith(f"[{cls.SECTION}] {key} must be "), message
    assert message.endswith(f"got {value!r}"), message


def test_every_section_has_bounded_keys():
    sections = {cls for cls, _, _ in bounded_cases()}
    assert sections == set(SECTIONS) - {V3Params}  # pullback_enabled is a flag


@pytest.mark.parametrize("owner", [V1Params, V2Params], ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("key", Weights.keys())
def test_a_negative_weight_names_the_engine_section(owner, key):
    expected = rf"^\[{owner.SECTION}\] weights\.{key} must be a number ≥ 0, got -1$"
    with pytest.raises(ConfigError, match=expected):
        owner.from_mapping({"weights": {key: -1}})


def test_a_list_names_the_entry_that_is_not_a_choice():
    with pytest.raises(ConfigError, match=r"; 'warrant' is not one, got \['stock', 'warrant'\]$"):
        UniverseParams.from_mapping({"include_security_types": ["stock", "warrant"]})


def test_rules_between_keys_name_the_other_key():
    with pytest.raises(ConfigError, match=r"atr_pct_max must be a number ≥ atr_pct_min \(0.05\)"):
        V1Params.from_mapping({"atr_pct_min": 0.05})
    with pytest.raises(ConfigError, match=r"lookback must be an integer ≥ min_bars \(60\), got 59"):
        MidtermParams.from_mapping({"lookback": 59})
    with pytest.raises(ConfigError, match=r"vol_ratio_high must be a number > vol_ratio_low"):
        MidtermParams.from_mapping({"vol_ratio_high": 0.8})
    with pytest.raises(ConfigError, match=r"high_window must be an integer between 1 and 30"):
        PullbackParams.from_mapping({"min_bars": 30, "high_window": 31, "touch_bars": 3})


def test_scan_options_and_universe_share_the_scan_section():
    both = {"kospi_limit": 5, "close_margin_minutes": 0}
    assert ScanOptions.from_mapping(both).close_margin_minutes == 0
    with pytest.raises(ConfigError, match=r"^\[scan\] unknown key 'bogus'; known keys: .*kospi_li"):
        ScanOptions.from_mapping({"bogus": 1})


# --------------------------------------------------------------------------- origins


def build(cls: type[Section], environ: dict[str, str]) -> Section:
    """``cls`` from a configuration read from ``environ``, with the origins of its values."""
    config = load_config(None, environ=environ)
    if cls in (V3Params, MidtermParams, PullbackParams):
        return V3Params.from_mapping(
            config.section("engines.v3"),
            config.section("engines.v3.midterm"),
            config.section("engines.v3.pullback"),
            origin=config.origin("engines.v3"),
            midterm_origin=config.origin("engines.v3.midterm"),
            pullback_origin=config.origin("engines.v3.pullback"),
        )
    return cls.from_mapping(config.section(cls.SECTION), config.origin(cls.SECTION))


def env_text(value: object) -> str:
    return repr(value) if not isinstance(value, list) else str(value).replace("'", '"')


def first_bad_value(cls: type[Section]) -> tuple[type[Section], str, object] | object:
    if cls is V3Params:  # its only key has no bounds; its variable is also a pullback prefix
        return (V3Params, "pullback_enabled", "yes")
    return next(case for case in bounded_cases() if case[0] is cls)


@pytest.mark.parametrize(
    ("cls", "key", "value"),
    [first_bad_value(cls) for cls in SECTIONS],
    ids=lambda x: x.__name__ if isinstance(x, type) else repr(x),
)
def test_an_error_names_the_variable_it_came_from(cls, key, value, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no default config file
    variable = next(doc.env for doc in cls.describe() if doc.key == key)
    with pytest.raises(ConfigError) as error:
        build(cls, {variable: env_text(value)})
    message = str(error.value)
    assert message.startswith(f"[{cls.SECTION}] {key} "), message
    assert message.endswith(f"(from {variable})"), message


def test_errors_without_an_origin_name_no_source():
    with pytest.raises(ConfigError) as error:
        V1Params.from_mapping({"top_k": 0})
    assert str(error.value) == "[engines.v1] top_k must be an integer ≥ 1, got 0"


def test_origin_of_nested_and_cross_section_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match=r"weights\.cross .*\(from SCANCTL_ENGINES_V2_WEIGHTS\)$"):
        build(V2Params, {"SCANCTL_ENGINES_V2_WEIGHTS": "{cross = -1}"})
    with pytest.raises(ConfigError) as error:
        build(PullbackParams, {"SCANCTL_ENGINES_V3_PULLBACK_LOOKBACK": "250"})
    assert re.fullmatch(
        r"\[engines\.v3\.pullback\] lookback must equal \[engines\.v3\.midterm\] lookback \(220\)"
        r" because v3 reads one window, got 250 \(from SCANCTL_ENGINES_V3_PULLBACK_LOOKBACK\)",
        str(error.value),
    )
    with pytest.raises(ConfigError, match=r"key 'enabled'.*\(from SCANCTL_ENGINES_V3_ENABLED\)$"):
        build(V3Params, {"SCANCTL_ENGINES_V3_ENABLED": "true"})


def test_origin_of_a_file_value(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[market]\nkospi_etf = '69500'\n[engines.v3]\npullback_enabled = 'yes'\n")
    config = load_config(path, environ={})
    source = f"(from config file {str(path)!r})"
    with pytest.raises(ConfigError) as error:
        MarketParams.from_mapping(config.section("market"), config.origin("market"))
    assert str(error.value).endswith(f"got '69500' {source}")
    with pytest.raises(ConfigError) as error:
        V3Params.from_mapping(config.section("engines.v3"), origin=config.origin("engines.v3"))
    assert str(error.value) == (
        f"[engines.v3] pullback_enabled must be true or false, got 'yes' {source}"
    )
