"""The run record of ENGINES.md §8.6 goes into `scan_runs` and comes back whole: each engine
runs on hand-built inputs (tests/engines/builders), `save_session` writes the rows into a real
store, and `run_history(records=True)` reads them back. The engine tests prove the values; these
prove that what the engine returned is what the store gives back, for both sides of v1's
fallback, v2's gate and v3's routing."""

from __future__ import annotations

import json

import pytest

from scanctl.engines import registry
from scanctl.engines.params import RunParams
from scanctl.jobs.daily import run_versions, save_session
from scanctl.jobs.prepare import PreparedRun
from scanctl.jobs.record import full_record
from scanctl.market.params import MarketParams, UniverseParams
from scanctl.reports.history import run_history
from tests.engines.builders import condition, make_input, ticker
from tests.engines.test_v1 import BASE, NONE, STEP1

VERSIONS = ("v1", "v2", "v3")
LOOKBACK = 220  # every engine's default window


def store_run(db, tickers, cond, versions=VERSIONS):
    """Run ``versions`` on the hand-built market and store them as `scan` does; return
    version → the stored row with its record."""
    inp = make_input(tickers, cond, rows=LOOKBACK)
    params = RunParams(
        UniverseParams(),
        MarketParams(),
        {name: spec.default_params() for name, spec in registry.engines().items()},
    )
    prepared = PreparedRun(
        date=inp.date,
        inputs={LOOKBACK: inp},
        condition=cond,
        universe_record=inp.universe.to_record(),
    )
    outcomes = run_versions(prepared, params, versions)
    assert {o.status for o in outcomes.values()} == {"ok"}, outcomes
    save_session(db, inp.date, "manual", outcomes, cond.to_record(), params)
    rows = run_history(db, 10, versions, records=True)
    return {row["scanner_version"]: row for row in rows}


def test_neutral_market_step_0_gate_open_pullback_routed(db):
    tickers = [ticker(code, BASE, traded_value=1e10 - k) for k, code in enumerate("ABC")]
    tickers.append(ticker("N", NONE, traded_value=1.0))
    runs = store_run(db, tickers, condition(short_term_risk_label="normal"))

    v1 = runs["v1"]["record"]
    assert v1["v1"] == {
        "fallback_enable": True,
        "target_min": 3,
        "target_max": 5,
        "chosen_step": 0,
        "matched": [3],
    }
    assert v1["counts"] == {
        "universe_count": 4,
        "evaluated_count": 4,
        "candidates_count": 3,
        "matched_count": 3,
    }
    assert runs["v1"]["matched_count"] == 3
    steps = v1["params"]["v1"]["steps"]  # every step's resolved parameters
    assert [s["executed"] for s in steps] == [True, False, False]
    assert [s["min_signals"] for s in steps] == [3, 3, 2]
    assert v1["params"]["universe"]["kospi_limit"] == 100
    assert v1["market_condition"]["regimes"]["final_regime"] == "neutral"

    universe = v1["universe"]
    assert universe["final_size"] == universe["base_size"] == 4 and not universe["resized"]
    assert [m["code"] for m in universe["members"]] == ["A", "B", "C", "N"]
    assert universe["members"][0] == {
        "code": "A",
        "market": "KOSPI",
        "market_rank": 1,
        "traded_value": 1e10,
    }

    v2 = runs["v2"]["record"]["v2"]
    assert v2["gate"] == {"open": True, "why": "regime_ok"}
    assert v2["regime"] == "neutral" and v2["caps"] == {"swing": 20, "position": 15, "longterm": 20}
    assert set(v2["kept_codes"]) == {"swing", "position", "longterm"}
    assert runs["v2"]["record"]["params"]["v2"]["effective"]["min_signals"] == 3

    v3 = runs["v3"]["record"]["v3"]
    assert v3["routing"] == {
        "final_regime": "neutral",
        "short_term_risk_label": "normal",
        "pullback_ran": True,
        "why_not": None,
    }
    assert v3["v2_lite"]["ran"] is True and v3["midterm"]["evaluated_count"] == 4


def test_bear_market_falls_back_closes_the_gate_and_skips_pullback(db):
    tickers = [ticker("A", BASE), ticker("S1", STEP1), ticker("S2", STEP1)]
    runs = store_run(db, tickers, condition(final_regime="bear"))

    v1 = runs["v1"]["record"]["v1"]
    assert (v1["target_min"], v1["target_max"]) == (2, 3)  # the bear band
    assert v1["chosen_step"] == 1 and v1["matched"] == [1, 3]
    assert runs["v1"]["record"]["counts"]["matched_count"] == 3
    steps = runs["v1"]["record"]["params"]["v1"]["steps"]
    assert [s["executed"] for s in steps] == [True, True, False]
    assert steps[1]["vol_ma5_mult"] == 2.0  # the step's preset, resolved

    v2 = runs["v2"]["record"]
    assert v2["v2"]["gate"] == {"open": False, "why": "bear"}
    assert v2["counts"]["evaluated_count"] == 0 and runs["v2"]["matched_count"] == 0

    routing = runs["v3"]["record"]["v3"]["routing"]
    assert routing["pullback_ran"] is False and routing["why_not"] == "final_regime=bear"
    assert runs["v3"]["record"]["v3"]["v2_lite"]["ran"] is False


def test_no_step_reaching_the_band_is_stored_as_none(db):
    tickers = [ticker("A", BASE), ticker("N1", NONE), ticker("N2", NONE)]
    runs = store_run(db, tickers, condition(), versions=("v1",))
    v1 = runs["v1"]["record"]["v1"]
    assert v1["chosen_step"] is None and v1["matched"] == [1, 1, 1]
    assert runs["v1"]["matched_count"] == 0


def test_the_record_column_is_plain_json(db):
    store_run(db, [ticker("A", BASE)], condition(), versions=("v2",))
    (stored,) = db.execute("SELECT record FROM scan_runs").fetchone()
    record = json.loads(stored)
    assert set(record) == {"universe", "counts", "v2"}  # the other two parts have columns


def test_runs_without_records_keep_the_short_rows(db):
    store_run(db, [ticker("A", BASE)], condition(), versions=("v1",))
    (row,) = run_history(db, 10, None)
    assert "record" not in row and "params" not in row and row["universe_count"] == 1


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((None, None, None), None),  # a skipped run stores nothing
        (
            ({"status": "ok"}, {"v1": {}}, None),
            {"market_condition": {"status": "ok"}, "params": {"v1": {}}},
        ),
    ],
)
def test_full_record_of_partial_rows(parts, expected):
    assert full_record(*parts) == expected
