"""The page's one adapter over `evaluate`: its curves and rows on the backfilled demo market."""

import datetime as dt

import numpy as np

from scanctl.config import Config
from scanctl.engines.params import RunParams
from scanctl.reports.evaluate import track_record as evaluated
from scanctl.reports.page.track import HORIZON, track_record
from scanctl.store.db import open_db

DAY = dt.date(2025, 11, 28)
PARAMS = RunParams.from_config(Config())


def test_curves_and_rows_follow_evaluate(page_db):
    db = open_db(page_db[0])
    track = track_record(db, DAY, ["v1", "v2", "v3"], PARAMS)
    record = evaluated(db, ("v1", "v2", "v3"), None, DAY, HORIZON)
    assert track.horizon == HORIZON == 10 and track.data_end == "2025-11-28"
    assert [row["version"] for row in track.rows] == [s.version for s in record.summaries]
    for row, summary in zip(track.rows, record.summaries, strict=True):
        assert (row["picks"], row["closed"], row["open"]) == (
            summary.picks,
            summary.closed,
            summary.open,
        )
        assert row["mean_return"] == summary.mean_return
        if summary.mean_return_ci:
            assert (row["mean_low"], row["mean_high"]) == summary.mean_return_ci
    assert track.curves, "the backfill closes picks of its first sessions"
    for curve in track.curves:
        equity = next(c for c in record.curves if c.version == curve.version)
        assert list(curve.dates) == equity.dates and len(curve.values) == len(equity.dates)
        # the compounded equity curve (1 at the start) as a fraction, with its band
        assert np.allclose(np.array(curve.values) + 1, equity.equity)
        assert np.allclose(np.array(curve.benchmark) + 1, equity.universe)
        assert all(
            lo <= v <= hi for lo, v, hi in zip(curve.low, curve.values, curve.high, strict=True)
        )
        assert any(hi > lo for lo, hi in zip(curve.low, curve.high, strict=True))


def test_picks_after_the_day_are_left_out(page_db):
    db = open_db(page_db[0])
    early = track_record(db, dt.date(2025, 11, 14), ["v2"], PARAMS)
    assert [row["version"] for row in early.rows] == ["v2"]
    assert early.rows[0]["picks"] < track_record(db, DAY, ["v2"], PARAMS).rows[0]["picks"]
