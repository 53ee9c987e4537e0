"""`data status`: what the store holds (tickers, bar dates, index series)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import sqlite_utils


@dataclass(frozen=True)
class IndexCoverage:
    index_code: str
    first_date: str
    last_date: str
    bars: int


@dataclass(frozen=True)
class Coverage:
    """Counts and date ranges of the stored market data."""

    tickers: int
    tickers_by_market: dict[str, int]
    coded_tickers_with_bars: int
    bars: int
    dates: int
    first_date: str | None
    last_date: str | None
    bars_on_last_date: int
    bars_on_previous_date: int
    indexes: list[IndexCoverage] = field(default_factory=list)

    def to_record(self) -> dict:
        return asdict(self)


def data_coverage(db: sqlite_utils.Database) -> Coverage:
    """Summarise the ticker master, the bars and the index bars."""
    by_market = dict(
        db.execute("SELECT market, count(*) FROM tickers GROUP BY market ORDER BY market")
    )
    first, last = db.execute("SELECT min(date), max(date) FROM bars").fetchone()
    count_on = "SELECT count(*) FROM bars WHERE date = ?"
    previous = None
    if last:
        previous = db.execute("SELECT max(date) FROM bars WHERE date < ?", [last]).fetchone()[0]
    indexes = [
        IndexCoverage(*row)
        for row in db.execute(
            "SELECT index_code, min(date), max(date), count(*) FROM index_bars "
            "GROUP BY index_code ORDER BY index_code"
        )
    ]
    return Coverage(
        tickers=sum(by_market.values()),
        tickers_by_market=by_market,
        coded_tickers_with_bars=db.execute("SELECT count(DISTINCT code) FROM bars").fetchone()[0],
        bars=db.execute("SELECT count(*) FROM bars").fetchone()[0],
        dates=db.execute("SELECT count(DISTINCT date) FROM bars").fetchone()[0],
        first_date=first,
        last_date=last,
        bars_on_last_date=db.execute(count_on, [last]).fetchone()[0] if last else 0,
        bars_on_previous_date=db.execute(count_on, [previous]).fetchone()[0] if previous else 0,
        indexes=indexes,
    )
