import pytest

from scanctl.engines.registry import parse_versions
from scanctl.engines.selection import get_setting, list_settings, set_setting
from scanctl.errors import BadInput


def test_defaults(db):
    assert get_setting(db, "active_engine") == "v1"
    assert get_setting(db, "scan_all_versions") == "v2,v3"
    assert all(s.is_default for s in list_settings(db))


def test_set_and_normalise(db):
    assert set_setting(db, "active_engine", "V2") == "v2"
    assert set_setting(db, "scan_all_versions", "v3, v1,v3") == "v1,v3"
    assert get_setting(db, "scan_all_versions") == "v1,v3"
    stored = {s.key: s for s in list_settings(db)}
    assert not stored["active_engine"].is_default and stored["active_engine"].updated_at


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("active_engine", "v9", "setting active_engine: unknown version 'v9'"),
        ("active_engine", "v2,v3", "expected one version"),
        ("scan_all_versions", "", "unknown version"),
        ("colour", "blue", "unknown setting 'colour'"),
    ],
)
def test_invalid_values_are_refused(db, key, value, message):
    with pytest.raises(BadInput, match=message):
        set_setting(db, key, value)
    assert db.execute("SELECT count(*) FROM scanner_settings").fetchone() == (0,)


def test_parse_versions():
    assert parse_versions("v3,v2") == ("v2", "v3")
    assert parse_versions("all", allow_all=True) == ("all",)
    with pytest.raises(BadInput):
        parse_versions("all")
