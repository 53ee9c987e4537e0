"""Universe of ENGINES.md §2 (eligibility, ranking, limits, resize) and the `[scan]` params.

Panels are built by hand; every expected membership, rank and limit is written out by hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest

from scanctl.errors import ConfigError
from scanctl.market.condition import MarketCondition
from scanctl.market.params import UniverseParams
from scanctl.market.universe import build_universe, resize_limits, tie_break_order
from scanctl.market.window import evaluation_window
from scanctl.store.panel import Panel
from scanctl.store.tickers import TickerMaster

START = np.datetime64("2024-03-01")


def make_panel(
    closes: dict[str, list[float | None]], values_on_d: dict[str, float] | None = None
) -> Panel:
    """A panel from closes per code (oldest first, right-aligned on the last date; None = no
    bar). Volume is 1000 on every bar; `value` = close × volume unless given for D."""
    length = max(len(series) for series in closes.values())
    codes = sorted(closes)
    close = np.full((length, len(codes)), np.nan)
    for col, code in enumerate(codes):
        series = [np.nan if x is None else float(x) for x in closes[code]]
        close[length - len(series) :, col] = series
    volume = np.where(np.isnan(close), np.nan, 1000.0)
    value = close * volume
    for code, traded in (values_on_d or {}).items():
        value[-1, codes.index(code)] = traded
    return Panel(
        dates=START + np.arange(length),
        codes=np.array(codes, dtype="U6"),
        open=close.copy(),
        high=close.copy(),
        low=close.copy(),
        close=close,
        volume=volume,
        value=value,
    )


def make_master(
    panel: Panel,
    markets: dict[str, str | None] | None = None,
    types: dict[str, str | None] | None = None,
    managed: tuple[str, ...] = (),
    halted: tuple[str, ...] = (),
) -> TickerMaster:
    """Master aligned with the panel: KOSPI stock, not managed, not halted unless stated."""
    codes = [str(code) for code in panel.codes]
    markets = markets or {}
    types = types or {}
    return TickerMaster(
        codes=panel.codes,
        names=np.array(codes, dtype=object),
        markets=np.array([markets.get(code, "KOSPI") for code in codes], dtype=object),
        security_types=np.array([types.get(code, "stock") for code in codes], dtype=object),
        managed=np.array([code in managed for code in codes]),
        halted=np.array([code in halted for code in codes]),
    )


def last_day(panel: Panel) -> dt.date:
    return panel.dates[-1].astype(dt.date)


def universe_of(panel: Panel, master: TickerMaster, params: UniverseParams | None = None, **kw):
    window = evaluation_window(panel, last_day(panel), 220)
    return build_universe(window, master, params or UniverseParams(), **kw)


def why_of(universe, code: str):
    return universe.why[list(universe.codes).index(code)]


# --- §2.1 eligibility --------------------------------------------------------------------------


def test_each_rule_gives_its_why_and_the_first_failed_rule_wins():
    panel = make_panel(
        {
            "000001": [10, 11],  # eligible
            "000002": [10, None],  # no bar on D
            "000003": [10, 12],  # KONEX
            "000004": [10, 12],  # not in the master (market None)
            "000005": [10, 12],  # ETF
            "000006": [10, 12],  # managed
            "000007": [10, 12],  # halted
            "000008": [10, None],  # no bar on D and KONEX, managed: the first rule wins
            "000009": [10, 12],  # managed and halted: managed (rule 4) wins
        }
    )
    master = make_master(
        panel,
        markets={"000003": "KONEX", "000004": None, "000008": "KONEX"},
        types={"000005": "etf"},
        managed=("000006", "000008", "000009"),
        halted=("000007", "000009"),
    )
    universe = universe_of(panel, master)
    assert list(universe.why) == [
        None,
        "no_bar_on_date",
        "market",
        "market",
        "security_type",
        "managed",
        "halted",
        "no_bar_on_date",
        "managed",
    ]
    assert list(universe.eligible) == [True] + [False] * 8
    assert list(universe.member) == [True] + [False] * 8
    assert list(universe.market_rank) == [1] + [0] * 8


def test_a_row_that_is_not_a_bar_on_d_counts_as_no_bar():
    panel = make_panel({"000001": [10, 11], "000002": [10, 11]})
    for name in ("close", "open", "high", "low", "volume", "value"):
        getattr(panel, name)[-1, 1] = np.nan  # the panel blanks every field of a non-bar
    universe = universe_of(panel, make_master(panel))
    assert why_of(universe, "000002") == "no_bar_on_date"
    assert np.isnan(universe.traded_value[1])


@pytest.mark.parametrize(("include_unknown", "expected"), [(True, None), (False, "security_type")])
def test_unknown_security_type_follows_the_flag(include_unknown, expected):
    panel = make_panel({"000001": [10, 11]})
    master = make_master(panel, types={"000001": None})
    params = UniverseParams(include_unknown_security_type=include_unknown)
    universe = universe_of(panel, master, params)
    assert why_of(universe, "000001") == expected
    assert universe.unknown_security_types == 1  # counted whatever the flag says


def test_include_security_types_is_configurable():
    panel = make_panel({"000001": [10, 11], "000002": [10, 11], "000003": [10, 11]})
    master = make_master(panel, types={"000001": "preferred", "000002": "etf", "000003": "spac"})
    default = universe_of(panel, master)
    assert list(default.why) == [None, "security_type", "security_type"]
    etfs = universe_of(panel, master, UniverseParams(include_security_types=("etf",)))
    assert list(etfs.why) == ["security_type", None, "security_type"]


def test_managed_and_halted_are_kept_when_not_excluded():
    panel = make_panel({"000001": [10, 11], "000002": [10, 11]})
    master = make_master(panel, managed=("000001",), halted=("000002",))
    params = UniverseParams(exclude_managed=False, exclude_halted=False)
    assert list(universe_of(panel, master, params).member) == [True, True]


def test_kosdaq_is_eligible_and_konex_is_not():
    panel = make_panel({"000001": [10, 11], "000002": [10, 11]})
    master = make_master(panel, markets={"000001": "KOSDAQ", "000002": "KONEX"})
    universe = universe_of(panel, master)
    assert list(universe.why) == [None, "market"]
    assert universe.counts() == {"KOSPI": 0, "KOSDAQ": 1}


# --- §2.2 ranking and limits -------------------------------------------------------------------


def ranked_panel():
    # Values on D: KOSPI a=500, b=900, c=500, d=100; KOSDAQ e=300, f=300, g=700.
    closes = {code: [10, 10] for code in ("00000a", "00000b", "00000c", "00000d")}
    closes |= {code: [10, 10] for code in ("00000e", "00000f", "00000g")}
    values = {
        "00000a": 500.0,
        "00000b": 900.0,
        "00000c": 500.0,
        "00000d": 100.0,
        "00000e": 300.0,
        "00000f": 300.0,
        "00000g": 700.0,
    }
    panel = make_panel(closes, values_on_d=values)
    master = make_master(
        panel, markets={"00000e": "KOSDAQ", "00000f": "KOSDAQ", "00000g": "KOSDAQ"}
    )
    return panel, master


def test_rank_per_market_by_value_then_code():
    panel, master = ranked_panel()
    universe = universe_of(panel, master, UniverseParams(kospi_limit=2, kosdaq_limit=1))
    # KOSPI: b(900) 1, a(500) 2, c(500) 3 (tie: code ascending), d 4; KOSDAQ: g 1, e 2, f 3.
    assert list(universe.market_rank) == [2, 1, 3, 4, 2, 3, 1]
    assert list(universe.member) == [True, True, False, False, False, False, True]
    assert list(universe.why) == [None, None, "rank", "rank", "rank", "rank", None]
    assert list(universe.traded_value) == [500.0, 900.0, 500.0, 100.0, 300.0, 300.0, 700.0]
    assert universe.counts() == {"KOSPI": 2, "KOSDAQ": 1}
    assert universe.eligible_counts() == {"KOSPI": 4, "KOSDAQ": 3}
    assert universe.size == 3
    # Members in the §0.5 order across markets: value desc, then code.
    assert universe.member_codes() == ["00000b", "00000g", "00000a"]


def test_limit_zero_is_the_whole_market():
    panel, master = ranked_panel()
    universe = universe_of(panel, master, UniverseParams(kospi_limit=0, kosdaq_limit=1))
    assert universe.counts() == {"KOSPI": 4, "KOSDAQ": 1}
    assert universe.member_codes() == ["00000b", "00000g", "00000a", "00000c", "00000d"]


def test_limit_overrides_replace_the_configured_limits():
    panel, master = ranked_panel()
    universe = universe_of(panel, master, kospi_limit=1, kosdaq_limit=0)
    assert (universe.kospi_limit, universe.kosdaq_limit) == (1, 0)
    assert universe.member_codes() == ["00000b", "00000g", "00000e", "00000f"]


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_limit_override_is_a_config_error(bad):
    panel, master = ranked_panel()
    with pytest.raises(ConfigError, match="kospi_limit"):
        universe_of(panel, master, kospi_limit=bad)


def test_tie_break_order_puts_nan_last():
    order = tie_break_order(np.array([1.0, np.nan, 5.0, 1.0]), np.array(["b", "a", "c", "a"]))
    assert list(order) == [2, 3, 0, 1]


def test_master_must_be_aligned_with_the_window():
    panel, master = ranked_panel()
    shifted = dataclasses.replace(master, codes=master.codes[::-1])
    with pytest.raises(ValueError, match="aligned"):
        universe_of(panel, shifted)


# --- §2.3 records ------------------------------------------------------------------------------


def test_records_are_plain_json():
    panel, master = ranked_panel()
    master.security_types[0] = None  # 00000a: unknown type, still eligible by default
    params = UniverseParams(kospi_limit=2, kosdaq_limit=1)
    base = universe_of(panel, master, params)
    final = universe_of(panel, master, params, kospi_limit=3, kosdaq_limit=1)
    record = final.to_record(base)
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert record["limits"] == {"kospi": 3, "kosdaq": 1}
    assert record["base_limits"] == {"kospi": 2, "kosdaq": 1}
    assert record["resized"] is True
    assert (record["base_size"], record["final_size"]) == (3, 4)
    assert record["unknown_security_types"] == 1
    assert record["unknown_security_type_members"] == 1
    assert record["members"][:2] == [
        {"code": "00000b", "market": "KOSPI", "market_rank": 1, "traded_value": 900.0},
        {"code": "00000g", "market": "KOSDAQ", "market_rank": 1, "traded_value": 700.0},
    ]
    assert [member["code"] for member in record["members"]] == [
        "00000b",
        "00000g",
        "00000a",
        "00000c",
    ]
    assert base.to_record()["resized"] is False
    assert final.ticker_record(3) == {
        "in_universe": False,
        "why": "rank",
        "market_rank": 4,
        "traded_value": 100.0,
    }


# --- §2.4 resize -------------------------------------------------------------------------------


def condition(status="ok", divergence=True, kind="kospi_up_kosdaq_down") -> MarketCondition:
    return MarketCondition(
        status=status,
        reason=None,
        kospi_proxy="KOSPI",
        kosdaq_proxy="KOSDAQ",
        etf_reference="069500",
        us_series=(),
        market_divergence=divergence,
        divergence_type=kind if divergence else "",
    )


@pytest.mark.parametrize(
    ("kind", "limits", "expected"),
    [
        ("kospi_up_kosdaq_down", (100, 100), (150, 50)),
        ("kospi_down_kosdaq_up", (100, 100), (50, 150)),
        ("kospi_up_kosdaq_down", (5, 5), (7, 2)),  # floor(7.5), floor(2.5)
        ("kospi_down_kosdaq_up", (5, 5), (2, 7)),
        ("kospi_up_kosdaq_down", (1, 1), (1, 1)),  # floor(1.5) = 1; max(1, floor(0.5)) = 1
        ("kospi_down_kosdaq_up", (1, 3), (1, 4)),
        ("kospi_up_kosdaq_down", (0, 3), (0, 1)),  # 0 = no limit stays 0
        ("kospi_down_kosdaq_up", (3, 0), (1, 0)),
    ],
)
def test_resize_by_divergence_type(kind, limits, expected):
    params = UniverseParams(kospi_limit=limits[0], kosdaq_limit=limits[1])
    assert resize_limits(params, condition(kind=kind)) == expected


@pytest.mark.parametrize(
    ("cond", "params"),
    [
        (condition(status="unknown", divergence=None), UniverseParams()),
        (condition(status="unknown"), UniverseParams()),  # status decides, not the flag alone
        (condition(status="disabled", divergence=None), UniverseParams()),
        (condition(divergence=False), UniverseParams()),
        (condition(), UniverseParams(divergence_resize=False)),
    ],
)
def test_no_resize_without_ok_divergence_and_the_flag(cond, params):
    assert resize_limits(params, cond) == (100, 100)


def test_final_universe_is_rebuilt_with_the_resized_limits():
    panel, master = ranked_panel()
    params = UniverseParams(kospi_limit=2, kosdaq_limit=2)
    kp, kd = resize_limits(params, condition(kind="kospi_up_kosdaq_down"))
    final = universe_of(panel, master, params, kospi_limit=kp, kosdaq_limit=kd)
    assert (kp, kd) == (3, 1)
    assert final.member_codes() == ["00000b", "00000g", "00000a", "00000c"]


# --- [scan] parameters (ENGINES.md §9.1) -------------------------------------------------------


def test_universe_param_defaults_follow_the_spec():
    params = UniverseParams()
    assert (params.kospi_limit, params.kosdaq_limit) == (100, 100)
    assert params.include_security_types == ("stock", "preferred")
    assert params.include_unknown_security_type is True
    assert (params.exclude_managed, params.exclude_halted, params.divergence_resize) == (
        True,
        True,
        True,
    )


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("kospi_limit", -1, "-1"),
        ("kosdaq_limit", -5, "-5"),
        ("kospi_limit", 2.5, "2.5"),
        ("kosdaq_limit", True, "True"),
        ("include_security_types", ("stock", "warrant"), "'warrant'"),
        ("include_security_types", "stock", "'stock'"),
        ("include_unknown_security_type", "yes", "'yes'"),
        ("exclude_managed", 1, "1"),
        ("exclude_halted", None, "None"),
        ("divergence_resize", "true", "'true'"),
    ],
)
def test_invalid_universe_params_name_field_and_value(field, value, shown):
    with pytest.raises(ConfigError) as error:
        UniverseParams(**{field: value})
    message = str(error.value)
    assert message.startswith(f"[scan] {field} must be ")
    assert shown in message.split("got ")[-1]


def test_universe_params_from_mapping():
    params = UniverseParams.from_mapping({"kospi_limit": 0, "include_security_types": ["stock"]})
    assert params.kospi_limit == 0
    assert params.include_security_types == ("stock",)
    assert params.to_record()["include_security_types"] == ["stock"]
    with pytest.raises(ConfigError, match="unknown key 'kospi_limits'"):
        UniverseParams.from_mapping({"kospi_limits": 10})
