"""Chart geometry for the daily page: plain numbers and point lists that the template turns into
inline SVG (no script, no external file). Coordinates are rounded to 0.1 px so that 30 charts
stay small.

`price_chart` draws a pick's last sessions as candles (up red, down blue, as Korean charts do)
with the engine's lines over them; `curve_chart` draws the track record: one line per version,
its band as a shaded polygon, its benchmark dashed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PAD = {"left": 52, "right": 8, "top": 8, "bottom": 20}


@dataclass(frozen=True)
class Candle:
    x: float
    wick_top: float
    wick_bottom: float
    body_x: float
    body_top: float
    body_width: float
    body_height: float
    up: bool


@dataclass(frozen=True)
class Line:
    label: str
    color: str
    points: str
    dashed: bool = False


@dataclass(frozen=True)
class Band:
    color: str
    points: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Everything the template draws; (left, top, right, bottom) is the plot area."""

    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    lines: tuple[Line, ...] = ()
    candles: tuple[Candle, ...] = ()
    bands: tuple[Band, ...] = ()
    zero: float | None = None  # y of the 0 line (curve charts)

    @property
    def legend(self) -> list[tuple[str, str]]:
        return [(line.label, line.color) for line in self.lines if not line.dashed]


class _Scale:
    """A linear map from [lo, hi] onto [a, b]."""

    def __init__(self, lo: float, hi: float, a: float, b: float) -> None:
        if not hi > lo:
            lo, hi = lo - 1, hi + 1
        self.lo, self.hi, self.a, self.b = lo, hi, a, b

    def __call__(self, value: float) -> float:
        return round(self.a + (value - self.lo) / (self.hi - self.lo) * (self.b - self.a), 1)


def price_chart(
    dates: Sequence[str],
    bars: Mapping[str, np.ndarray],
    lines: Mapping[str, tuple[str, np.ndarray]],
    width: int = 360,
    height: int = 170,
) -> Chart:
    """Candles of ``bars`` (open, high, low, close: ``(n,)`` arrays, one per date) and
    ``lines`` (name → (color, ``(n,)`` values; NaN leaves a gap)).

    The y range spans the lows, highs and line values with 4 % margin; three price ticks and
    the first, middle and last date are labelled.
    """
    n = len(dates)
    left, top = PAD["left"], PAD["top"]
    right, bottom = width - PAD["right"], height - PAD["bottom"]
    values = [bars["low"], bars["high"], *(v for _, v in lines.values())]
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if n else np.empty(0)
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    margin = (hi - lo) * 0.04
    y = _Scale(lo - margin, hi + margin, bottom, top)
    slot = (right - left) / max(n, 1)
    x_of = [round(left + (i + 0.5) * slot, 1) for i in range(n)]
    body = max(1.0, round(slot * 0.6, 1))
    candles = []
    for i in range(n):
        o, h, lo_i, c = (float(bars[k][i]) for k in ("open", "high", "low", "close"))
        if not all(math.isfinite(v) for v in (o, h, lo_i, c)):
            continue
        top_y, bottom_y = y(max(o, c)), y(min(o, c))
        candles.append(
            Candle(
                x=x_of[i],
                wick_top=y(h),
                wick_bottom=y(lo_i),
                body_x=round(x_of[i] - body / 2, 1),
                body_top=top_y,
                body_width=body,
                body_height=max(0.6, round(bottom_y - top_y, 1)),
                up=c >= o,
            )
        )
    drawn = tuple(
        Line(name, color, _points(x_of, [y(v) if math.isfinite(v) else None for v in series]))
        for name, (color, series) in lines.items()
    )
    ticks = tuple(Tick(y(v), _price(v)) for v in (lo, (lo + hi) / 2, hi)) if finite.size else ()
    return Chart(
        width,
        height,
        left,
        top,
        right,
        bottom,
        y_ticks=ticks,
        x_ticks=_date_ticks(dates, x_of, 3),
        lines=drawn,
        candles=tuple(candles),
    )


@dataclass(frozen=True)
class Series:
    """One version's curve on the track-record chart (values are fractions: 0.05 = +5 %)."""

    label: str
    color: str
    dates: Sequence[str]
    values: Sequence[float | None]
    low: Sequence[float | None] | None = None
    high: Sequence[float | None] | None = None
    benchmark: Sequence[float | None] | None = None


def curve_chart(series: Sequence[Series], width: int = 760, height: int = 280) -> Chart:
    """Lines of ``series`` over the union of their dates, bands shaded, benchmarks dashed;
    the y axis in percent with about five round ticks and a 0 line."""
    left, top = PAD["left"], PAD["top"]
    right, bottom = width - PAD["right"], height - PAD["bottom"]
    dates = sorted({day for s in series for day in s.dates})
    where = {day: k for k, day in enumerate(dates)}
    span = max(len(dates) - 1, 1)
    x_of = [round(left + k / span * (right - left), 1) for k in range(len(dates))]
    numbers = [
        v
        for s in series
        for seq in (s.values, s.low, s.high, s.benchmark)
        if seq is not None
        for v in seq
        if v is not None and math.isfinite(v)
    ]
    lo, hi = (min([*numbers, 0.0]), max([*numbers, 0.0])) if numbers else (-0.01, 0.01)
    steps = _nice_ticks(lo, hi)
    y = _Scale(min(steps[0], lo), max(steps[-1], hi), bottom, top)
    lines, bands = [], []
    for s in series:
        xs = [x_of[where[day]] for day in s.dates]
        if s.low is not None and s.high is not None:
            upper = [(x, y(v)) for x, v in zip(xs, s.high, strict=True) if v is not None]
            lower = [(x, y(v)) for x, v in zip(xs, s.low, strict=True) if v is not None]
            if upper and lower:
                ring = upper + lower[::-1]
                bands.append(Band(s.color, " ".join(f"{px},{py}" for px, py in ring)))
        lines.append(Line(s.label, s.color, _points(xs, _ys(y, s.values))))
        if s.benchmark is not None:
            lines.append(Line(s.label, s.color, _points(xs, _ys(y, s.benchmark)), dashed=True))
    return Chart(
        width,
        height,
        left,
        top,
        right,
        bottom,
        y_ticks=tuple(Tick(y(v), f"{100 * v:+.0f}%" if v else "0%") for v in steps),
        x_ticks=_date_ticks(dates, x_of, 5),
        lines=tuple(lines),
        bands=tuple(bands),
        zero=y(0.0),
    )


def _ys(y: _Scale, values: Sequence[float | None]) -> list[float | None]:
    return [None if v is None or not math.isfinite(v) else y(v) for v in values]


def _points(xs: Sequence[float], ys: Sequence[float | None]) -> str:
    """``x,y`` pairs of the defined points (an undefined value is skipped, not drawn as 0)."""
    return " ".join(f"{x},{y}" for x, y in zip(xs, ys, strict=True) if y is not None)


def _date_ticks(dates: Sequence[str], xs: Sequence[float], count: int) -> tuple[Tick, ...]:
    if not dates:
        return ()
    picks = sorted({round(k * (len(dates) - 1) / max(count - 1, 1)) for k in range(count)})
    return tuple(Tick(xs[k], dates[k][5:] if k else dates[k]) for k in picks)


def _nice_ticks(lo: float, hi: float) -> list[float]:
    """About five round values covering [lo, hi] (steps of 1, 2 or 5 × 10^k)."""
    raw = (hi - lo) / 4 or 0.01
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    count = math.ceil((hi - first) / step) + 1
    return [round(first + k * step, 10) for k in range(count)]


def _price(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
