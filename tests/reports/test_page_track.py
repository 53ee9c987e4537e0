"""The page's one adapter over `evaluate`: its curves and rows on the backfilled demo market."""

import datetime as dt

from scanctl.reports.evaluate import evaluate_picks
from scanctl.reports.page.track import HORIZON, track_record
from scanctl.store.db import open_db

DAY = dt.date(2025, 11, 28)


def test_curves_and_rows_follow_evaluate(page_db):
    db = open_db(page_db[0])
    track = track_record(db, DAY, ["v1", "v2", "v3"])
    evaluation = evaluate_picks(db, ("v1", "v2", "v3"), None, DAY, HORIZON)
    assert track.horizon == HORIZON == 10 and track.data_end == "2025-11-28"
    assert [row["version"] for row in track.rows] == [s.version for s in evaluation.by_version]
    for row, summary in zip(track.rows, evaluation.by_version, strict=True):
        assert (row["picks"], row["closed"], row["open"]) == (
            summary.picks,
            summary.closed,
            summary.open,
        )
        assert row["mean_return"] == summary.mean_return
    assert track.curves, "the backfill closes picks of its first sessions"
    for curve in track.curves:
        summary = next(s for s in evaluation.by_version if s.version == curve.version)
        dates = [r["date"] for r in evaluation.by_date if r["version"] == curve.version]
        assert list(curve.dates) == dates and len(curve.values) == len(dates)
        # the running mean ends on the mean of every closed pick of the version
        assert abs(curve.values[-1] - summary.mean_return) < 1e-12
        assert abs(curve.benchmark[-1] - summary.benchmark_return) < 1e-12
        assert curve.low is None and curve.high is None  # no band from evaluate yet


def test_picks_after_the_day_are_left_out(page_db):
    db = open_db(page_db[0])
    early = track_record(db, dt.date(2025, 11, 14), ["v2"])
    assert [row["version"] for row in early.rows] == ["v2"]
    assert early.rows[0]["picks"] < track_record(db, DAY, ["v2"]).rows[0]["picks"]
