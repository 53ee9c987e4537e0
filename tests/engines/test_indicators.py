"""scanctl.engines.indicators against hand-computed values and an independent reference.

Expected values come from two places only: literals worked out by hand (exact fractions in
the comments), and the per-ticker reference below, written over plain Python lists straight
from the text of ENGINES.md §1. The reference never calls the module under test.
"""

from __future__ import annotations

import dataclasses
import math
import random
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.engines.indicators import (
    Indicators,
    atr14,
    compute_indicators,
    dema,
    ema,
    macd,
    obv,
    rsi14_wilder,
    rsi_dema,
    rsi_tema,
    slope20,
    sma,
    tema,
    true_range,
)
from scanctl.engines.scalars import Scalars, last_bar_scalars, round2

Series = list[float | None]  # None = undefined
Bar = tuple[float, float, float, float, float]  # o, h, l, c, v

# ------------------------------------------------------------------- reference (ENGINES.md §1)


def ref_ema(xs: Series, n: int) -> Series:
    """EMA_f = x_f at the first defined x; α·x_k + (1-α)·EMA_{k-1} afterwards."""
    alpha = 2 / (n + 1)
    out: Series = []
    prev = None
    for x in xs:
        # prev stays None until x is first defined, and is seeded with that x
        prev = x if prev is None else alpha * x + (1 - alpha) * prev
        out.append(prev)
    return out


def ref_dema(xs: Series, n: int) -> Series:
    e1 = ref_ema(xs, n)
    e2 = ref_ema(e1, n)
    return [None if a is None else 2 * a - b for a, b in zip(e1, e2, strict=True)]


def ref_tema(xs: Series, n: int) -> Series:
    e1 = ref_ema(xs, n)
    e2 = ref_ema(e1, n)
    e3 = ref_ema(e2, n)
    return [None if a is None else 3 * (a - b) + d for a, b, d in zip(e1, e2, e3, strict=True)]


def ref_mean(xs: Series, n: int) -> Series:
    out: Series = []
    for k in range(len(xs)):
        window = xs[k - n + 1 : k + 1] if k >= n - 1 else [None]
        out.append(None if None in window else sum(window) / n)
    return out


def ref_slope20(ys: Series) -> Series:
    """The spec's formula as written: Σ (i - 9.5)·(y - ȳ) / 665 with ȳ the mean of the 20."""
    out: Series = []
    for k in range(len(ys)):
        window = ys[k - 19 : k + 1] if k >= 19 else [None]
        if None in window:
            out.append(None)
            continue
        ybar = sum(window) / 20
        out.append(sum((i - 9.5) * (window[i] - ybar) for i in range(20)) / 665)
    return out


def ref_rsi(num: Series, den: Series) -> list[float]:
    out = []
    for p, q in zip(num, den, strict=True):
        if p is None or q is None or q == 0 or p / q == -1:  # RS undefined, or 1 + RS = 0
            out.append(50.0)
        else:
            out.append(100 - 100 / (1 + p / q))
    return out


def ref_rsi14(closes: list[float]) -> Series:
    out: Series = [None] * len(closes)
    if len(closes) < 15:
        return out
    gains = [None] + [max(closes[k] - closes[k - 1], 0) for k in range(1, len(closes))]
    losses = [None] + [max(closes[k - 1] - closes[k], 0) for k in range(1, len(closes))]
    avg_gain, avg_loss = sum(gains[1:15]) / 14, sum(losses[1:15]) / 14
    for k in range(14, len(closes)):
        if k > 14:
            avg_gain = (13 * avg_gain + gains[k]) / 14
            avg_loss = (13 * avg_loss + losses[k]) / 14
        if avg_loss > 0:
            out[k] = 100 - 100 / (1 + avg_gain / avg_loss)
        else:
            out[k] = 100.0 if avg_gain > 0 else 50.0
    return out


def reference(bars: list[Bar]) -> dict[str, object]:
    """Every §1.1 series and §1.2 scalar of one ticker's window."""
    o, h, l, c, v = (list(col) for col in zip(*bars, strict=True))  # noqa: E741
    n = len(bars)
    t = n - 1
    d: Series = [None] + [c[k] - c[k - 1] for k in range(1, n)]
    ema12, ema26 = ref_ema(c, 12), ref_ema(c, 26)
    line = [a - b for a, b in zip(ema12, ema26, strict=True)]
    signal = ref_ema(line, 9)
    tr = [h[0] - l[0]] + [
        max(h[k] - l[k], abs(h[k] - c[k - 1]), abs(l[k] - c[k - 1])) for k in range(1, n)
    ]
    obv_: list[float] = [0.0]
    for k in range(1, n):
        obv_.append(obv_[-1] + (1 if d[k] > 0 else -1 if d[k] < 0 else 0) * v[k])
    g = [None if x is None else max(x, 0) for x in d]
    lo = [None if x is None else max(-x, 0) for x in d]
    g0 = [0.0] + [x if x > 0 else 0.0 for x in d[1:]]
    l0 = [0.0] + [-x if x < 0 else 0.0 for x in d[1:]]
    s: dict[str, object] = {
        "TEMA20": ref_tema(c, 20),
        "DEMA10": ref_dema(c, 10),
        "EMA20": ref_ema(c, 20),
        "EMA60": ref_ema(c, 60),
        "MACD_LINE": line,
        "MACD_SIGNAL": signal,
        "MACD_OSC": [a - b for a, b in zip(line, signal, strict=True)],
        "RSI_TEMA": ref_rsi(ref_tema(g, 14), ref_tema(lo, 14)),
        "RSI_DEMA": ref_rsi(ref_dema(g0, 14), ref_dema(l0, 14)),
        "RSI14": ref_rsi14(c),
        "OBV": obv_,
        "VOL_MA5": ref_mean(v, 5),
        "VMA20": ref_mean(v, 20),
        "TR": tr,
        "ATR14": ref_mean(tr, 14),
    }
    for name in ("TEMA20", "OBV", "DEMA10", "EMA60"):
        s[f"{name}_SLOPE20"] = ref_slope20(s[name])

    def at(name: str, i: int) -> float | None:
        return s[name][t - i] if t - i >= 0 else None

    def above(a: str, b: str, i: int) -> bool:
        x, y = at(a, i), at(b, i)
        return x is not None and y is not None and x > y

    def crossed(a: str, b: str, i: int) -> bool:
        x, y = at(a, i + 1), at(b, i + 1)
        return above(a, b, i) and x is not None and y is not None and x <= y

    run = 0
    while t - run - 1 >= 0 and s["MACD_OSC"][t - run] > s["MACD_OSC"][t - run - 1]:
        run += 1
    h20 = max(h[t - 19 :]) if n >= 20 else None
    tema_t, atr_t, vma5_t = at("TEMA20", 0), at("ATR14", 0), at("VOL_MA5", 0)
    slope60_t = at("EMA60_SLOPE20", 0)
    s.update(
        ABOVE_CNT5=sum(above("TEMA20", "DEMA10", i) for i in range(5)),
        cross=crossed("TEMA20", "DEMA10", 0),
        crossed_recently=any(crossed("TEMA20", "DEMA10", i) for i in range(5)),
        macd_golden_cross=crossed("MACD_LINE", "MACD_SIGNAL", 0),
        macd_line_up=above("MACD_LINE", "MACD_SIGNAL", 0),
        gap_now=(tema_t - at("DEMA10", 0)) / c[t],
        ext_pct=0.0 if tema_t == 0 else (c[t] - tema_t) / tema_t,
        turnover20=sum(c[k] * v[k] for k in range(t - 19, t + 1)) / 20 if n >= 20 else None,
        ATR_PCT=None if atr_t is None else atr_t / c[t],
        vol_ratio=None if vma5_t is None else v[t] / vma5_t,
        macd_duration=min(run, 10),
        macd_run=run,
        up_days5=sum(t - i - 1 >= 0 and c[t - i] > c[t - i - 1] for i in range(5)),
        change_rate=round(((c[t] - c[t - 1]) / c[t - 1]) * 100, 2) if n >= 2 else None,
        R20=c[t] / c[t - 20] - 1 if n >= 21 else None,
        EMA60_SLOPE20_PCT=None if slope60_t is None else slope60_t / at("EMA60", 0),
        H20=h20,
        HIGH_AGE=None if h20 is None else min(t - k for k in range(t - 19, t + 1) if h[k] == h20),
        PB_DEPTH=None if h20 is None else 1 - c[t] / h20,
        DIST_EMA20=abs(c[t] / at("EMA20", 0) - 1),
        n_bars=n,
    )
    return s


# ----------------------------------------------------------------------------------- helpers

SERIES = [f.name for f in dataclasses.fields(Indicators)]
SCALARS = [f.name for f in dataclasses.fields(Scalars)]


def window_arrays(windows: list[list[Bar]], lookback: int | None = None) -> list[np.ndarray]:
    """o, h, l, c, v as (L, N) window arrays: each window right-aligned, NaN-padded on top."""
    rows = lookback or max(len(w) for w in windows)
    arrays = [np.full((rows, len(windows)), np.nan) for _ in range(5)]
    for col, bars in enumerate(windows):
        for row, bar in enumerate(bars[-rows:], start=rows - min(rows, len(bars))):
            for arr, value in zip(arrays, bar, strict=True):
                arr[row, col] = value
    return arrays


def column(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=float)[:, None]


def random_bars(rng: random.Random, n: int, tick: float = 1.0) -> list[Bar]:
    """A random walk in KRW-like prices; a coarse ``tick`` gives runs of equal closes."""
    bars, close = [], rng.uniform(2_000, 60_000)
    for _ in range(n):
        close = max(tick, round(close * (1 + rng.gauss(0, 0.03)) / tick) * tick)
        open_ = max(tick, round(close * (1 + rng.gauss(0, 0.01)) / tick) * tick)
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.01)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.01)))
        bars.append((open_, high, low, close, float(rng.randint(1, 2_000_000))))
    return bars


def assert_close(actual: float, expected: float | None, what: str, scale: float = 0.0) -> None:
    if expected is None:
        assert math.isnan(actual), f"{what}: expected undefined, got {actual!r}"
    else:
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12 * scale), (
            f"{what}: {actual!r} != {expected!r}"
        )


def check_against_reference(windows: list[list[Bar]], lookback: int | None = None) -> None:
    arrays = window_arrays(windows, lookback)
    ind = compute_indicators(*arrays)
    sc = last_bar_scalars(ind, *arrays)
    rows = arrays[3].shape[0]
    for col, bars in enumerate(windows):
        bars = bars[-rows:]
        ref = reference(bars)
        pad = rows - len(bars)
        for name in SERIES:
            got = getattr(ind, name)[:, col]
            assert np.isnan(got[:pad]).all(), f"{name} col {col}: padding rows must be NaN"
            expected = ref[name]
            # a slope is a difference of values: its rounding scale is the level of the series
            base = ref[name.removesuffix("_SLOPE20")] if name.endswith("_SLOPE20") else expected
            scale = max((abs(x) for x in base if x is not None), default=0.0)
            for k in range(len(bars)):
                assert_close(got[pad + k], expected[k], f"{name}[{k}] col {col}", scale)
        for name in SCALARS:
            got = getattr(sc, name)[col]
            if isinstance(ref[name], bool | int) and name != "HIGH_AGE":
                assert got == ref[name], f"{name} col {col}: {got!r} != {ref[name]!r}"
            else:
                assert_close(float(got), ref[name], f"{name} col {col}", 1.0)


# ------------------------------------------------------------------------- hand-worked values


def test_ema_dema_tema_hand_values() -> None:
    x = column([1, 2, 3])  # n = 2: α = 2/3
    # E1 = 1, 5/3, 23/9; E2 = 1, 13/9, 59/27; E3 = 1, 35/27, 17/9
    np.testing.assert_allclose(ema(x, 2)[:, 0], [1, 5 / 3, 23 / 9], rtol=1e-12)
    np.testing.assert_allclose(dema(x, 2)[:, 0], [1, 17 / 9, 79 / 27], rtol=1e-12)
    np.testing.assert_allclose(tema(x, 2)[:, 0], [1, 53 / 27, 3], rtol=1e-12)


def test_ema_is_seeded_at_the_first_defined_value() -> None:
    x = np.array([[np.nan, 1.0], [np.nan, 2.0], [4.0, 3.0], [1.0, 4.0]])
    got = ema(x, 3)  # α = 1/2
    np.testing.assert_array_equal(got[:, 0], [np.nan, np.nan, 4.0, 2.5])
    np.testing.assert_array_equal(got[:, 1], [1.0, 1.5, 2.25, 3.125])


def test_sma_defined_from_n_values() -> None:
    got = sma(column([1, 2, 3, 4, 5, 6]), 5)[:, 0]
    np.testing.assert_array_equal(got, [np.nan] * 4 + [3.0, 4.0])
    assert np.isnan(sma(column([1, 2, 3]), 5)).all()


def test_slope20_hand_values() -> None:
    k = np.arange(25.0)
    # Σ (i - 9.5)·i² over i = 0 … 19 = 36100 - 9.5·2470 = 12635 = 19·665
    quadratic = slope20(column(list(k**2)))[:, 0]
    assert np.isnan(quadratic[:19]).all()
    assert quadratic[19] == pytest.approx(19.0, rel=1e-12)
    assert quadratic[24] == pytest.approx(29.0, rel=1e-12)  # (5 + i)²: 2·5 + 19
    np.testing.assert_allclose(slope20(column(list(7 + 2 * k)))[19:, 0], 2.0, rtol=1e-12)
    np.testing.assert_array_equal(slope20(column([1234.5] * 25))[19:, 0], 0.0)  # exactly


def test_true_range_hand_values() -> None:
    h, low = column([10, 12, 11, 15, 6]), column([8, 9, 7, 14, 5])
    c = column([9, 11, 8, 14.5, 5.5])
    # first bar h - l = 2; max(3, 3, 0); max(4, 0, 4); gap up max(1, 7, 6);
    # gap down max(1, 8.5, 9.5)
    np.testing.assert_array_equal(true_range(h, low, c)[:, 0], [2, 3, 4, 7, 9.5])


def test_atr14_is_a_plain_mean_from_the_14th_bar() -> None:
    h = column([10.0 + k for k in range(16)])
    low = column([8.0 + k for k in range(16)])
    c = column([9.0 + k for k in range(16)])
    # TR = 2 at the first bar, then max(2, |h_k - c_{k-1}| = 2, |l_k - c_{k-1}| = 0) = 2
    np.testing.assert_array_equal(atr14(h, low, c)[:, 0], [np.nan] * 13 + [2.0] * 3)


def test_obv_with_equal_closes() -> None:
    got = obv(column([10, 10, 11, 11, 10]), column([1, 2, 3, 4, 5]))
    np.testing.assert_array_equal(got[:, 0], [0, 0, 3, 3, -2])


def test_obv_starts_at_zero_on_the_first_bar_of_a_short_window() -> None:
    c = np.array([[np.nan, 5.0], [7.0, 6.0], [8.0, 6.0]])
    v = np.array([[np.nan, 1.0], [10.0, 20.0], [30.0, 40.0]])
    np.testing.assert_array_equal(obv(c, v), [[np.nan, 0], [0, 20], [30, 20]])


def test_rsi_tema_and_rsi_dema_hand_values() -> None:
    c = column([10, 11, 10])  # α = 2/15, β = 13/15
    # TEMA_14(G) at k=2: β³ = 2197/3375; TEMA_14(L) = 3·(2/15 - 4/225) + 8/3375 = 1178/3375;
    # k=1: TEMA_14(L) = L_1 = 0 → 50; k=0: G_0 undefined → 50
    np.testing.assert_allclose(rsi_tema(c)[:, 0], [50, 50, 100 * 2197 / 3375], rtol=1e-12)
    # DEMA_14(G′) = 0, 56/225, 676/3375; DEMA_14(L′) = 0, 0, 56/225
    np.testing.assert_allclose(rsi_dema(c)[:, 0], [50, 50, 100 * 676 / 1516], rtol=1e-12)


def test_rsi14_hand_values_and_warm_up() -> None:
    closes = [100.0]
    for k in range(1, 17):
        closes.append(closes[-1] + (2 if k % 2 else -1))
    got = rsi14_wilder(column(closes))[:, 0]
    assert np.isnan(got[:14]).all()
    # AG = 7·2/14 = 1, AL = 7·1/14 = 0.5 → RS 2; then k=15 (+2): AG 15/14, AL 6.5/14
    # k=16 (-1): AG = 13·15/14/14, AL = (13·6.5/14 + 1)/14 → RS = 195/98.5
    expected = [100 - 100 / 3, 100 - 1300 / 43, 100 - 100 / (1 + 195 / 98.5)]
    np.testing.assert_allclose(got[14:], expected, rtol=1e-12)


def test_rsi14_one_way_moves_hit_the_bounds() -> None:
    up = rsi14_wilder(column(list(range(100, 120))))[:, 0]
    down = rsi14_wilder(column(list(range(120, 100, -1))))[:, 0]
    np.testing.assert_array_equal(up[14:], 100.0)
    np.testing.assert_array_equal(down[14:], 0.0)


def test_flat_prices_give_rsi_50() -> None:
    c = np.array([[np.nan, 5000.0]] * 3 + [[7000.0, 5000.0]] * 27)
    for series in (rsi_tema(c), rsi_dema(c)):
        np.testing.assert_array_equal(series[3:, 0], 50.0)
        np.testing.assert_array_equal(series[:, 1], 50.0)
        assert np.isnan(series[:3, 0]).all()
    rsi14 = rsi14_wilder(c)
    np.testing.assert_array_equal(rsi14[14:, 1], 50.0)
    np.testing.assert_array_equal(rsi14[17:, 0], 50.0)
    assert np.isnan(rsi14[:17, 0]).all()


@pytest.mark.parametrize(
    ("closes", "outside"),
    [
        ([100, 102, 102, 100, 97, 94, 92], "below"),
        ([100, 98, 100, 108, 107, 107, 115, 117, 118, 121], "above"),
    ],
)
def test_rsi_tema_is_not_clamped(closes: list[float], outside: str) -> None:
    closes = [float(x) for x in closes]
    d = [None] + [b - a for a, b in zip(closes, closes[1:], strict=False)]
    g = [None if x is None else max(x, 0) for x in d]
    lo = [None if x is None else max(-x, 0) for x in d]
    expected = ref_rsi(ref_tema(g, 14), ref_tema(lo, 14))
    last = expected[-1]
    assert last < 0 if outside == "below" else last > 100
    np.testing.assert_allclose(rsi_tema(column(closes))[:, 0], expected, rtol=1e-9)


def test_macd_hand_values() -> None:
    line, signal, osc = macd(column([1, 2]))
    # EMA12 = 1, 15/13; EMA26 = 1, 29/27 → line 0, 28/351; signal 0, 0.2·28/351
    np.testing.assert_allclose(line[:, 0], [0, 28 / 351], rtol=1e-12, atol=0)
    np.testing.assert_allclose(signal[:, 0], [0, 5.6 / 351], rtol=1e-12, atol=0)
    np.testing.assert_allclose(osc[:, 0], [0, 22.4 / 351], rtol=1e-12, atol=0)


def test_first_defined_rows() -> None:
    arrays = window_arrays([random_bars(random.Random(7), 30)])
    ind = compute_indicators(*arrays)
    first_defined = {"VOL_MA5": 4, "ATR14": 13, "RSI14": 14, "VMA20": 19}
    first_defined.update({n: 19 for n in SERIES if n.endswith("_SLOPE20")})
    for name in SERIES:
        defined = np.flatnonzero(~np.isnan(getattr(ind, name)[:, 0]))
        start = first_defined.get(name, 0)
        assert defined.tolist() == list(range(start, 30)), name
    assert ind.RSI_TEMA[0, 0] == ind.RSI_DEMA[0, 0] == 50.0
    assert ind.VMA5 is ind.VOL_MA5


# ------------------------------------------------------------------- against the reference


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_reference_on_random_windows(seed: int) -> None:
    rng = random.Random(seed)
    lengths = [1, 2, 3, 5, 14, 15, 16, 19, 20, 21, 22, 30, 59, 60, 61, 75, 90]
    windows = [random_bars(rng, n, tick=rng.choice([1.0, 50.0, 500.0])) for n in lengths]
    windows += [random_bars(rng, rng.randint(21, 90), tick=5.0) for _ in range(60)]
    check_against_reference(windows)


def test_matches_reference_when_lookback_cuts_the_history() -> None:
    rng = random.Random(11)
    check_against_reference([random_bars(rng, n) for n in (40, 70, 25, 90)], lookback=30)


def test_reference_batch_exercises_every_condition() -> None:
    """The random batches above reach both outcomes of every boolean and count."""
    rng = random.Random(1)
    windows = [random_bars(rng, rng.randint(21, 90), tick=5.0) for _ in range(200)]
    arrays = window_arrays(windows)
    sc = last_bar_scalars(compute_indicators(*arrays), *arrays)
    for name in ("cross", "crossed_recently", "macd_golden_cross", "macd_line_up"):
        assert getattr(sc, name).any() and not getattr(sc, name).all(), name
    assert len(set(sc.ABOVE_CNT5.tolist())) >= 4
    assert len(set(sc.macd_duration.tolist())) >= 4
    assert len(set(sc.HIGH_AGE.tolist())) >= 4


def test_padded_column_equals_the_same_bars_alone() -> None:
    bars = random_bars(random.Random(5), 40)
    padded = window_arrays([bars, random_bars(random.Random(6), 90)])
    alone = window_arrays([bars])
    ind_padded, ind_alone = compute_indicators(*padded), compute_indicators(*alone)
    for name in SERIES:
        np.testing.assert_array_equal(
            getattr(ind_padded, name)[50:, 0], getattr(ind_alone, name)[:, 0]
        )
    sc_padded = last_bar_scalars(ind_padded, *padded)
    sc_alone = last_bar_scalars(ind_alone, *alone)
    for name in SCALARS:
        np.testing.assert_array_equal(getattr(sc_padded, name)[0], getattr(sc_alone, name)[0])


# ------------------------------------------------------------------------------------ scalars


def flat_bars(n: int, close: float = 1000.0) -> list[Bar]:
    return [(close, close + 10, close - 10, close, 100.0) for _ in range(n)]


def scalars_of(windows: list[list[Bar]]) -> Scalars:
    arrays = window_arrays(windows)
    return last_bar_scalars(compute_indicators(*arrays), *arrays)


def test_high_age_picks_the_latest_bar_of_a_tied_high() -> None:
    bars = flat_bars(25)
    for age in (12, 3):  # two bars share the 20-bar high
        o, _, low, c, v = bars[-1 - age]
        bars[-1 - age] = (o, 2000.0, low, c, v)
    sc = scalars_of([bars])
    assert sc.H20[0] == 2000.0
    assert sc.HIGH_AGE[0] == 3.0
    assert sc.PB_DEPTH[0] == pytest.approx(0.5)


def test_high_age_ignores_highs_older_than_20_bars() -> None:
    bars = flat_bars(25)
    bars[-21] = (1000.0, 5000.0, 990.0, 1000.0, 100.0)  # t - 20: outside the 20 bars
    sc = scalars_of([bars])
    assert sc.H20[0] == 1010.0
    assert sc.HIGH_AGE[0] == 0.0  # all 20 highs tie: the latest is today


@pytest.mark.parametrize(
    ("prev", "close", "expected"),
    [
        (128.0, 132.0, 3.12),  # 3.125 exactly: half to even goes down
        (128.0, 140.0, 9.38),  # 9.375 exactly: half to even goes up
        (128.0, 124.0, -3.12),  # -3.125 exactly
        (100.0, 103.235, 3.23),  # 3.235 is stored below 3.235 (np.round gives 3.24)
        (100.0, 103.765, 3.77),  # stored above 3.765 (np.round gives 3.76)
        (1000.0, 1000.25, 0.03),  # 0.025 is stored above 0.025 (np.round gives 0.02)
        (50.0, 50.0, 0.0),
    ],
)
def test_change_rate_rounds_like_python(prev: float, close: float, expected: float) -> None:
    bars = [(prev, prev, prev, prev, 1.0), (close, close, close, close, 1.0)]
    got = scalars_of([bars]).change_rate[0]
    exact = Decimal(((close - prev) / prev) * 100)  # the double's exact decimal value
    assert got == expected == float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def test_round2_matches_python_round() -> None:
    values = [2.675, 1.005, 0.125, 0.375, -0.125, 1e-9, 12345.6789, np.nan, -2.5]
    got = round2(np.array(values))
    np.testing.assert_array_equal(got, [round(x, 2) for x in values])


def test_macd_duration_is_capped_at_10() -> None:
    closes = [1000.0 + 0.5 * k**2 for k in range(40)]  # accelerating: MACD_OSC keeps rising
    bars = [(x, x + 1, x - 1, x, 100.0) for x in closes]
    ref = reference(bars)
    assert ref["macd_run"] > 10
    assert scalars_of([bars]).macd_duration[0] == 10


def test_scalars_with_short_or_no_history() -> None:
    rng = random.Random(3)
    windows = [random_bars(rng, n) for n in (1, 2, 19, 20, 21)]
    arrays = window_arrays(windows, lookback=25)
    empty = np.full((25, 1), np.nan)
    arrays = [np.hstack([arr, empty]) for arr in arrays]  # a ticker with no bar at all
    sc = last_bar_scalars(compute_indicators(*arrays), *arrays)
    assert sc.n_bars.tolist() == [1, 2, 19, 20, 21, 0]
    assert np.isnan(sc.change_rate[[0, 5]]).all() and not np.isnan(sc.change_rate[1:5]).any()
    for name in ("turnover20", "H20", "HIGH_AGE", "PB_DEPTH"):
        assert np.isnan(getattr(sc, name)[[0, 1, 2, 5]]).all(), name
        assert not np.isnan(getattr(sc, name)[[3, 4]]).any(), name
    assert np.isnan(sc.R20[:4]).all() and not np.isnan(sc.R20[4])
    assert not sc.cross[5] and not sc.macd_line_up[5] and sc.ABOVE_CNT5[5] == 0
    assert sc.up_days5.dtype == sc.ABOVE_CNT5.dtype == sc.macd_duration.dtype == np.int64
    assert sc.cross.dtype == np.bool_


# ------------------------------------------------------------------------ contract and errors


def test_outputs_are_read_only() -> None:
    arrays = window_arrays([random_bars(random.Random(1), 25)])
    ind = compute_indicators(*arrays)
    sc = last_bar_scalars(ind, *arrays)
    with pytest.raises(ValueError, match="read-only"):
        ind.TEMA20[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        sc.R20[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        ind.TEMA20 = ind.DEMA10  # type: ignore[misc]
    assert arrays[3].flags.writeable  # the inputs are left alone


def test_rejects_a_gap_after_the_first_bar() -> None:
    o, h, low, c, v = window_arrays([flat_bars(5), flat_bars(5)])
    for arr in (o, h, low, c, v):
        arr[2, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"c has a NaN after the first bar in 1 column\(s\), first \[1\]"
    ):
        compute_indicators(o, h, low, c, v)


def test_rejects_fields_that_disagree_on_missing_bars() -> None:
    o, h, low, c, v = window_arrays([flat_bars(5)])
    v[3, 0] = np.nan
    with pytest.raises(ValueError, match="v and c disagree"):
        compute_indicators(o, h, low, c, v)


def test_rejects_mismatched_shapes_and_bad_periods() -> None:
    o, h, low, c, v = window_arrays([flat_bars(5)])
    with pytest.raises(ValueError, match=r"h has shape \(4, 1\) but c has shape \(5, 1\)"):
        compute_indicators(o, h[1:], low, c, v)
    with pytest.raises(ValueError, match="x must be a 2-D"):
        ema(np.ones(5), 3)
    with pytest.raises(ValueError, match="n must be an integer ≥ 1, got 0"):
        sma(c, 0)
    ind = compute_indicators(o, h, low, c, v)
    with pytest.raises(ValueError, match="c has shape"):
        last_bar_scalars(ind, o, h, low, c[1:], v)


# --------------------------------------------------------------------------------- properties

finite = st.floats(min_value=1.0, max_value=1e7, allow_nan=False)


@st.composite
def panels(draw: st.DrawFn, max_tickers: int = 6) -> list[np.ndarray]:
    """Random window arrays: N tickers with 1 … L bars each, L ≤ 45."""
    rows = draw(st.integers(min_value=1, max_value=45))
    seeds = draw(st.lists(st.integers(0, 2**32), min_size=1, max_size=max_tickers))
    windows = []
    for seed in seeds:
        rng = random.Random(seed)
        windows.append(random_bars(rng, rng.randint(1, rows), tick=rng.choice([1.0, 100.0])))
    return window_arrays(windows, lookback=rows)


@given(value=finite, rows=st.integers(1, 40), pad=st.integers(0, 10), n=st.integers(1, 60))
def test_ema_family_of_a_constant_is_the_constant(
    value: float, rows: int, pad: int, n: int
) -> None:
    x = np.array([np.nan] * pad + [value] * rows)[:, None]
    for fn in (ema, dema, tema):
        got = fn(x, n)
        assert np.isnan(got[:pad]).all()
        np.testing.assert_allclose(got[pad:], value, rtol=1e-12)


@given(
    intercept=st.floats(-1e6, 1e6),
    slope=st.floats(-1e4, 1e4),
    rows=st.integers(20, 40),
)
def test_slope20_of_a_line_is_its_slope(intercept: float, slope: float, rows: int) -> None:
    y = intercept + slope * np.arange(rows, dtype=float)
    got = slope20(y[:, None])[19:, 0]
    np.testing.assert_allclose(got, slope, rtol=1e-9, atol=1e-12 * np.abs(y).max())


@settings(deadline=None, max_examples=60)
@given(arrays=panels())
def test_rsi14_stays_within_bounds(arrays: list[np.ndarray]) -> None:
    rsi = compute_indicators(*arrays).RSI14
    defined = rsi[~np.isnan(rsi)]
    assert ((defined >= 0) & (defined <= 100)).all()


@settings(deadline=None, max_examples=40)
@given(arrays=panels(), data=st.data())
def test_permuting_tickers_permutes_every_output(
    arrays: list[np.ndarray], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(range(arrays[0].shape[1])))
    permuted = [arr[:, order] for arr in arrays]
    ind, ind_p = compute_indicators(*arrays), compute_indicators(*permuted)
    for name in SERIES:
        np.testing.assert_array_equal(getattr(ind, name)[:, order], getattr(ind_p, name))
    sc, sc_p = last_bar_scalars(ind, *arrays), last_bar_scalars(ind_p, *permuted)
    for name in SCALARS:
        np.testing.assert_array_equal(getattr(sc, name)[order], getattr(sc_p, name))


@settings(deadline=None, max_examples=40)
@given(arrays=panels(), data=st.data())
def test_one_column_alone_equals_it_within_the_panel(
    arrays: list[np.ndarray], data: st.DataObject
) -> None:
    col = data.draw(st.integers(0, arrays[0].shape[1] - 1))
    single = [arr[:, col : col + 1] for arr in arrays]
    ind, ind_1 = compute_indicators(*arrays), compute_indicators(*single)
    for name in SERIES:
        np.testing.assert_array_equal(getattr(ind, name)[:, col], getattr(ind_1, name)[:, 0])
    sc, sc_1 = last_bar_scalars(ind, *arrays), last_bar_scalars(ind_1, *single)
    for name in SCALARS:
        np.testing.assert_array_equal(getattr(sc, name)[col], getattr(sc_1, name)[0])


@settings(deadline=None, max_examples=40)
@given(seeds=st.lists(st.integers(0, 2**32), min_size=1, max_size=4), rows=st.integers(1, 70))
def test_matches_reference_on_generated_windows(seeds: list[int], rows: int) -> None:
    windows = []
    for seed in seeds:
        rng = random.Random(seed)
        windows.append(random_bars(rng, rng.randint(1, rows), tick=rng.choice([1.0, 10.0, 1000.0])))
    check_against_reference(windows, lookback=rows)


def test_ext_pct_is_zero_when_tema20_is_zero() -> None:
    arrays = window_arrays([flat_bars(25), flat_bars(25)])
    ind = compute_indicators(*arrays)
    tema20 = ind.TEMA20.copy()
    tema20[-1, 0] = 0.0  # not reachable with positive closes; the rule still holds
    sc = last_bar_scalars(dataclasses.replace(ind, TEMA20=tema20), *arrays)
    assert sc.ext_pct.tolist() == [0.0, 0.0]  # col 1: (c - TEMA20)/TEMA20 with TEMA20 = c
    assert sc.gap_now[0] == pytest.approx(-1.0)  # (0 - DEMA10)/c with DEMA10 = c
