import datetime as dt

import numpy as np
import pytest

from scanctl.market.window import evaluation_window
from scanctl.store.panel import Panel

DATES = np.array(
    ["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07", "2025-01-08"], dtype="datetime64[D]"
)


def panel(closes: dict[str, list[float | None]]) -> Panel:
    codes = sorted(closes)
    close = np.array([[np.nan if x is None else x for x in closes[c]] for c in codes]).T
    return Panel(
        dates=DATES,
        codes=np.array(codes, dtype="U6"),
        open=close + 1,
        high=close + 2,
        low=close - 1,
        close=close,
        volume=close * 10,
        value=close * 100,
    )


P = panel(
    {
        "AAAAAA": [1, 2, 3, 4, 5],
        "BBBBBB": [1, None, 3, None, 5],  # halts leave no row
        "CCCCCC": [None, None, None, 4, None],  # no bar on the last date
        "DDDDDD": [None, None, None, None, None],
    }
)


def test_right_aligned_windows_skip_halts():
    w = evaluation_window(P, dt.date(2025, 1, 8), 3)
    assert w.close[:, 0].tolist() == [3, 4, 5]
    assert w.close[:, 1].tolist() == [1, 3, 5]
    assert np.isnan(w.close[:2, 2]).all() and w.close[2, 2] == 4
    assert np.isnan(w.close[:, 3]).all()
    assert w.open[:, 1].tolist() == [2, 4, 6] and w.volume[:, 1].tolist() == [10, 30, 50]
    assert w.n_bars.tolist() == [3, 3, 1, 0]
    assert w.bar_on_date.tolist() == [True, True, False, False]
    assert [str(d) for d in w.first_date] == ["2025-01-06", "2025-01-02", "2025-01-07", "NaT"]
    assert [str(d) for d in w.last_date] == ["2025-01-08", "2025-01-08", "2025-01-07", "NaT"]


def test_window_ignores_later_dates_and_pads_short_history():
    w = evaluation_window(P, dt.date(2025, 1, 6), 5)
    assert w.close.shape == (5, 4)
    assert w.close[:, 0].tolist()[2:] == [1, 2, 3] and np.isnan(w.close[:2, 0]).all()
    assert w.n_bars.tolist() == [3, 2, 0, 0]
    assert w.bar_on_date.tolist() == [True, True, False, False]


def test_date_before_the_panel_and_bad_lookback():
    w = evaluation_window(P, dt.date(2024, 12, 31), 4)
    assert w.n_bars.tolist() == [0, 0, 0, 0] and not w.bar_on_date.any()
    with pytest.raises(ValueError, match="lookback"):
        evaluation_window(P, dt.date(2025, 1, 8), 0)


def reference_window(panel: Panel, day: dt.date, lookback: int, column: int) -> np.ndarray:
    """Column ``column``'s window by the definition: its last min(L, n) bars ≤ D, right-aligned."""
    rows = [
        r
        for r in range(len(panel.dates))
        if panel.dates[r] <= np.datetime64(day) and not np.isnan(panel.close[r, column])
    ][-lookback:]
    out = np.full(lookback, np.nan)
    if rows:
        out[lookback - len(rows) :] = panel.close[rows, column]
    return out


def test_bar_index_cuts_any_columns_as_the_definition_does():
    """Random halts, listings and delistings; every date, several lookbacks, column subsets."""
    from scanctl.market.window import BarIndex

    rng = np.random.default_rng(7)
    n_dates, n_codes = 40, 9
    close = rng.uniform(1, 100, (n_dates, n_codes))
    close[rng.random((n_dates, n_codes)) < 0.3] = np.nan  # halts
    close[:25, 0] = np.nan  # listed late
    close[10:, 1] = np.nan  # delisted
    close[:, 2] = np.nan  # never traded
    dates = np.datetime64("2025-01-01") + np.arange(n_dates)
    random_panel = Panel(
        dates=dates,
        codes=np.array([f"{i:06d}" for i in range(n_codes)], dtype="U6"),
        open=close + 1, high=close + 2, low=close - 1, close=close,
        volume=close * 10, value=close * 100,
    )  # fmt: skip
    index = BarIndex(random_panel)
    subset = np.array([0, 2, 5, 8])
    for row in range(-1, n_dates):
        day = (dates[0] + row).astype(dt.date)
        for lookback in (1, 6, 25, 60):
            whole = evaluation_window(random_panel, day, lookback)
            part = index.window(day, lookback, subset)
            assert list(part.codes) == list(whole.codes[subset])
            for column in range(n_codes):
                expected = reference_window(random_panel, day, lookback, column)
                assert np.array_equal(whole.close[:, column], expected, equal_nan=True)
                assert np.array_equal(whole.volume[:, column], expected * 10, equal_nan=True)
                bars = int(np.isfinite(expected).sum())
                assert whole.n_bars[column] == bars
            for name in ("open", "close", "value", "n_bars", "bar_on_date"):
                values = getattr(whole, name)[..., subset]
                assert np.array_equal(getattr(part, name), values, equal_nan=values.dtype == float)
            for name in ("first_date", "last_date"):
                values = getattr(whole, name)[subset]
                assert np.array_equal(getattr(part, name), values, equal_nan=True)
