"""Fixtures: a small demo market built once per session, copied per test; the store of the
daily-page tests."""

from tests.demo_store import demo_template, scan_db  # noqa: F401
from tests.reports.page_store import page_db, page_template  # noqa: F401
