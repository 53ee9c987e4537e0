"""Reading the ticker master (by field, or as arrays aligned with a panel) and index bars."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlite_utils

TICKER_COLUMNS = ("name", "market", "security_type", "managed", "halted", "listed_on", "updated_at")
"""The ``tickers`` columns besides ``code``."""


def read_ticker_fields(
    db: sqlite_utils.Database, fields: Sequence[str]
) -> dict[str, tuple[Any, ...]]:
    """The stored values of ``fields`` (in that order) of every ticker, keyed by code.

    Raises
    ------
    ValueError
        A field that is not a `TICKER_COLUMNS` column.
    """
    unknown = [name for name in fields if name not in TICKER_COLUMNS]
    if unknown:
        raise ValueError(f"not a tickers column: {', '.join(unknown)}")
    columns = ", ".join(fields)
    return {
        row[0]: row[1:] for row in db.execute(f"SELECT code, {columns} FROM tickers").fetchall()
    }


@dataclass(frozen=True, eq=False)
class TickerMaster:
    """Ticker-master fields aligned with a list of codes (ENGINES.md §0.3).

    Attributes
    ----------
    codes
        ``(N,)`` codes, in the order asked for.
    names
        ``(N,)`` object array: the stored name, or the code when the name is missing.
    markets
        ``(N,)`` object array: KOSPI / KOSDAQ / KONEX, or None for a code absent from the master.
    security_types
        ``(N,)`` object array: stored type or None (unknown).
    managed, halted
        ``(N,)`` bool.
    """

    codes: np.ndarray
    names: np.ndarray
    markets: np.ndarray
    security_types: np.ndarray
    managed: np.ndarray
    halted: np.ndarray

    def take(self, columns: np.ndarray) -> TickerMaster:
        """The master fields of the codes at ``columns`` only."""
        return TickerMaster(*(getattr(self, f.name)[columns] for f in dataclasses.fields(self)))


def read_ticker_master(db: sqlite_utils.Database, codes: np.ndarray) -> TickerMaster:
    """The master rows of ``codes``; codes missing from the master get market None."""
    rows = {
        row[0]: row
        for row in db.execute(
            "SELECT code, name, market, security_type, managed, halted FROM tickers"
        ).fetchall()
    }
    n = len(codes)
    names = np.empty(n, dtype=object)
    markets = np.empty(n, dtype=object)
    types = np.empty(n, dtype=object)
    managed = np.zeros(n, dtype=bool)
    halted = np.zeros(n, dtype=bool)
    for i, code in enumerate(codes):
        row = rows.get(str(code))
        if row is None:
            names[i] = str(code)
            continue
        names[i] = row[1] or str(code)
        markets[i], types[i] = row[2], row[3]
        managed[i], halted[i] = bool(row[4]), bool(row[5])
    return TickerMaster(
        codes=np.asarray(codes),
        names=names,
        markets=markets,
        security_types=types,
        managed=managed,
        halted=halted,
    )


@dataclass(frozen=True, eq=False)
class IndexSeries:
    """Daily bars of one index (or any single series), ascending by date.

    ``dates`` is ``(S,)`` ``datetime64[D]``; ``open`` … ``close`` are ``(S,)`` float64.
    """

    code: str
    dates: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def until(self, day: dt.date, count: int) -> IndexSeries:
        """A view of the last ``count`` bars dated ≤ ``day``."""
        end = int(np.searchsorted(self.dates, np.datetime64(day, "D"), side="right"))
        rows = slice(max(0, end - count), end)
        return IndexSeries(
            code=self.code,
            dates=self.dates[rows],
            open=self.open[rows],
            high=self.high[rows],
            low=self.low[rows],
            close=self.close[rows],
        )


def read_index_series(
    db: sqlite_utils.Database, index_code: str, end: dt.date, sessions: int
) -> IndexSeries:
    """The last ``sessions`` bars of ``index_code`` dated ≤ ``end`` (rows with a non-positive
    or missing price are left out, as for ticker bars)."""
    rows = db.execute(
        "SELECT date, open, high, low, close FROM index_bars "
        "WHERE index_code = ? AND date <= ? AND open > 0 AND high > 0 AND low > 0 AND close > 0 "
        "ORDER BY date DESC LIMIT ?",
        [index_code, end.isoformat(), sessions],
    ).fetchall()
    rows.reverse()
    values = np.array([row[1:] for row in rows], dtype=np.float64).reshape(len(rows), 4)
    return IndexSeries(
        code=index_code,
        dates=np.array([row[0] for row in rows], dtype="datetime64[D]"),
        open=values[:, 0],
        high=values[:, 1],
        low=values[:, 2],
        close=values[:, 3],
    )
