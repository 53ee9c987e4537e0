"""The run's shared inputs: one preparation serves every version; picked ⇔ no reason code."""

import datetime as dt

import numpy as np

from scanctl.config import Config
from scanctl.engines.params import RunParams
from scanctl.jobs.prepare import load_market_data, prepare_inputs, run_engine
from scanctl.store.db import open_db

DAY = dt.date(2025, 11, 28)


def test_picked_iff_no_reason_and_runs_are_deterministic(scan_db):
    db = open_db(scan_db)
    params = RunParams.from_config(Config())
    data = load_market_data(db, DAY, 220, params.market)
    prepared = prepare_inputs(data, DAY, params, ("v1", "v2", "v3"))
    assert len(prepared.inputs) == 1  # one lookback: indicators computed once for all versions
    for version in ("v1", "v2", "v3"):
        result = run_engine(version, prepared, params)
        for sub in result.subs:
            picked = {p.ticker for p in sub.picks}
            no_reason = {
                str(prepared.inputs[220].codes[i])
                for i in np.flatnonzero(np.array([r is None for r in sub.reasons]))
            }
            assert picked == no_reason, (version, sub.name)
            assert len(sub.reasons) == len(prepared.inputs[220].codes)  # one per ticker
        again = run_engine(version, prepare_inputs(data, DAY, params, (version,)), params)
        assert again.picks == result.picks  # identical records, order included


def test_limits_override_and_engine_lookbacks(scan_db, tmp_path):
    db = open_db(scan_db)
    path = tmp_path / "c.toml"
    path.write_text("[engines.v1]\nlookback = 120\n")
    from scanctl.settings import read_sources as load_config

    params = RunParams.from_config(load_config(path, environ={})).with_limits(10, 0)
    data = load_market_data(db, DAY, 220, params.market)
    prepared = prepare_inputs(data, DAY, params, ("v1", "v2"))
    assert sorted(prepared.inputs) == [120, 220]  # one computation per distinct lookback
    universe = prepared.inputs[220].universe
    assert universe.kospi_limit in (10, 15, 5)  # 10, or resized by a divergence
    counts = universe.counts()
    assert counts["KOSPI"] <= 15 and counts["KOSDAQ"] == universe.eligible_counts()["KOSDAQ"]


def _reasons_by_code(prepared, result) -> dict[tuple[str, str], object]:
    codes = prepared.inputs[220].codes
    return {
        (sub.name, str(code)): reason
        for sub in result.subs
        for code, reason in zip(codes, sub.reasons, strict=True)
    }


def test_engines_evaluate_the_members_only_with_every_result_unchanged(scan_db):
    """Cutting the engines' columns to the final universe (plus tickers asked for) changes no
    pick, no run record and no member's reason: columns never interact."""
    db = open_db(scan_db)
    params = RunParams.from_config(Config()).with_limits(30, 20)  # most tickers are outsiders
    versions = ("v1", "v2", "v3")
    for day in (dt.date(2025, 11, 3), dt.date(2025, 11, 17), DAY):
        data = load_market_data(db, day, 220, params.market)
        every = prepare_inputs(data, day, params, versions, also=None)
        members = prepare_inputs(data, day, params, versions)
        outsider = str(every.inputs[220].codes[~every.inputs[220].universe.member][0])
        asked = prepare_inputs(data, day, params, versions, also=(outsider,))
        universe = every.inputs[220].universe
        assert list(members.inputs[220].codes) == list(universe.codes[universe.member])
        assert list(asked.inputs[220].codes) == sorted([*members.inputs[220].codes, outsider])
        assert len(every.inputs[220].codes) > 2 * len(members.inputs[220].codes)
        assert members.universe_record == every.universe_record
        assert members.condition.to_record() == every.condition.to_record()
        for version in versions:
            full = run_engine(version, every, params)
            cut = run_engine(version, members, params)
            assert cut.picks == full.picks and cut.run_record == full.run_record, version
            full_reasons = _reasons_by_code(every, full)
            cut_reasons = _reasons_by_code(members, cut)
            assert cut_reasons == {key: full_reasons[key] for key in cut_reasons}, version
            asked_reasons = _reasons_by_code(asked, run_engine(version, asked, params))
            for sub in full.subs:  # the outsider's reason is the one of the whole market
                key = (sub.name, outsider)
                assert asked_reasons[key] == full_reasons[key] is not None


def test_batched_dates_equal_dates_one_by_one(scan_db):
    """`prepare_runs` over a range, in uneven batches, gives every date the inputs that
    `prepare_inputs` gives it alone, bit for bit."""
    from dataclasses import fields

    from scanctl.jobs.prepare import prepare_runs
    from scanctl.market.calendar import KrxCalendar

    db = open_db(scan_db)
    params = RunParams.from_config(Config())
    days = KrxCalendar().sessions_in_range(dt.date(2025, 10, 27), DAY)
    data = load_market_data(db, DAY, 220, params.market, extra_sessions=len(days))
    batched = list(prepare_runs(data, days, params, ("v2", "v3"), batch_columns=450))
    assert [p.date for p in batched] == days
    for day, prepared in zip(days, batched, strict=True):
        alone = prepare_inputs(
            load_market_data(db, day, 220, params.market), day, params, ("v2", "v3")
        )
        one, other = prepared.inputs[220], alone.inputs[220]
        assert list(one.codes) == list(other.codes)
        for record in ("window", "indicators", "scalars"):
            for f in fields(getattr(one, record)):
                a, b = (
                    getattr(getattr(one, record), f.name),
                    getattr(getattr(other, record), f.name),
                )
                if isinstance(a, np.ndarray):
                    assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (day, f.name)
        for version in ("v2", "v3"):
            assert (
                run_engine(version, prepared, params).picks
                == run_engine(version, alone, params).picks
            )
