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
