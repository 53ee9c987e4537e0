"""Chart geometry of the daily page, worked out by hand on tiny inputs."""

import math

import numpy as np

from scanctl.reports.page.svg import Series, _nice_ticks, curve_chart, price_chart

BARS = {
    "open": np.array([10_000.0, 12_000.0, 11_000.0]),
    "high": np.array([13_000.0, 12_000.0, 14_000.0]),
    "low": np.array([9_000.0, 10_000.0, 10_000.0]),
    "close": np.array([12_000.0, 11_000.0, 13_000.0]),
}
DATES = ["2025-11-26", "2025-11-27", "2025-11-28"]


def y_of(value, lo=9_000.0, hi=14_000.0, bottom=150.0, top=8.0):
    """The price chart's y: [lo, hi] with 4 % margin onto [bottom, top] (360 × 170 px)."""
    margin = (hi - lo) * 0.04
    return round(bottom + (value - (lo - margin)) / (hi - lo + 2 * margin) * (top - bottom), 1)


def test_price_chart_candles_ticks_and_lines():
    chart = price_chart(
        DATES, BARS, {"EMA20": ("#d9480f", np.array([10_500.0, math.nan, 12_500.0]))}
    )
    assert (chart.width, chart.height) == (360, 170)
    assert (chart.left, chart.top, chart.right, chart.bottom) == (52, 8, 352, 150)
    first, second, third = chart.candles
    assert [c.x for c in chart.candles] == [102.0, 202.0, 302.0]  # slot 100 px, centred
    assert first.up and not second.up and third.up
    assert third.wick_top == y_of(14_000) == 13.3 and first.wick_bottom == y_of(9_000)
    assert first.body_top == y_of(12_000) and first.body_width == 60.0
    assert first.body_height == round(y_of(10_000) - y_of(12_000), 1)
    (line,) = chart.lines
    assert line.points == f"102.0,{y_of(10_500)} 302.0,{y_of(12_500)}"  # the NaN is a gap
    assert chart.legend == [("EMA20", "#d9480f")]
    assert [t.label for t in chart.y_ticks] == ["9,000", "11,500", "14,000"]
    assert [t.label for t in chart.x_ticks] == ["2025-11-26", "11-27", "11-28"]


def test_price_chart_skips_an_incomplete_bar():
    bars = {name: values.copy() for name, values in BARS.items()}
    bars["high"][1] = math.nan
    chart = price_chart(DATES, bars, {})
    assert [c.x for c in chart.candles] == [102.0, 302.0] and chart.lines == ()


def test_curve_chart_bands_benchmarks_and_zero():
    a = Series(
        "v1",
        "#111111",
        ["2025-01-02", "2025-01-03", "2025-01-06"],
        [0.01, None, 0.03],
        low=[0.0, None, 0.01],
        high=[0.02, None, 0.05],
        benchmark=[0.0, 0.01, 0.01],
    )
    b = Series("v2", "#222222", ["2025-01-03", "2025-01-07"], [-0.01, 0.02])
    chart = curve_chart([a, b])
    assert [t.label for t in chart.y_ticks] == ["-2%", "0%", "+2%", "+4%", "+6%"]
    assert [t.label for t in chart.x_ticks][0] == "2025-01-02" and len(chart.x_ticks) == 4
    (band,) = chart.bands  # only the series with low and high
    assert band.color == "#111111" and len(band.points.split()) == 4  # 2 upper + 2 lower
    solid = [line for line in chart.lines if not line.dashed]
    assert [line.label for line in solid] == ["v1", "v2"]
    assert len(solid[0].points.split()) == 2  # the undefined value is not drawn
    (dashed,) = [line for line in chart.lines if line.dashed]
    assert dashed.label == "v1" and len(dashed.points.split()) == 3
    assert chart.legend == [("v1", "#111111"), ("v2", "#222222")]
    # x: four dates spread over the plot; y: 0 is on the 0 % tick
    assert solid[1].points.split()[0].startswith(f"{52 + (752 - 52) / 3:.1f},")
    assert chart.zero == next(t.position for t in chart.y_ticks if t.label == "0%")


def test_nice_ticks():
    assert _nice_ticks(-0.013, 0.052) == [-0.02, 0.0, 0.02, 0.04, 0.06]
    assert _nice_ticks(0.0, 0.3) == [0.0, 0.1, 0.2, 0.3]
    assert _nice_ticks(0.0, 0.0) == [0.0]
