"""Every gate on both sides of its threshold, with the operator's wording."""

from __future__ import annotations

import pytest

from scanctl.market.coverage import covers, share_needed
from scanctl.providers.gates import (
    corporate_action_gate,
    coverage_gate,
    failure_message,
    problem_gates,
    row_problems,
    stamped_gate,
)

DAY = "2025-11-28"


def bar(code: str = "005930", o=100, h=110, low=90, c=105, v=1_000, day=DAY):
    return (day, code, o, h, low, c, v, None)


@pytest.mark.parametrize(("rows", "passed"), [(950, True), (949, False), (1_000, True)])
def test_coverage_at_95_percent(rows, passed):
    gate = coverage_gate(rows, 1_000, "tickers with bars on 2025-11-27", 0.95)
    assert gate.passed is passed


def test_coverage_wording_and_missing_examples():
    gate = coverage_gate(2_301, 2_688, "tickers", 0.95, {"005930": "timed out", "0126Z0": "x"})
    assert gate.message == (
        "coverage 2,301 of 2,688 tickers (85.6 %) < 95 %; 2 tickers got no row from the source "
        "(e.g. 005930: timed out)"
    )
    assert coverage_gate(0, 0, "listed tickers", 0.95).passed is False


@pytest.mark.parametrize(("total", "share", "needed"), [(1_000, 0.95, 950), (2_688, 0.95, 2_554)])
def test_share_needed_is_exact(total, share, needed):
    assert share_needed(share, total) == needed
    assert needed / total >= share and (needed - 1) / total < share


@pytest.mark.parametrize(("on_day", "passed"), [(950, True), (949, False)])
def test_stamped_at_95_percent(on_day, passed):
    stamps = [DAY] * on_day + ["2025-11-27"] * (1_000 - on_day)
    assert stamped_gate(DAY, stamps, 0.95).passed is passed


def test_stamped_wording_names_the_stale_date():
    gate = stamped_gate(DAY, ["2025-11-27"] * 2_700, 0.95)
    assert gate.message == (
        "0 of 2,700 rows are dated 2025-11-28 (0.0 %) < 95 %; 2,700 are dated 2025-11-27: "
        "the source has not published 2025-11-28 yet"
    )
    assert stamped_gate(DAY, [], 0.95).passed is False


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (bar(o=0), "price"),
        (bar(c=-1), "price"),
        (bar(h=104), "ohlc"),  # high below the close
        (bar(low=101), "ohlc"),  # low above the open
        (bar(v=-1), "volume"),
    ],
)
def test_each_problem_gate_fails_on_one_row_and_passes_on_none(row, problem):
    assert row_problems(row) == {problem}
    clean = [bar(code=f"{n:06d}") for n in range(10)]
    gates, bad = problem_gates(clean, maximum=0)
    assert all(g.passed for g in gates) and not bad
    gates, bad = problem_gates([*clean, row], maximum=0)
    by_name = {g.name: g for g in gates}
    assert not by_name[problem].passed and by_name[problem].actual == 1 and bad == {10}
    assert all(g.passed for name, g in by_name.items() if name != problem)
    assert "e.g. 005930" in by_name[problem].message


def test_problem_allowance_both_sides():
    rows = [bar(code="000001", h=1), bar(code="000002", h=1), bar(code="000003")]
    assert {g.name: g.passed for g in problem_gates(rows[1:], maximum=1)[0]}["ohlc"] is True
    assert {g.name: g.passed for g in problem_gates(rows, maximum=1)[0]}["ohlc"] is False


def test_valid_edges_are_not_problems():
    assert row_problems(bar(o=100, h=100, low=100, c=100, v=0)) == set()  # halted, flat


@pytest.mark.parametrize(("count", "passed"), [(2, True), (3, False)])
def test_corporate_action_gate(count, passed):
    gate = corporate_action_gate(count, 2_000, maximum=2)
    assert gate.passed is passed
    assert ("price basis differs" in gate.message) is not passed


def test_failure_message_lists_only_failed_gates():
    gates = [
        coverage_gate(2_301, 2_688, "tickers", 0.95),
        stamped_gate(DAY, [DAY] * 10, 0.95),
    ]
    assert failure_message(DAY, gates) == (
        "data sync 2025-11-28: coverage 2,301 of 2,688 tickers (85.6 %) < 95 %; "
        "nothing written for 2025-11-28 (retry later with `scanctl data sync --date 2025-11-28`)"
    )


def test_the_scan_and_the_sync_share_one_coverage_rule():
    """`covers` decides both gates: 95 of 100 passes at 0.95, 94 does not; zero never does."""
    assert covers(95, 100, 0.95) and not covers(94, 100, 0.95)
    assert covers(1, 0, 0.95) and not covers(0, 0, 0.95)
