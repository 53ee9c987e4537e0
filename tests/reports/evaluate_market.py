"""Constructed stores for the `evaluate` tests, written through the store's own API: the ticker
master, bars, index bars, and results as a scan stores them (`scan_rank` rows of a run plus
its `scan_runs` row with the recorded universe parameters and market condition)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from scanctl.jobs.persist import RunRow, insert_run
from scanctl.store.bars import TickerRow, upsert_bars, upsert_index_bars, upsert_tickers
from scanctl.store.db import write_transaction
from scanctl.store.picks import NORESULT_CODE, RANK_COLUMNS, write_ranks

Bar = tuple[int, int, int] | None
"""(high, low, close) of a bar; None = no bar (a halt, or the ticker's bars stopped)."""

LIMITS = {"kospi_limit": 100, "kosdaq_limit": 100}
UNIVERSE = {
    "divergence_resize": True,
    "exclude_halted": True,
    "exclude_managed": True,
    "include_security_types": ["stock", "preferred"],
    "include_unknown_security_type": True,
}
CALM = {"status": "ok", "divergence": {"market_divergence": False, "divergence_type": ""}}


def weekdays(first: str, count: int) -> list[str]:
    """``count`` consecutive weekdays from ``first`` (stored sessions need no calendar here)."""
    day, out = dt.date.fromisoformat(first), []
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day.isoformat())
        day += dt.timedelta(days=1)
    return out


def add_tickers(db, tickers: Mapping[str, tuple[str, str]]) -> None:
    """``{code: (market, security_type)}``."""
    with write_transaction(db):
        upsert_tickers(
            db,
            [TickerRow(code, f"T{code}", market, kind) for code, (market, kind) in tickers.items()],
        )


def add_bars(
    db, dates: Sequence[str], bars: Mapping[str, Sequence[Bar]], values: Mapping[str, int] = {}
) -> None:
    """``bars[code][k]`` is the bar of ``dates[k]``; ``values[code]`` its traded value (KRW)."""
    rows = [
        (dates[k], code, bar[2], bar[0], bar[1], bar[2], 1000, values.get(code))
        for code, series in bars.items()
        for k, bar in enumerate(series)
        if bar is not None
    ]
    with write_transaction(db):
        upsert_bars(db, rows, "test")


def add_index(db, code: str, dates: Sequence[str], closes: Sequence[float]) -> None:
    with write_transaction(db):
        upsert_index_bars(
            db, [(d, code, c, c, c, c, 0) for d, c in zip(dates, closes, strict=True)]
        )


def add_result(
    db,
    day: str,
    version: str,
    picks: Sequence[Mapping[str, Any]] = (),
    *,
    trigger: str | None = "backfill",
    started_at: str | None = None,
    limits: Mapping[str, int] = LIMITS,
    condition: Mapping[str, Any] = CALM,
) -> None:
    """One stored result of (day, version): its picks (``code``, ``close``, optional
    ``strategy``, ``flags``) or the NORESULT placeholder, and the run that wrote it (none when
    ``trigger`` is None). ``started_at`` defaults to the evening of ``day``."""
    run_id = f"{day}-{version}-test"
    rows = [_row(day, version, rank, pick, run_id) for rank, pick in enumerate(picks, start=1)] or [
        _row(day, version, None, {"code": NORESULT_CODE, "close": None}, run_id)
    ]
    with write_transaction(db):
        write_ranks(db, day, version, rows, run_id, f"{day}T18:00:00+09:00")
        if trigger is not None:
            insert_run(
                db,
                RunRow(
                    run_id=run_id,
                    date=day,
                    scanner_version=version,
                    trigger=trigger,
                    started_at=started_at or f"{day}T15:52:00.000+09:00",
                    finished_at=None,
                    duration_s=None,
                    status="ok",
                    universe_count=None,
                    matched_count=len(picks),
                    error=None,
                    market_condition=dict(condition),
                    params={"universe": {**UNIVERSE, **limits}},
                ),
            )


def _row(day: str, version: str, rank: int | None, pick: Mapping[str, Any], run_id: str) -> dict:
    row = dict.fromkeys(RANK_COLUMNS)
    flags = pick.get("flags", {"no_result": True} if rank is None else {})
    row |= {
        "date": day,
        "code": pick["code"],
        "scanner_version": version,
        "strategy": pick.get("strategy"),
        "flags": json.dumps(flags),
        "rank": rank,
        "close_price": pick["close"],
        "anchor_close": pick["close"],
        "anchor_date": day,
        "anchor_price_type": "CLOSE",
        "engine": version,
        "run_id": run_id,
    }
    return row
