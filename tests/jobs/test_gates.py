import datetime as dt

import pytest

from scanctl.clock import KST
from scanctl.errors import BadInput, DataNotReady
from scanctl.jobs.gates import check_data, check_session
from scanctl.market.calendar import KrxCalendar
from scanctl.store.bars import upsert_bars
from scanctl.store.db import write_transaction

FRIDAY = dt.date(2025, 11, 28)


def bars(db, day, n, offset=0):
    rows = [(day, f"{i + offset:06d}", 10, 11, 9, 10, 100, None) for i in range(n)]
    with write_transaction(db):
        upsert_bars(db, rows, "test")


@pytest.mark.parametrize(("today", "passes"), [(95, True), (94, False), (100, True)])
def test_data_gate_threshold(db, today, passes):
    bars(db, "2025-11-27", 100)
    bars(db, "2025-11-28", today)
    if passes:
        verdict = check_data(db, FRIDAY, 0.95)
        assert verdict.bars_on_previous == 100 and verdict.bars_on_date == today
    else:
        with pytest.raises(DataNotReady, match=r"bars for 2025-11-28: 94 of the 100 on 2025-11-27"):
            check_data(db, FRIDAY, 0.95)


def test_data_gate_first_day_and_empty(db):
    with pytest.raises(DataNotReady, match="bars for 2025-11-28: 0"):
        check_data(db, FRIDAY, 0.95)
    bars(db, "2025-11-28", 3)
    assert check_data(db, FRIDAY, 0.95).ratio == 1.0


def at(day, hour, minute):
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=KST)


@pytest.mark.parametrize(
    ("now", "force", "outcome"),
    [
        (at(FRIDAY, 15, 39), False, DataNotReady),  # close 15:30 + 10 min margin
        (at(FRIDAY, 15, 40), False, True),
        (at(FRIDAY, 9, 0), True, True),
        (at(dt.date(2025, 11, 27), 18, 0), False, BadInput),  # the date is tomorrow
    ],
)
def test_close_guard(now, force, outcome):
    calendar = KrxCalendar()
    if outcome is True:
        assert check_session(calendar, FRIDAY, now, 10, force).is_session
    else:
        with pytest.raises(outcome):
            check_session(calendar, FRIDAY, now, 10, force)


def test_non_session_is_a_skip():
    verdict = check_session(KrxCalendar(), dt.date(2025, 10, 3), at(FRIDAY, 18, 0), 10, False)
    assert not verdict.is_session and verdict.reason
