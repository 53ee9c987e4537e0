"""The ``scan_rank`` table: the stored picks, one row per (date, code, scanner_version).

A (date, version) without picks holds one placeholder row with code `NORESULT_CODE`
(PRODUCT.md §4.1). Rows are built by `scanctl.jobs.persist`; JSON columns arrive as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from scanctl.store.db import column_list

NORESULT_CODE = "NORESULT"
RANK_COLUMNS = (
    "date",
    "code",
    "scanner_version",
    "name",
    "score",
    "score_label",
    "close_price",
    "volume",
    "change_rate",
    "market",
    "strategy",
    "indicators",
    "trend",
    "flags",
    "details",
    "rank",
    "engine",
    "anchor_date",
    "anchor_close",
    "anchor_price_type",
    "anchor_source",
    "run_id",
    "created_at",
)
"""Every ``scan_rank`` column, in table order."""


def _columns(columns: Sequence[str]) -> str:
    return column_list("scan_rank", columns, RANK_COLUMNS)


def latest_pick_date(db: sqlite_utils.Database) -> str | None:
    """The latest date with stored rows (None when the table is empty)."""
    return db.execute("SELECT max(date) FROM scan_rank").fetchone()[0]


def picks_on(db: sqlite_utils.Database, date: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    """The ``columns`` of every row of ``date``, by version, engine, rank (NULL last) and code.

    Raises
    ------
    ValueError
        A column that is not a `RANK_COLUMNS` column.
    """
    query = (
        f"SELECT {_columns(columns)} FROM scan_rank WHERE date = ? "
        "ORDER BY scanner_version, engine, rank IS NULL, rank, code"
    )
    return [dict(zip(columns, values, strict=True)) for values in db.execute(query, [date])]


def read_ranks(db: sqlite_utils.Database, date: str, version: str) -> list[dict[str, Any]]:
    """The full rows of (``date``, ``version``) keyed by `RANK_COLUMNS`, by code."""
    return [
        dict(zip(RANK_COLUMNS, row, strict=True))
        for row in db.execute(
            f"SELECT {', '.join(RANK_COLUMNS)} FROM scan_rank "
            "WHERE date = ? AND scanner_version = ? ORDER BY code",
            [date, version],
        )
    ]


def write_ranks(
    db: sqlite_utils.Database,
    date: str,
    version: str,
    rows: Sequence[dict[str, Any]],
    run_id: str,
    created_at: str,
) -> None:
    """Replace the rows of (``date``, ``version``) by ``rows`` stamped with ``run_id`` and
    ``created_at`` (inside the caller's transaction)."""
    db.execute("DELETE FROM scan_rank WHERE date = ? AND scanner_version = ?", [date, version])
    marks = ", ".join("?" * len(RANK_COLUMNS))
    db.conn.executemany(
        f"INSERT INTO scan_rank ({', '.join(RANK_COLUMNS)}) VALUES ({marks})",
        [
            [{**row, "run_id": run_id, "created_at": created_at}[c] for c in RANK_COLUMNS]
            for row in rows
        ],
    )


PickRow = tuple[str, str, str, str | None, int | None, int, Any, Any, Any]
"""(date, scanner_version, code, strategy, rank, anchor close, target_profit, stop_loss,
holding_period); the last three are the raw values in ``flags`` (any JSON type, or None)."""


def pick_rows(
    db: sqlite_utils.Database,
    versions: Sequence[str] | None,
    start: dt.date | None,
    end: dt.date | None,
) -> list[PickRow]:
    """Every real pick (no placeholder, an anchor close > 0) dated ``start`` … ``end`` (either
    open), of ``versions`` (all when None or empty), by date, version, strategy, rank, code.

    The anchor close is ``anchor_close``, else ``close_price``.
    """
    where = ["code != ?", "coalesce(anchor_close, close_price) > 0"]
    args: list[Any] = [NORESULT_CODE]
    if start is not None:
        where.append("date >= ?")
        args.append(start.isoformat())
    if end is not None:
        where.append("date <= ?")
        args.append(end.isoformat())
    if versions:
        where.append(f"scanner_version IN ({', '.join('?' * len(versions))})")
        args.extend(versions)
    query = (
        "SELECT date, scanner_version, code, strategy, rank, coalesce(anchor_close, close_price), "
        "json_extract(flags, '$.target_profit'), json_extract(flags, '$.stop_loss'), "
        "json_extract(flags, '$.holding_period') "
        f"FROM scan_rank WHERE {' AND '.join(where)} "
        "ORDER BY date, scanner_version, strategy, rank, code"
    )
    return db.execute(query, args).fetchall()


ResultRow = tuple[str, str, int, str | None, str | None, str | None, str | None, Any, str | None]
"""(date, scanner_version, real picks, then of the run that wrote the rows: trigger, started_at,
the `universe` parameters as JSON text, the market condition's status, market_divergence and
divergence_type); the run's fields are None when no ``scan_runs`` row has the rows' run_id."""


def result_sessions(
    db: sqlite_utils.Database,
    versions: Sequence[str] | None,
    start: dt.date | None,
    end: dt.date | None,
) -> list[ResultRow]:
    """Every stored result — a (date, version) with picks or its placeholder — dated ``start``
    … ``end`` (either open), of ``versions`` (all when None or empty), by date and version,
    with its count of real picks (as `pick_rows` counts them) and the run that wrote it."""
    where: list[str] = []
    args: list[Any] = [NORESULT_CODE]
    if start is not None:
        where.append("r.date >= ?")
        args.append(start.isoformat())
    if end is not None:
        where.append("r.date <= ?")
        args.append(end.isoformat())
    if versions:
        where.append(f"r.scanner_version IN ({', '.join('?' * len(versions))})")
        args.extend(versions)
    query = (
        "SELECT r.date, r.scanner_version, "
        "sum(r.code != ? AND coalesce(r.anchor_close, r.close_price) > 0), "
        "s.trigger, s.started_at, json_extract(s.params, '$.universe'), "
        "json_extract(s.market_condition, '$.status'), "
        "json_extract(s.market_condition, '$.divergence.market_divergence'), "
        "json_extract(s.market_condition, '$.divergence.divergence_type') "
        "FROM scan_rank r LEFT JOIN scan_runs s ON s.run_id = r.run_id "
        f"{'WHERE ' + ' AND '.join(where) if where else ''} "
        "GROUP BY r.date, r.scanner_version ORDER BY r.date, r.scanner_version"
    )
    return db.execute(query, args).fetchall()
