"""Checks shared by the tests of declared sections (keys made with `scanctl.config.setting`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from scanctl.config import RULE, Rule


def declared(section_class: type) -> list[tuple[str, Rule, Any]]:
    """``(field name, rule, default)`` of every declared key of ``section_class``."""
    return [
        (f.name, f.metadata[RULE], f.default)
        for f in dataclasses.fields(section_class)
        if RULE in f.metadata
    ]


def check_declarations(section_class: type) -> None:
    """Every key has a one-line description, and a default its own rule accepts unchanged
    (None: an optional key, or a required one)."""
    for name, rule, default in declared(section_class):
        assert rule.doc.strip() and "\n" not in rule.doc, (section_class, name)
        if default is not None:
            assert rule.check(default) == default, (section_class, name, default)


def out_of_range(rule: Rule) -> list[int | float]:
    """A value just past each bound of ``rule`` (one unit beyond a ≥ / ≤ bound)."""
    values: list[int | float] = []
    if rule.ge is not None:
        values.append(rule.ge - 1)
    if rule.gt is not None:
        values.append(rule.gt)
    if rule.le is not None:
        values.append(rule.le + 1)
    if rule.lt is not None:
        values.append(rule.lt)
    return [int(v) if rule.kind == "integer" else float(v) for v in values]


def bounded(section_class: type) -> list[tuple[str, int | float]]:
    """``(key, bad value)`` for every bound of every declared key of ``section_class``."""
    return [
        (name, value) for name, rule, _ in declared(section_class) for value in out_of_range(rule)
    ]
