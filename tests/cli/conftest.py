"""Fixtures: the small demo market of tests/demo_store.py, copied per test."""

from tests.demo_store import demo_template, scan_db  # noqa: F401
