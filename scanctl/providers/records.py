"""What a sync reads from the store besides the bars: the previous date's count and the stored
ticker flags a source cannot tell. It records its ``sync_events`` through `scanctl.store.sources`.

``sync_events`` kinds (``detail`` is a JSON object):

* ``sync`` — one summary per date written (the counts behind the gates);
* ``corporate_action`` — a replaced history: stored and source close, ratio, date range;
* ``corporate_action_failed`` — a refetch that failed: no bar written for that ticker that day;
* ``index_unavailable`` — index bars missing; the engines use their proxy ETFs.
"""

from __future__ import annotations

import dataclasses

import sqlite_utils

from scanctl.store.bar_queries import count_bars_on, previous_bar_date
from scanctl.store.bars import TickerRow
from scanctl.store.tickers import read_ticker_fields

TICKER_FIELDS = ("name", "market", "security_type", "managed", "halted", "listed_on")

def previous_count(db: sqlite_utils.Database, day: str) -> tuple[str | None, int]:
    """The latest stored date before ``day`` and its number of rows (None, 0 when none)."""
    previous = previous_bar_date(db, day)
    if previous is None:
        return None, 0
    return previous, count_bars_on(db, previous)


def merge_stored_tickers(
    db: sqlite_utils.Database, tickers: list[TickerRow], told: frozenset[str]
) -> list[TickerRow]:
    """``tickers`` with the stored values of the fields the source does not tell (``told``
    lists those it does), for codes the store already holds; e.g. ``managed`` under naver."""
    keep = [name for name in TICKER_FIELDS if name not in told]
    if not keep:
        return tickers
    stored = read_ticker_fields(db, keep)
    merged = []
    for ticker in tickers:
        values = stored.get(ticker.code)
        if values is None:
            merged.append(ticker)
            continue
        kept = {
            name: bool(value) if name in ("managed", "halted") else value
            for name, value in zip(keep, values, strict=True)
        }
        merged.append(dataclasses.replace(ticker, **kept))
    return merged
