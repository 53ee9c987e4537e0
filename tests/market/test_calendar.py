"""scanctl.market.calendar against hand-written KRX facts, the shipped file and a real store.

The `db` and `db_path` fixtures (real SQLite files under tmp_path) come from tests/conftest.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from importlib import resources

import pytest

from scanctl.clock import KST
from scanctl.errors import BadInput
from scanctl.market.calendar import (
    KrxCalendar,
    NotASession,
    Override,
    add_override,
    list_overrides,
    parse_time,
    remove_override,
    shipped_overrides,
)
from scanctl.store.db import open_db

# Expected answers written by hand from KRX notices (the sources in krx_overrides.csv) and the
# published KRX holiday lists; never computed with the code under test.
CLOSED_DATES = [
    ("2024-04-10", False),  # National Assembly election
    ("2024-10-01", False),  # Armed Forces Day, temporary holiday
    ("2024-12-31", False),  # year-end closing day
    ("2025-01-27", False),  # temporary holiday before Seollal
    ("2025-01-28", False),  # Seollal
    ("2025-06-03", False),  # presidential election
    ("2025-10-08", False),  # Chuseok substitute holiday
    ("2025-12-31", False),  # year-end closing day
    ("2026-05-01", False),  # Labor Day
    ("2026-06-03", False),  # local elections (exchange_calendars 4.13.2 says session)
    ("2026-07-17", False),  # Constitution Day, public holiday again (4.13.2 says session)
    ("2026-09-25", False),  # Chuseok
    ("2026-12-31", False),  # year-end closing day
    ("2027-12-27", False),  # Christmas substitute holiday
    ("2027-12-31", False),  # year-end closing day
    ("2025-06-07", False),  # Saturday
]
SESSION_HOURS = [
    ("2021-11-18", "10:00", "16:30"),  # CSAT
    ("2022-11-17", "10:00", "16:30"),  # CSAT
    ("2023-11-16", "10:00", "16:30"),  # CSAT
    ("2024-11-14", "10:00", "16:30"),  # CSAT
    ("2025-11-13", "10:00", "16:30"),  # CSAT
    ("2026-11-19", "10:00", "16:30"),  # CSAT
    ("2027-11-18", "10:00", "16:30"),  # CSAT (date announced by the Ministry of Education)
    ("2024-01-02", "10:00", "15:30"),  # first session of the year
    ("2025-01-02", "10:00", "15:30"),  # first session of the year
    ("2026-01-02", "10:00", "15:30"),  # first session of the year
    ("2024-12-30", "09:00", "15:30"),  # last session of 2024
    ("2025-06-02", "09:00", "15:30"),  # the day before the presidential election
    ("2025-10-10", "09:00", "15:30"),  # not made a holiday in 2025
    ("2026-09-28", "09:00", "15:30"),  # no substitute for a Saturday Chuseok
    ("2026-12-30", "09:00", "15:30"),  # last session of 2026
]


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def at(text: str, hhmm: str) -> dt.datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return dt.datetime.combine(day(text), dt.time(hour, minute), tzinfo=KST)


def shipped_rows() -> list[dict[str, str]]:
    """The shipped file read with the csv module, independently of the loader."""
    text = resources.files("scanctl.market").joinpath("krx_overrides.csv").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def calendar() -> KrxCalendar:
    return KrxCalendar()


@pytest.mark.parametrize(("date_text", "expected"), CLOSED_DATES)
def test_known_closures_are_not_sessions(calendar, date_text, expected):
    info = calendar.check(day(date_text))
    assert info.is_session is expected
    assert (info.open, info.close) == (None, None)
    assert info.reason


@pytest.mark.parametrize(("date_text", "open_hhmm", "close_hhmm"), SESSION_HOURS)
def test_known_sessions_have_their_hours(calendar, date_text, open_hhmm, close_hhmm):
    info = calendar.check(day(date_text))
    assert info.is_session
    assert info.open == at(date_text, open_hhmm)
    assert info.close == at(date_text, close_hhmm)
    assert calendar.session_close(day(date_text)) == at(date_text, close_hhmm)


@pytest.mark.parametrize("row", shipped_rows(), ids=lambda row: row["date"])
def test_every_shipped_row_is_what_the_calendar_answers(calendar, row):
    info = calendar.check(day(row["date"]))
    assert info.source == "shipped override"
    assert info.reason == row["reason"]
    assert row["source"].startswith(("http://", "https://"))
    if row["kind"] == "closed":
        assert (row["open_time"], row["close_time"]) == ("", "")
        assert not info.is_session
        assert (info.open, info.close) == (None, None)
    else:
        assert row["kind"] == "session"
        assert info.is_session
        assert info.open == at(row["date"], row["open_time"])
        assert info.close == at(row["date"], row["close_time"])


def test_shipped_file_is_sorted_unique_and_fully_loaded():
    dates = [row["date"] for row in shipped_rows()]
    assert dates == sorted(set(dates))
    assert sorted(shipped_overrides()) == [day(text) for text in dates]


def test_normal_session_comes_from_exchange_calendars(calendar):
    info = calendar.check(day("2025-06-04"))
    assert info.is_session
    assert info.source == "exchange_calendars"
    assert info.open == at("2025-06-04", "09:00")
    assert info.close == at("2025-06-04", "15:30")
    assert info.close.utcoffset() == dt.timedelta(hours=9)
    assert info.reason is None


def test_weekend_is_closed(calendar):
    info = calendar.check(day("2025-06-08"))
    assert not info.is_session
    assert info.reason == "weekend"
    assert not calendar.is_session(day("2025-06-07"))


def test_next_and_previous_cross_holidays(calendar):
    assert calendar.next_session(day("2025-06-02")) == day("2025-06-04")
    assert calendar.previous_session(day("2025-06-04")) == day("2025-06-02")
    # 3 Oct 2025 to 9 Oct 2025: National Foundation Day, weekend, Chuseok, Hangul Day.
    assert calendar.next_session(day("2025-10-02")) == day("2025-10-10")
    assert calendar.previous_session(day("2025-10-10")) == day("2025-10-02")
    assert calendar.next_session(day("2024-12-30")) == day("2025-01-02")
    assert calendar.previous_session(day("2025-01-02")) == day("2024-12-30")
    # Strictly after / before, even from a session.
    assert calendar.next_session(day("2025-06-04")) == day("2025-06-05")
    assert calendar.previous_session(day("2025-06-05")) == day("2025-06-04")


def test_sessions_in_range_and_last_session_on_or_before(calendar):
    assert calendar.sessions_in_range(day("2025-05-29"), day("2025-06-05")) == [
        day("2025-05-29"),
        day("2025-05-30"),
        day("2025-06-02"),
        day("2025-06-04"),
        day("2025-06-05"),
    ]
    assert calendar.sessions_in_range(day("2025-06-03"), day("2025-06-03")) == []
    assert calendar.last_session_on_or_before(day("2025-06-03")) == day("2025-06-02")
    assert calendar.last_session_on_or_before(day("2025-06-02")) == day("2025-06-02")
    with pytest.raises(BadInput, match="--from 2025-06-05 is after --to 2025-06-01"):
        calendar.sessions_in_range(day("2025-06-05"), day("2025-06-01"))


def test_session_close_refuses_a_closed_date_naming_it(calendar):
    with pytest.raises(NotASession, match=r"2025-06-03 is not a KRX session .*2025-06-02") as exc:
        calendar.session_close(day("2025-06-03"))
    assert isinstance(exc.value, BadInput)
    assert exc.value.exit_code == 2


def test_dates_before_2000_are_bad_input(calendar):
    with pytest.raises(BadInput, match="1999-12-31 is before 2000-01-01"):
        calendar.check(day("1999-12-31"))
    with pytest.raises(BadInput, match="no KRX session before 2000-01-04"):
        calendar.previous_session(day("2000-01-04"))


def test_beyond_exchange_calendars_uses_the_weekday_rule(calendar):
    horizon = calendar.horizon()
    assert horizon >= dt.date.today()  # exchange_calendars ends about a year after today
    tuesday, saturday = day("2040-03-06"), day("2040-03-10")
    info = calendar.check(tuesday)
    assert info.is_session
    assert info.source == "weekday rule (beyond exchange_calendars range)"
    assert (info.open, info.close) == (at("2040-03-06", "09:00"), at("2040-03-06", "15:30"))
    weekend = calendar.check(saturday)
    assert not weekend.is_session
    assert weekend.source == "weekday rule (beyond exchange_calendars range)"
    after = horizon + dt.timedelta(days=1)
    assert calendar.check(after).source in (
        "weekday rule (beyond exchange_calendars range)",
        "shipped override",
    )


def test_operator_overrides_win_in_a_pure_calendar():
    closed_csat = Override(day("2025-11-13"), "closed", None, None, "test closure")
    far_closure = Override(day("2040-03-06"), "closed", None, None, "test closure")
    calendar = KrxCalendar({closed_csat.date: closed_csat, far_closure.date: far_closure})
    for date_text in ("2025-11-13", "2040-03-06"):
        info = calendar.check(day(date_text))
        assert (info.is_session, info.source, info.reason) == (
            False,
            "operator override",
            "test closure",
        )
    assert KrxCalendar().check(day("2025-11-13")).source == "shipped override"


def test_operator_override_add_list_remove(db):
    assert list_overrides(db) == []
    closure = Override(day("2025-11-13"), "closed", None, None, "exchange outage")
    add_override(db, closure)
    assert list_overrides(db) == [closure]
    info = KrxCalendar.from_db(db).check(day("2025-11-13"))
    assert (info.is_session, info.source, info.reason) == (
        False,
        "operator override",
        "exchange outage",
    )

    half_day = Override(day("2025-11-13"), "session", dt.time(9, 0), dt.time(12, 0), "half day")
    add_override(db, half_day)  # upsert: replaces the closure
    assert list_overrides(db) == [half_day]
    assert KrxCalendar.from_db(db).session_close(day("2025-11-13")) == at("2025-11-13", "12:00")

    reopened = Override(day("2025-06-03"), "session", dt.time(9, 0), dt.time(15, 30), "drill")
    add_override(db, reopened)
    assert [override.date for override in list_overrides(db)] == [
        day("2025-06-03"),
        day("2025-11-13"),
    ]
    assert KrxCalendar.from_db(db).is_session(day("2025-06-03"))

    assert remove_override(db, day("2025-11-13")) is True
    assert remove_override(db, day("2025-11-13")) is False
    info = KrxCalendar.from_db(db).check(day("2025-11-13"))
    assert (info.source, info.close) == ("shipped override", at("2025-11-13", "16:30"))


def test_overrides_survive_reopening_the_store(db_path):
    writer = open_db(db_path)
    add_override(writer, Override(day("2026-03-03"), "closed", None, None, "outage"))
    writer.conn.close()
    reader = open_db(db_path)
    assert not KrxCalendar.from_db(reader).is_session(day("2026-03-03"))
    reader.conn.close()


@pytest.mark.parametrize(
    ("kind", "open_time", "close_time", "reason", "message"),
    [
        ("open", None, None, "x", "kind 'open' is not one of closed, session"),
        ("session", None, dt.time(16, 30), "x", "session override needs open_time"),
        ("session", dt.time(10, 0), None, "x", "session override needs close_time"),
        ("session", dt.time(16, 30), dt.time(10, 0), "x", "open_time 16:30 must be before"),
        ("session", dt.time(10, 0), dt.time(10, 0), "x", "open_time 10:00 must be before"),
        ("closed", dt.time(10, 0), None, "x", "closed override takes no open_time"),
        ("closed", None, dt.time(16, 30), "x", "closed override takes no open_time or close"),
        ("closed", None, None, " ", "reason is required"),
    ],
)
def test_bad_overrides_name_the_field(db, kind, open_time, close_time, reason, message):
    with pytest.raises(BadInput, match=message):
        add_override(db, Override(day("2025-11-13"), kind, open_time, close_time, reason))
    assert list_overrides(db) == []


def test_override_before_2000_is_bad_input():
    with pytest.raises(BadInput, match="date must be on or after 2000-01-01"):
        Override(day("1999-12-31"), "closed", None, None, "x")


def test_hand_edited_bad_row_is_reported(db):
    db.execute(
        "INSERT INTO calendar_overrides (date, kind, reason) VALUES ('2025-11-13', 'session', 'x')"
    )
    with pytest.raises(BadInput, match="2025-11-13: a session override needs open_time"):
        list_overrides(db)


@pytest.mark.parametrize(
    ("text", "expected"), [("16:30", dt.time(16, 30)), ("9:05", dt.time(9, 5))]
)
def test_parse_time_accepts_hh_mm(text, expected):
    assert parse_time(text, "close_time") == expected


@pytest.mark.parametrize("text", ["24:00", "10:60", "9.30", "1030", "", "ten"])
def test_parse_time_names_the_parameter(text):
    with pytest.raises(BadInput, match=r"^--close-time: .* is not a time; use HH:MM"):
        parse_time(text, "close_time")


def test_import_does_not_load_exchange_calendars_or_pandas():
    code = (
        "import sys, scanctl.market.calendar; "
        "print(sorted(m for m in ('exchange_calendars', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
