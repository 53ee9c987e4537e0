"""Fixtures: a small demo market built once per session, copied per test."""

from tests.demo_store import demo_template, scan_db  # noqa: F401
