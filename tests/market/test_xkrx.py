"""The on-disk cache of the XKRX schedule gives exactly what exchange_calendars builds."""

import os
import time

import pytest

from scanctl.market import xkrx


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    xkrx.xkrx_schedule.cache_clear()
    yield tmp_path
    xkrx.xkrx_schedule.cache_clear()


def test_cache_round_trip_equals_the_built_schedule(cache_home):
    built = xkrx.xkrx_schedule()
    path = xkrx._cache_path()
    assert path.exists() and path.parent == cache_home / "scanctl"
    cached = xkrx._read_cache(path)
    assert cached.last_session == built.last_session
    assert dict(cached.hours) == dict(built.hours)
    assert len(cached.hours) > 6000  # every session since 2000


def test_stale_or_corrupt_cache_is_rebuilt(cache_home):
    xkrx.xkrx_schedule()
    path = xkrx._cache_path()
    old = time.time() - (xkrx.MAX_AGE_DAYS + 1) * 86400
    os.utime(path, (old, old))
    assert xkrx._read_cache(path) is None
    path.write_text("scanctl-xkrx-1\nnot a number\n")
    assert xkrx._read_cache(path) is None
    xkrx.xkrx_schedule.cache_clear()
    rebuilt = xkrx.xkrx_schedule()
    assert xkrx._read_cache(path).last_session == rebuilt.last_session
