import datetime as dt

import pytest

from scanctl.clock import KST, now_kst, parse_date, today_kst
from scanctl.errors import BadInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-28", dt.date(2025, 11, 28)),
        ("20251128", dt.date(2025, 11, 28)),
        (" 2024-02-29 ", dt.date(2024, 2, 29)),
    ],
)
def test_parse_date_formats(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2025-02-29", "2025-13-01", "28/11/2025", "2025-1-2", "", "x"])
def test_parse_date_refuses_with_the_parameter_name(text):
    with pytest.raises(BadInput, match=r"^--from-date: .* is not a date; use YYYY-MM-DD"):
        parse_date(text, "from_date")


def test_today_is_seoul_whatever_the_host_zone(monkeypatch):
    # 2025-11-28 23:30 UTC is already 2025-11-29 08:30 in Seoul
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T23:30:00+00:00")
    monkeypatch.setenv("TZ", "America/New_York")
    assert today_kst() == dt.date(2025, 11, 29)
    assert parse_date("today") == dt.date(2025, 11, 29)
    assert now_kst().utcoffset() == dt.timedelta(hours=9)
    monkeypatch.setenv("SCANCTL_NOW", "2025-11-28T10:00:00")  # no offset: read as KST
    assert now_kst() == dt.datetime(2025, 11, 28, 10, 0, tzinfo=KST)


def test_bad_pinned_clock(monkeypatch):
    monkeypatch.setenv("SCANCTL_NOW", "yesterday")
    with pytest.raises(BadInput, match="SCANCTL_NOW"):
        now_kst()


def test_a_pinned_clock_moves_on_when_it_sleeps(monkeypatch):
    import time as real_time

    from scanctl.clock import now_kst, sleep

    monkeypatch.setenv("SCANCTL_NOW", "2025-11-13T15:42:00")
    started = real_time.monotonic()
    sleep(58 * 60)
    assert real_time.monotonic() - started < 1  # no real wait
    assert now_kst().isoformat() == "2025-11-13T16:40:00+09:00"
    sleep(0)
    assert now_kst().isoformat() == "2025-11-13T16:40:00+09:00"
