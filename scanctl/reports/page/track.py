"""The track record on the daily page: one adapter over `scanctl.reports.evaluate`.

`track_record` is the only place the page reads evaluation results; everything else draws the
`TrackRecord` it returns: each version's compounded equity curve (the sleeve rule of
`evaluate`, net of costs) with its bootstrap band, its scan universe's curve, and a summary."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlite_utils

if TYPE_CHECKING:
    from scanctl.engines.params import RunParams

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


def track_record(
    db: sqlite_utils.Database, day: dt.date, versions: Sequence[str], params: RunParams
) -> TrackRecord:
    """The track record of ``versions`` from their picks dated on or before ``day``: each
    version's compounded equity curve with its 95 % bootstrap band and its scan universe's
    (`scanctl.reports.evaluate.track_record`), and its summary."""
    from scanctl.reports.evaluate import track_record as evaluated

    record = evaluated(
        db,
        tuple(versions) or None,
        None,
        day,
        HORIZON,
        universe=params.universe,
        market=params.market,
    )

    def fractions(values) -> tuple[float | None, ...]:
        return tuple(float(v) - 1.0 if math.isfinite(v) else None for v in values)

    curves = tuple(
        Curve(
            version=curve.version,
            dates=tuple(curve.dates),
            values=fractions(curve.equity),
            low=fractions(curve.equity_low),
            high=fractions(curve.equity_high),
            benchmark=fractions(curve.universe),
        )
        for curve in record.curves
        if len(curve.dates)
    )
    rows = tuple(
        {
            "version": s.version,
            "picks": s.picks,
            "closed": s.closed,
            "open": s.open,
            "hit_rate": s.hit_rate,
            "mean_return": s.mean_return,
            "excess_return": s.excess_return,
            "mean_low": s.mean_return_ci[0] if s.mean_return_ci else None,
            "mean_high": s.mean_return_ci[1] if s.mean_return_ci else None,
        }
        for s in record.summaries
    )
    return TrackRecord(
        measure=f"복리 자산 곡선 ({HORIZON}거래일 보유, 비용 차감)",
        note=(
            f"매 거래일 자금의 1/{HORIZON}로 그날 추천 종목을 동일가중으로 사서 {HORIZON}거래일 "
            "뒤 종가에 파는 규칙의 자산 곡선입니다 (시작 = 0%, 매매 비용 차감). 음영은 거래일 "
            "블록 부트스트랩 95% 구간, 점선은 같은 규칙을 그날의 스캔 유니버스에 적용한 값입니다."
        ),
        horizon=HORIZON,
        data_end=record.data_end,
        curves=curves,
        rows=rows,
    )
