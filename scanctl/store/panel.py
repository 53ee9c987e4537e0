"""The wide price panel: the last N dates of bars as (date × ticker) float64 arrays.

Reading goes through ``bar_blocks``, a columnar copy of each date's bars (one blob of codes and
one of values a date), so a 260-date panel of 2,700 tickers is a few hundred blob reads. A date
whose block is missing (new bars, or a trigger dropped it) is rebuilt from ``bars`` in one
aggregate query and saved for the next reader.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import sqlite_utils

from scanctl.store.db import write_transaction

FIELDS = ("open", "high", "low", "close", "volume", "value")
CODE_BYTES = 6
_NULL = -1  # how a NULL travels through group_concat (no stored field may be negative)
DATES_PER_STEP = 250  # older dates whose code lists `read_older_bars` reads at a time
_BUCKET_BITS, _HASH_FACTOR = 16, np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True, eq=False)
class Panel:
    """Daily bars of many tickers over consecutive stored dates.

    Attributes
    ----------
    dates
        ``(S,)`` ``datetime64[D]``, ascending: every date with at least one stored bar.
    codes
        ``(N,)`` ``<U6`` ticker codes, ascending (byte order).
    open, high, low, close, volume, value
        ``(S, N)`` float64. A cell is NaN where the ticker has no *bar* on that date: no row, or a
        row with a missing field or a non-positive price or volume (ENGINES.md §0.3). ``value``
        falls back to close × volume when the stored value is NULL.
    """

    dates: np.ndarray
    codes: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    value: np.ndarray

    @property
    def has_bar(self) -> np.ndarray:
        """``(S, N)`` bool: a valid bar exists."""
        return ~np.isnan(self.close)

    def date_index(self, day: dt.date) -> int | None:
        """Row of ``day``, or None when no stored bar is dated ``day``."""
        target = np.datetime64(day, "D")
        row = int(np.searchsorted(self.dates, target))
        return row if row < len(self.dates) and self.dates[row] == target else None

    def until(self, day: dt.date) -> Panel:
        """A view of the dates ≤ ``day``."""
        end = int(np.searchsorted(self.dates, np.datetime64(day, "D"), side="right"))
        return Panel(
            dates=self.dates[:end],
            codes=self.codes,
            **{name: getattr(self, name)[:end] for name in FIELDS},
        )

    def prepend(self, older: Panel) -> Panel:
        """This panel with the rows of ``older`` (dates before ours) in front, for the codes we
        have; older rows holding no bar are left out."""
        keep = older.has_bar.any(axis=1)
        cols = np.searchsorted(self.codes, older.codes)
        known = cols < len(self.codes)
        known[known] = self.codes[cols[known]] == older.codes[known]
        arrays = {}
        for name in FIELDS:
            front = np.full((int(keep.sum()), len(self.codes)), np.nan)
            front[:, cols[known]] = getattr(older, name)[keep][:, known]
            arrays[name] = np.concatenate([front, getattr(self, name)])
        return Panel(
            dates=np.concatenate([older.dates[keep], self.dates]), codes=self.codes, **arrays
        )

    def code_index(self, code: str) -> int | None:
        """Column of ``code``, or None when the panel has no bar of it."""
        col = int(np.searchsorted(self.codes, code))
        return col if col < len(self.codes) and self.codes[col] == code else None


def stored_dates(db: sqlite_utils.Database, end: dt.date, count: int) -> list[str]:
    """The last ``count`` dates ≤ ``end`` that have a stored bar, ascending.

    One index seek per date (a recursive max() walk), so it costs the same on any table size.
    """
    rows = db.execute(
        """
        WITH RECURSIVE walk(day, n) AS (
            SELECT (SELECT max(date) FROM bars WHERE date <= :end), 1
            UNION ALL
            SELECT (SELECT max(date) FROM bars WHERE date < walk.day), n + 1
            FROM walk WHERE walk.day IS NOT NULL AND n < :count
        )
        SELECT day FROM walk WHERE day IS NOT NULL
        """,
        {"end": end.isoformat(), "count": count},
    ).fetchall()
    return [row[0] for row in reversed(rows)]


def read_panel(db: sqlite_utils.Database, end: dt.date, sessions: int) -> Panel:
    """Read the bars of the last ``sessions`` stored dates up to and including ``end``.

    Parameters
    ----------
    db
        An open store.
    end
        The last date (inclusive); later bars are never read.
    sessions
        How many stored dates to read at most.

    Returns
    -------
    Panel
        Empty (zero dates, zero codes) when nothing is stored up to ``end``.
    """
    dates = stored_dates(db, end, sessions)
    day_codes, built = _codes_of(db, dates)
    codes = np.unique(np.concatenate(list(day_codes.values()))) if dates else np.array([], "S6")
    return _assemble(db, dates, day_codes, built, codes)


def read_older_bars(
    db: sqlite_utils.Database, codes: np.ndarray, before: dt.date, needs: np.ndarray
) -> Panel:
    """For each of ``codes``, its last ``needs[i]`` bars dated before ``before`` (fewer when the
    store has fewer), as a panel over the dates that hold them.

    The dates are found from the blocks' code lists (6 bytes a ticker a date), walking back
    `DATES_PER_STEP` dates at a time and stopping once every code has its bars, so a ticker
    with no older bars costs only its share of those lists; rows that turn out not to be bars
    (a zero-volume halt row) are made up for by looking further back.
    """
    wanted = np.asarray(codes).astype(f"S{CODE_BYTES}")
    needs = np.asarray(needs, dtype=np.int64)
    extra = np.zeros_like(needs)  # rows found not to be bars, to be made up for further back
    while True:
        found, day_codes, built = _latest_dates_listing(db, wanted, before, needs + extra)
        panel = _assemble(db, sorted(day_codes), day_codes, built, wanted)
        not_bars = found - panel.has_bar.sum(axis=0)
        if (not_bars <= extra).all():
            return panel
        extra = np.maximum(extra, not_bars)


def _latest_dates_listing(
    db: sqlite_utils.Database, wanted: np.ndarray, before: dt.date, counts: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The latest ``counts[i]`` dates before ``before`` whose block lists ``wanted[i]``.

    Returns how many were found per code, the code list of each chosen date and the blocks
    built on the way.
    """
    keys = _code_keys(wanted)
    order = np.argsort(keys)
    keys = keys[order]
    buckets = np.zeros(1 << _BUCKET_BITS, dtype=bool)  # a quick first sieve of the lists
    buckets[_bucket(keys)] = True
    remaining = counts.copy()
    chosen: dict[str, np.ndarray] = {}
    built: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    end = before - dt.timedelta(days=1)
    while (remaining > 0).any():
        days = stored_dates(db, end, DATES_PER_STEP)[::-1]  # latest first
        if not days:
            break
        day_codes, step_built = _codes_of(db, days)
        lists = [day_codes[day] for day in days]
        listed = _code_keys(np.concatenate(lists))
        at = np.flatnonzero(buckets[_bucket(listed)])
        slot = np.minimum(np.searchsorted(keys, listed[at]), len(keys) - 1)
        hit = keys[slot] == listed[at]
        code = order[slot[hit]]
        ends = np.cumsum([len(codes) for codes in lists])
        day = np.searchsorted(ends, at[hit], side="right")  # the list each hit is in
        by_code = np.lexsort((day, code))  # per code, latest date first
        code, day = code[by_code], day[by_code]
        rank = np.arange(len(code)) - np.searchsorted(code, code)
        keep = rank < remaining[code]
        remaining -= np.bincount(code[keep], minlength=len(remaining))
        for index in np.unique(day[keep]):
            chosen[days[index]] = day_codes[days[index]]
            if days[index] in step_built:
                built[days[index]] = step_built[days[index]]
        end = dt.date.fromisoformat(days[-1]) - dt.timedelta(days=1)
    return counts - remaining, chosen, built


def _bucket(keys: np.ndarray) -> np.ndarray:
    """A multiplicative hash of code keys into `_BUCKET_BITS` bits."""
    return ((keys * _HASH_FACTOR) >> np.uint64(64 - _BUCKET_BITS)).astype(np.intp)


def _code_keys(codes: np.ndarray) -> np.ndarray:
    """``S6`` codes as native uint64 numbers in the same order as the codes, for fast searches
    (the bytes read big-endian)."""
    raw = np.zeros((len(codes), 8), dtype=np.uint8)
    raw[:, :CODE_BYTES] = np.frombuffer(codes.tobytes(), dtype=np.uint8).reshape(-1, CODE_BYTES)
    return raw.view(">u8").astype(np.uint64).ravel()


def _codes_of(
    db: sqlite_utils.Database, dates: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Each date's code list, and the blocks that had to be built (and saved) on the way."""
    day_codes = _block_codes(db, dates)
    built = _missing_blocks(db, dates, day_codes)
    day_codes.update({day: block[0] for day, block in built.items()})
    return day_codes, built


def _assemble(
    db: sqlite_utils.Database,
    dates: Sequence[str],
    day_codes: dict[str, np.ndarray],
    built: dict[str, tuple[np.ndarray, np.ndarray]],
    codes: np.ndarray,
) -> Panel:
    """The panel of ``dates`` × ``codes`` (sorted ``S6``), streaming each date's value blob."""
    shape = (len(dates), len(codes))
    arrays = {name: np.full(shape, np.nan) for name in FIELDS}
    row_of = {day: row for row, day in enumerate(dates)}
    keys = _code_keys(codes)  # ascending like ``codes``: both are big-endian byte order

    def scatter(day: str, data: np.ndarray) -> None:
        present, row = day_codes[day], row_of[day]
        if not len(codes):
            return
        if len(present) == len(codes) and np.array_equal(present, codes):
            for k, name in enumerate(FIELDS):
                arrays[name][row] = data[k]
            return
        cols = np.minimum(np.searchsorted(keys, _code_keys(present)), len(codes) - 1)
        known = codes[cols] == present
        if not known.all():
            cols, data = cols[known], data[:, known]
        for k, name in enumerate(FIELDS):
            arrays[name][row, cols] = data[k]

    # Stream the value blobs one date at a time: the panel is the only full-size copy.
    for chunk in _chunks(dates, 500):
        marks = ",".join("?" * len(chunk))
        query = f"SELECT date, data FROM bar_blocks WHERE date IN ({marks})"
        for day, data in db.execute(query, list(chunk)):
            scatter(day, np.frombuffer(data, dtype=np.float64).reshape(len(FIELDS), -1))
    for day, (_, data) in built.items():
        if day in row_of:
            scatter(day, data)
    _mask_invalid(arrays)
    return Panel(
        dates=np.array(dates, dtype="datetime64[D]"),
        codes=codes.astype("U6"),
        **arrays,
    )


def _mask_invalid(arrays: dict[str, np.ndarray]) -> None:
    """Blank every field of rows that are not bars; fill a missing value with close × volume."""
    valid = np.ones(arrays["close"].shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        for name in ("open", "high", "low", "close", "volume"):
            valid &= arrays[name] > 0  # NaN compares False
    for name in FIELDS:
        arrays[name][~valid] = np.nan
    value = arrays["value"]
    with np.errstate(invalid="ignore"):
        missing = valid & ~(value >= 0)
    value[missing] = arrays["close"][missing] * arrays["volume"][missing]


def _block_codes(db: sqlite_utils.Database, dates: Sequence[str]) -> dict[str, np.ndarray]:
    """The code list of each date's block; dates without a block are built (and saved)."""
    found: dict[str, np.ndarray] = {}
    for chunk in _chunks(dates, 500):
        marks = ",".join("?" * len(chunk))
        query = f"SELECT date, codes FROM bar_blocks WHERE date IN ({marks})"
        for day, codes in db.execute(query, list(chunk)):
            found[day] = np.frombuffer(codes, dtype=f"S{CODE_BYTES}")
    return found


def _missing_blocks(
    db: sqlite_utils.Database, dates: Sequence[str], day_codes: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Build, save and return the blocks of ``dates`` absent from ``day_codes``."""
    missing = [day for day in dates if day not in day_codes]
    if not missing:
        return {}
    built = build_blocks(db, missing)
    save_blocks(db, built)
    return built


def build_blocks(
    db: sqlite_utils.Database, dates: Iterable[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Build the block of each date from ``bars`` (one grouped query per 500 dates)."""
    blocks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    columns = ", ".join(f"group_concat(ifnull({name}, {_NULL}))" for name in FIELDS)
    for chunk in _chunks(list(dates), 500):
        marks = ",".join("?" * len(chunk))
        query = (
            f"SELECT date, group_concat(code, ''), {columns} FROM bars "
            f"WHERE date IN ({marks}) GROUP BY date"
        )
        for day, codes_text, *fields in db.execute(query, list(chunk)):
            codes = np.frombuffer(codes_text.encode("ascii"), dtype=f"S{CODE_BYTES}")
            data = np.stack([np.array(text.split(","), dtype=np.float64) for text in fields])
            data[data == _NULL] = np.nan
            order = np.argsort(codes, kind="stable")
            blocks[day] = (codes[order], np.ascontiguousarray(data[:, order]))
    return blocks


def refresh_blocks(db: sqlite_utils.Database, dates: Iterable[str]) -> None:
    """Rebuild and save the blocks of ``dates`` (inside the caller's transaction, if any)."""
    save_blocks(db, build_blocks(db, dates))


def make_block(
    codes: np.ndarray, fields: Sequence[np.ndarray], value_known: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The block of one date from its bars given as columns (``codes`` and the `FIELDS` in any
    row order; ``value_known`` False where the value is NULL): byte for byte what
    `build_blocks` reads back from ``bars`` once they are stored."""
    codes = np.asarray(codes).astype(f"S{CODE_BYTES}")
    data = np.stack([np.asarray(field, dtype=np.float64) for field in fields])
    data[data == _NULL] = np.nan
    if value_known is not None:
        data[FIELDS.index("value"), ~value_known] = np.nan
    order = np.argsort(codes, kind="stable")
    return codes[order], np.ascontiguousarray(data[:, order])


def save_blocks(
    db: sqlite_utils.Database, blocks: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    """Save blocks (inside the caller's transaction, if any; a read-only or busy store is left
    alone otherwise: the next reader rebuilds them)."""
    rows = [(day, codes.tobytes(), data.tobytes()) for day, (codes, data) in blocks.items()]
    sql = "INSERT OR REPLACE INTO bar_blocks (date, codes, data) VALUES (?, ?, ?)"
    if db.conn.in_transaction:
        db.conn.executemany(sql, rows)
        return
    try:
        with write_transaction(db):
            db.conn.executemany(sql, rows)
    except sqlite3.OperationalError:
        pass  # a read-only or busy store: the blocks are rebuilt by the next reader


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
