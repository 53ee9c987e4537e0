"""Which engines run: the operator settings ``active_engine`` and ``scan_all_versions``.

They are stored in ``scanner_settings`` (`scanctl.store.settings`); this module declares their
defaults and checks, and turns a ``--version`` text into versions with them
(`versions_for`), once, before a command locks or writes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from scanctl.engines import registry
from scanctl.errors import BadInput
from scanctl.store import settings as stored


def _one_version(value: str) -> str:
    versions = registry.parse_versions(value)
    if len(versions) != 1:
        choices = ", ".join(registry.names())
        raise BadInput(f"expected one version ({choices}), got {value!r}")
    return versions[0]


def _version_list(value: str) -> str:
    return ",".join(registry.parse_versions(value))


@dataclass(frozen=True)
class SettingSpec:
    """A known setting: its default, what it means, and how a new value is checked."""

    key: str
    default: str
    description: str
    normalise: Callable[[str], str]


SETTINGS = {
    spec.key: spec
    for spec in (
        SettingSpec(
            "active_engine",
            "v1",
            "engine run by `scan` without --version (v1, v2 or v3)",
            _one_version,
        ),
        SettingSpec(
            "scan_all_versions",
            "v2,v3",
            "versions run by `scan --version all` (comma list)",
            _version_list,
        ),
    )
}


@dataclass(frozen=True)
class Setting:
    """A setting's effective value, for `settings list`."""

    key: str
    value: str
    description: str
    updated_at: str | None
    is_default: bool


def _spec(key: str) -> SettingSpec:
    try:
        return SETTINGS[key]
    except KeyError:
        known = ", ".join(SETTINGS)
        raise BadInput(f"unknown setting {key!r}; known settings: {known}") from None


def list_settings(db: sqlite_utils.Database) -> list[Setting]:
    """Every known setting with its stored or default value."""
    rows = stored.stored_settings(db)
    result = []
    for key, spec in SETTINGS.items():
        row = rows.get(key)
        result.append(
            Setting(
                key=key,
                value=row.value if row else spec.default,
                description=spec.description,
                updated_at=row.updated_at if row else None,
                is_default=row is None,
            )
        )
    return result


def get_setting(db: sqlite_utils.Database, key: str) -> str:
    """The value of ``key`` (its default when never set)."""
    spec = _spec(key)
    value = stored.stored_value(db, key)
    return spec.default if value is None else value


def set_setting(db: sqlite_utils.Database, key: str, value: str) -> str:
    """Validate and store ``value``; returns the stored (normalised) value."""
    spec = _spec(key)
    try:
        normalised = spec.normalise(value)
    except BadInput as exc:
        raise BadInput(f"setting {key}: {exc}") from None
    stored.store_value(db, key, normalised, spec.description)
    return normalised


def scheduled_versions(db: sqlite_utils.Database) -> tuple[str, ...]:
    """The versions the daily job runs (`scan_all_versions`)."""
    return registry.parse_versions(get_setting(db, "scan_all_versions"))


def versions_for(db: sqlite_utils.Database, text: str | None) -> tuple[str, ...]:
    """``--version`` resolved: None → `active_engine`; ``all`` → `scan_all_versions`.

    Raises
    ------
    BadInput
        ``--version ''`` or an unknown version (before anything is locked or written).
    """
    return registry.resolve_versions(
        text, get_setting(db, "active_engine"), get_setting(db, "scan_all_versions")
    )
