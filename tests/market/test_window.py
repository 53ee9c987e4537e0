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
