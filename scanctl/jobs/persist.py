"""Writing a scan's results: `scan_rank` rows per (date, version) and `scan_runs` rows.

Picks (`Pick`, ENGINES.md §8.1) become legacy-compatible `scan_rank` rows (PRODUCT.md §4.1); a
(date, version) without picks gets exactly one ``NORESULT`` placeholder. A rerun whose rows are
the same as the stored ones leaves them untouched (same run_id and created_at), so reruns give
identical rows; different rows replace the old ones as a whole.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from scanctl.engines.base import Pick
from scanctl.store.picks import NORESULT_CODE, RANK_COLUMNS, read_ranks, write_ranks
from scanctl.store.runs import insert_run_record

NORESULT_NAME = "추천종목 없음"
# Columns that identify a write rather than describe the picks: excluded when comparing a rerun.
_STAMP_COLUMNS = ("run_id", "created_at")


def _json(value: Any) -> str:
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )


def rank_rows(
    day: dt.date, version: str, picks: Sequence[Pick], anchor_source: str
) -> list[dict[str, Any]]:
    """The `scan_rank` rows of one version's picks (without run_id and created_at)."""
    if not picks:
        return [
            {
                "date": day.isoformat(),
                "code": NORESULT_CODE,
                "scanner_version": version,
                "name": NORESULT_NAME,
                "score": 0.0,
                "score_label": NORESULT_NAME,
                "close_price": None,
                "volume": None,
                "change_rate": None,
                "market": None,
                "strategy": None,
                "indicators": _json({}),
                "trend": _json({}),
                "flags": _json({"no_result": True}),
                "details": _json({}),
                "rank": None,
                "engine": version,
                "anchor_date": day.isoformat(),
                "anchor_close": None,
                "anchor_price_type": "CLOSE",
                "anchor_source": NORESULT_CODE,
            }
        ]
    rows = []
    for pick in picks:
        rows.append(
            {
                "date": day.isoformat(),
                "code": pick.ticker,
                "scanner_version": version,
                "name": pick.name,
                "score": None if pick.score is None else float(pick.score),
                "score_label": pick.score_label,
                "close_price": int(pick.close),
                "volume": int(pick.volume),
                "change_rate": pick.change_rate,
                "market": pick.market,
                "strategy": pick.strategy,
                "indicators": _json(pick.indicators),
                "trend": _json(pick.trend),
                "flags": _json(pick.flags),
                "details": _json(pick.details),
                "rank": int(pick.rank),
                "engine": pick.sub_engine or version,
                "anchor_date": day.isoformat(),
                "anchor_close": int(pick.close),
                "anchor_price_type": "CLOSE",
                "anchor_source": anchor_source,
            }
        )
    return rows


def replace_ranks(
    db: sqlite_utils.Database,
    day: dt.date,
    version: str,
    rows: list[dict[str, Any]],
    run_id: str,
    created_at: str,
) -> bool:
    """Make the stored rows of (day, version) equal ``rows``, inside the caller's transaction.

    Returns False when the stored rows already held exactly this content (nothing written).
    """
    stored = read_ranks(db, day.isoformat(), version)
    if _content(stored) == _content(rows):
        return False
    write_ranks(db, day.isoformat(), version, rows, run_id, created_at)
    return True


def _content(rows: Sequence[dict[str, Any]]) -> list[tuple]:
    keep = [c for c in RANK_COLUMNS if c not in _STAMP_COLUMNS]
    return sorted(tuple(row[c] for c in keep) for row in rows)


@dataclass(frozen=True)
class RunRow:
    """One `scan_runs` row (PRODUCT.md §4.1); the last three fields are the run record
    (ENGINES.md §8.6, `scanctl.jobs.record`)."""

    run_id: str
    date: str
    scanner_version: str
    trigger: str
    started_at: str
    finished_at: str | None
    duration_s: float | None
    status: str
    universe_count: int | None
    matched_count: int | None
    error: str | None
    market_condition: dict[str, Any] | None
    params: dict[str, Any] | None
    record: dict[str, Any] | None = None


def insert_run(db: sqlite_utils.Database, run: RunRow) -> None:
    """Insert a `scan_runs` row (inside the caller's transaction)."""
    record = dict(run.__dict__)
    for key in ("market_condition", "params", "record"):
        record[key] = None if record[key] is None else _json(record[key])
    insert_run_record(db, record)
