"""Operator settings in ``scanner_settings``: known keys, defaults and validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from scanctl.clock import now_kst
from scanctl.errors import BadInput
from scanctl.store.db import write_transaction

ENGINE_VERSIONS = ("v1", "v2", "v3")


def parse_versions(value: str, *, allow_all: bool = False) -> tuple[str, ...]:
    """A comma list of engine versions (``v2,v3``) in canonical order, without repeats.

    ``all`` is accepted only when ``allow_all``; it is returned as ``("all",)`` for the caller
    to resolve against the ``scan_all_versions`` setting.

    Raises
    ------
    BadInput
        An unknown version or an empty list.
    """
    parts = [part.strip().lower() for part in value.split(",") if part.strip()]
    if allow_all and parts == ["all"]:
        return ("all",)
    unknown = [part for part in parts if part not in ENGINE_VERSIONS]
    if unknown or not parts:
        choices = ", ".join(ENGINE_VERSIONS) + (", all" if allow_all else "")
        shown = unknown[0] if unknown else value
        raise BadInput(f"unknown version {shown!r}; choose from {choices} or a comma list")
    return tuple(version for version in ENGINE_VERSIONS if version in parts)


def _one_version(value: str) -> str:
    versions = parse_versions(value)
    if len(versions) != 1:
        raise BadInput(f"expected one version (v1, v2 or v3), got {value!r}")
    return versions[0]


def _version_list(value: str) -> str:
    return ",".join(parse_versions(value))


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
    stored = {
        row[0]: row
        for row in db.execute(
            "SELECT setting_key, setting_value, updated_at FROM scanner_settings"
        ).fetchall()
    }
    result = []
    for key, spec in SETTINGS.items():
        row = stored.get(key)
        result.append(
            Setting(
                key=key,
                value=row[1] if row else spec.default,
                description=spec.description,
                updated_at=row[2] if row else None,
                is_default=row is None,
            )
        )
    return result


def get_setting(db: sqlite_utils.Database, key: str) -> str:
    """The value of ``key`` (its default when never set)."""
    spec = _spec(key)
    row = db.execute(
        "SELECT setting_value FROM scanner_settings WHERE setting_key = ?", [key]
    ).fetchone()
    return row[0] if row else spec.default


def set_setting(db: sqlite_utils.Database, key: str, value: str) -> str:
    """Validate and store ``value``; returns the stored (normalised) value."""
    spec = _spec(key)
    try:
        normalised = spec.normalise(value)
    except BadInput as exc:
        raise BadInput(f"setting {key}: {exc}") from None
    with write_transaction(db):
        db.execute(
            "INSERT INTO scanner_settings (setting_key, setting_value, description, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (setting_key) DO UPDATE SET "
            "setting_value = excluded.setting_value, updated_at = excluded.updated_at",
            [key, normalised, spec.description, now_kst().isoformat(timespec="seconds")],
        )
    return normalised
