"""The validation gates a date's download must pass before anything of it is written.

Each gate compares a count with a configured threshold (``[data]``, `settings.DataSettings`)
and says so in words an operator can act on, e.g. "coverage 2,301 of 2,688 tickers (85.6 %)
< 95 %". Shares are compared exactly on integers: with 1,000 tickers, 950 passes 95 % and 949
fails.

* ``coverage`` — rows dated D to write ≥ ``coverage_min`` × the rows of the previous stored
  date (the listed tickers when the store has none);
* ``stamped`` — rows the source stamped with D ≥ ``stamped_min`` × all rows it returned (a
  source still serving yesterday at 15:42 fails here);
* ``price`` / ``ohlc`` / ``volume`` — rows dated D with a price ≤ 0, with high < max(open,
  close) or low > min(open, close), with a negative volume: at most ``invalid_max`` each
  (default 0); allowed ones are dropped, not written;
* ``corporate_actions`` — tickers whose source previous close disagrees with the store: at most
  ``corporate_action_max`` (more means the source changed basis, not that many splits happened).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanctl.errors import DataNotReady
from scanctl.market.coverage import covers
from scanctl.providers.base import BarRow

PROBLEMS = ("price", "ohlc", "volume")
_PROBLEM_TEXT = {
    "price": "a price ≤ 0",
    "ohlc": "high < max(open, close) or low > min(open, close)",
    "volume": "a negative volume",
}


@dataclass(frozen=True)
class Gate:
    """One gate's verdict: ``actual`` against ``total`` and the threshold, and why."""

    name: str
    passed: bool
    actual: int
    total: int
    threshold: float
    message: str


class SyncGateFailed(DataNotReady):
    """A gate failed for a date: nothing of that date was written (exit 3)."""

    def __init__(self, message: str, day: str, gates: Sequence[Gate]) -> None:
        super().__init__(message)
        self.day = day
        self.gates = list(gates)
        self.report: Any = None  # the sync's SyncReport: the dates written before this one


def coverage_gate(
    rows: int,
    baseline: int,
    baseline_what: str,
    minimum: float,
    missing: Mapping[str, str] | None = None,
) -> Gate:
    """Rows to write against the baseline; a failure names a few codes without a row and why."""
    passed = covers(rows, baseline, minimum)
    text = (
        f"coverage {rows:,} of {baseline:,} {baseline_what} ({_pct(rows, baseline)}) "
        f"{'≥' if passed else '<'} {_pct_text(minimum)}"
    )
    if not passed and missing:
        code, why = sorted(missing.items())[0]
        text += f"; {len(missing):,} tickers got no row from the source (e.g. {code}: {why})"
    return Gate("coverage", passed, rows, baseline, minimum, text)


def stamped_gate(day: str, stamps: Sequence[str], minimum: float) -> Gate:
    on_day = sum(1 for stamp in stamps if stamp == day)
    passed = covers(on_day, len(stamps), minimum)
    text = (
        f"{on_day:,} of {len(stamps):,} rows are dated {day} ({_pct(on_day, len(stamps))}) "
        f"{'≥' if passed else '<'} {_pct_text(minimum)}"
    )
    others = Counter(stamp for stamp in stamps if stamp != day)
    if not passed and others:
        stale, count = others.most_common(1)[0]
        text += f"; {count:,} are dated {stale}: the source has not published {day} yet"
    return Gate("stamped", passed, on_day, len(stamps), minimum, text)


def problem_gates(rows: Sequence[BarRow], maximum: int) -> tuple[list[Gate], set[int]]:
    """The price, OHLC and volume gates over ``rows`` and the indexes of the rows that break one."""
    offenders: dict[str, list[int]] = {name: [] for name in PROBLEMS}
    for index, row in enumerate(rows):
        for name in row_problems(row):
            offenders[name].append(index)
    gates = []
    for name in PROBLEMS:
        bad = offenders[name]
        passed = len(bad) <= maximum
        text = f"{name}: {len(bad):,} rows with {_PROBLEM_TEXT[name]} (at most {maximum:,})"
        if bad:
            text += " e.g. " + ", ".join(str(rows[i][1]) for i in bad[:5])
        gates.append(Gate(name, passed, len(bad), len(rows), maximum, text))
    return gates, {index for bad in offenders.values() for index in bad}


def corporate_action_gate(count: int, checked: int, maximum: int) -> Gate:
    passed = count <= maximum
    text = (
        f"corporate actions: {count:,} of {checked:,} tickers disagree with the stored "
        f"previous close (at most {maximum:,})"
    )
    if not passed:
        text += (
            "; the source's price basis differs from the store's (another source, or "
            "unadjusted data): re-import or backfill the history from this source first"
        )
    return Gate("corporate_actions", passed, count, checked, maximum, text)


def row_problems(row: BarRow) -> set[str]:
    """Which of price / ohlc / volume a bar ``(date, code, o, h, l, c, v, value)`` breaks."""
    _, _, open_, high, low, close, volume, _ = row
    problems = set()
    if min(open_, high, low, close) <= 0:
        problems.add("price")
    elif high < max(open_, close) or low > min(open_, close):
        problems.add("ohlc")
    if volume < 0:
        problems.add("volume")
    return problems


def failure_message(day: str, gates: Sequence[Gate]) -> str:
    """The one-line reason a date was refused."""
    failed = "; ".join(gate.message for gate in gates if not gate.passed)
    return (
        f"data sync {day}: {failed}; nothing written for {day} "
        f"(retry later with `scanctl data sync --date {day}`)"
    )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


def _pct_text(share: float) -> str:
    return f"{100 * share:g} %"
