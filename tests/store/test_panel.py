import datetime as dt

import numpy as np
import pytest

from scanctl.store.bars import upsert_bars
from scanctl.store.db import write_transaction
from scanctl.store.panel import read_panel, stored_dates

D = [f"2025-01-{day:02d}" for day in (2, 3, 6, 7, 8)]


def write(db, rows, source="test"):
    with write_transaction(db):
        upsert_bars(db, rows, source)


@pytest.fixture
def small(db):
    rows = []
    for i, day in enumerate(D):
        rows.append((day, "005930", 100 + i, 110 + i, 90 + i, 105 + i, 1000 + i, None))
        if day != "2025-01-06":  # a halt: no row
            rows.append((day, "0126Z0", 50, 55, 45, 52 + i, 10, 777))
    rows.append(("2025-01-07", "000660", 10, 12, 9, 11, 0, None))  # zero volume: not a bar
    write(db, rows)
    return db


def test_panel_shapes_and_values(small):
    panel = read_panel(small, dt.date(2025, 1, 8), 10)
    assert [str(d) for d in panel.dates] == D
    assert list(panel.codes) == ["000660", "005930", "0126Z0"]
    col = panel.code_index("005930")
    assert panel.close[:, col].tolist() == [105, 106, 107, 108, 109]
    # value NULL falls back to close × volume
    assert panel.value[0, col] == 105 * 1000
    z = panel.code_index("0126Z0")
    assert np.isnan(panel.close[2, z]) and panel.value[0, z] == 777
    # the zero-volume row is absent in every field
    h = panel.code_index("000660")
    assert np.isnan(panel.close[:, h]).all() and np.isnan(panel.open[:, h]).all()
    assert panel.has_bar.sum() == 9


def test_panel_respects_end_and_count(small):
    panel = read_panel(small, dt.date(2025, 1, 6), 2)
    assert [str(d) for d in panel.dates] == ["2025-01-03", "2025-01-06"]
    assert stored_dates(small, dt.date(2025, 1, 5), 10) == ["2025-01-02", "2025-01-03"]
    empty = read_panel(small, dt.date(2024, 12, 31), 5)
    assert empty.close.shape == (0, 0)


def test_blocks_follow_every_write(small):
    read_panel(small, dt.date(2025, 1, 8), 10)  # blocks exist now
    assert small.execute("SELECT count(*) FROM bar_blocks").fetchone() == (5,)
    # a write outside scanctl's API drops the block via the trigger; the reader rebuilds it
    small.execute("UPDATE bars SET close = 999 WHERE date = '2025-01-08' AND code = '005930'")
    assert small.execute("SELECT count(*) FROM bar_blocks").fetchone() == (4,)
    panel = read_panel(small, dt.date(2025, 1, 8), 10)
    assert panel.close[-1, panel.code_index("005930")] == 999
    small.execute("DELETE FROM bars WHERE date = '2025-01-02' AND code = '0126Z0'")
    panel = read_panel(small, dt.date(2025, 1, 8), 10)
    assert np.isnan(panel.close[0, panel.code_index("0126Z0")])


def test_panel_matches_rows_on_random_market(db):
    rng = np.random.default_rng(3)
    days = [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(40)]
    codes = [f"{i:06d}" for i in range(30)]
    rows = []
    for day in days:
        for code in codes:
            if rng.random() < 0.2:
                continue
            close = int(rng.integers(100, 1000))
            rows.append(
                (day, code, close, close + 5, close - 5, close, int(rng.integers(1, 99)), None)
            )
    write(db, rows)
    panel = read_panel(db, dt.date(2030, 1, 1), 100)
    for day, code, _, _, _, close, volume, _ in rows:
        r, c = panel.date_index(dt.date.fromisoformat(day)), panel.code_index(code)
        assert panel.close[r, c] == close and panel.volume[r, c] == volume
    assert panel.has_bar.sum() == len(rows)


def test_older_bars_found_several_steps_back(db):
    from scanctl.store.panel import DATES_PER_STEP, read_older_bars

    days = [(dt.date(2020, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(700)]
    rows = [(day, "AAAAAA", 10, 11, 9, 10, 100, None) for day in days]  # trades every day
    rows += [(day, "BBBBBB", 20, 21, 19, 20 + i, 100, None) for i, day in enumerate(days[:3])]
    rows.append((days[1], "0126Z0", 5, 6, 4, 5, 0, None))  # listed, never a bar
    write(db, rows)
    before = dt.date.fromisoformat(days[-1])
    codes = np.array(["0126Z0", "AAAAAA", "BBBBBB", "CCCCCC"])  # ascending, as in a panel
    older = read_older_bars(db, codes, before, np.array([1, 2, 5, 1]))
    assert len(days) - 1 > 2 * DATES_PER_STEP  # B's bars are three steps back
    b = older.code_index("BBBBBB")
    assert older.close[older.has_bar[:, b], b].tolist() == [20, 21, 22]  # all it has
    # A's last two bars, then the dates of B's (A traded on them too)
    assert [str(d) for d in older.dates] == days[:3] + days[-3:-1]
    assert older.has_bar[:, older.code_index("AAAAAA")].all()
    assert older.has_bar.sum() == 8  # nothing for the zero-volume listing or the unknown code


def test_older_bars_across_a_long_halt(db):
    from scanctl.store.panel import read_older_bars

    days = [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(30)]
    rows = []
    for i, day in enumerate(days):
        rows.append((day, "AAAAAA", 10, 11, 9, 10 + i, 100, None))  # trades every day
        if i < 5 or i >= 25:  # a 20-day halt in the middle
            volume = 0 if i == 3 else 100  # day 3 is a zero-volume row: not a bar
            rows.append((day, "BBBBBB", 20, 21, 19, 20 + i, volume, None))
    write(db, rows)
    recent = read_panel(db, dt.date(2024, 1, 30), 5)  # the last 5 dates: B's bars 25..29
    older = read_older_bars(
        db, np.array(["BBBBBB", "CCCCCC"]), dt.date(2024, 1, 26), np.array([4, 3])
    )
    b = older.code_index("BBBBBB")
    # B's four bars before the panel: days 4, 2, 1, 0 (day 3 is not a bar, so one more back)
    assert [str(d)[-2:] for d in older.dates[older.has_bar[:, b]]] == ["01", "02", "03", "05"]
    assert older.close[older.has_bar[:, b], b].tolist() == [20, 21, 22, 24]
    assert not older.has_bar[:, older.code_index("CCCCCC")].any()  # unknown code: nothing
    joined = recent.prepend(older)
    assert joined.has_bar[:, joined.code_index("BBBBBB")].sum() == 9
    assert list(joined.codes) == list(recent.codes)
    assert joined.dates[0] == np.datetime64("2024-01-01") and joined.dates[-1] == recent.dates[-1]
