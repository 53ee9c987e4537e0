"""The track record on the daily page: one adapter over `scanctl.reports.evaluate`.

`track_record` is the only place the page reads evaluation results; everything else draws the
`TrackRecord` it returns. It uses what `evaluate` offers today — per version and pick date, the
mean N-session return of the closed picks and of the benchmark — and draws the cumulative mean
of those returns; it has no band yet. When `evaluate` returns equity curves with bootstrap
bands, this function maps them into the same `TrackRecord` (values, low, high, benchmark).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

HORIZON = 10  # sessions, as `scanctl evaluate`'s default


@dataclass(frozen=True)
class Curve:
    """One version's curve: fractions (0.05 = +5 %) per date; ``low``/``high`` its band and
    ``benchmark`` the comparison, each None when not available."""

    version: str
    dates: tuple[str, ...]
    values: tuple[float | None, ...]
    low: tuple[float | None, ...] | None = None
    high: tuple[float | None, ...] | None = None
    benchmark: tuple[float | None, ...] | None = None


@dataclass(frozen=True)
class TrackRecord:
    """What the page shows of the past picks of each version.

    ``measure`` names what the curves are and ``note`` the rule behind them (Korean, shown
    under the chart); ``rows`` hold one summary per version: version, picks, closed, open,
    hit_rate, mean_return, excess_return (fractions or None) and, when available, their
    interval ``mean_low``/``mean_high``.
    """

    measure: str
    note: str
    horizon: int
    data_end: str | None
    curves: tuple[Curve, ...] = ()
    rows: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def track_record(db: sqlite_utils.Database, day: dt.date, versions: Sequence[str]) -> TrackRecord:
    """The track record of ``versions`` from their picks dated on or before ``day``."""
    from scanctl.reports.evaluate import evaluate_picks

    evaluation = evaluate_picks(db, tuple(versions) or None, None, day, HORIZON)
    curves = []
    for version in evaluation.versions:
        rows = [row for row in evaluation.by_date if row["version"] == version]
        if rows:
            curves.append(
                Curve(
                    version=version,
                    dates=tuple(row["date"] for row in rows),
                    values=_running_mean(rows, "mean_return"),
                    benchmark=_running_mean(rows, "benchmark_return"),
                )
            )
    summaries = tuple(
        {
            "version": s.version,
            "picks": s.picks,
            "closed": s.closed,
            "open": s.open,
            "hit_rate": s.hit_rate,
            "mean_return": s.mean_return,
            "excess_return": s.excess_return,
            "mean_low": None,
            "mean_high": None,
        }
        for s in evaluation.by_version
    )
    return TrackRecord(
        measure=f"누적 평균 {HORIZON}거래일 수익률 (선정일 순)",
        note=(
            f"선정일 종가에 사서 {HORIZON}거래일 뒤 종가까지의 수익률을, 그날까지 확정된 모든 "
            "추천 종목에 대해 평균한 값입니다. 점선은 같은 기간 저장된 전 종목의 동일가중 평균"
            "입니다. 겹치는 보유 기간의 평균이라 복리 자산 곡선이 아니며, 비용과 신뢰구간은 "
            "반영되지 않았습니다."
        ),
        horizon=HORIZON,
        data_end=evaluation.data_end,
        curves=tuple(curves),
        rows=summaries,
    )


def _running_mean(rows: list[dict[str, Any]], key: str) -> tuple[float | None, ...]:
    """At each date, the mean of ``key`` over the closed picks dated up to it."""
    total, count, out = 0.0, 0, []
    for row in rows:
        if row[key] is not None:
            total += row[key] * row["closed"]
            count += row["closed"]
        out.append(total / count if count else None)
    return tuple(out)
