"""`data import`: bars, tickers and index bars from CSV (PRODUCT.md §4.2), gzip accepted.

`read_files` validates every row of every file before the store is even opened; errors name the
file and line. `write_batch` then lands all files in one transaction (upserts, so a re-import
is idempotent), or nothing does. A file with one bad row stores nothing.

Numbers are checked for what the store can hold exactly: integer columns (prices, volume,
value) must be whole, finite and fit SQLite's INTEGER (signed 64 bits); index prices (REAL) must
be finite. Prices are > 0, volume and value ≥ 0, high ≥ max(open, close) ≥ min(open, close) ≥ low.

A bars file is read `CHUNK_ROWS` rows at a time into columns (`BarColumns`: int64 numbers,
dates and codes held once each), so a million rows take tens of MB. The numbers are first
left to the CSV parser: when every cell of a numeric column is a plain integer it yields int64
and nothing is lost. A file with anything else in one (``1e3``, ``105.0``, a blank value, text,
more than 64 bits) is read again with those cells as text, each checked as described above.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import sqlite_utils

from scanctl.store.bars import (
    MARKETS,
    SECURITY_TYPES,
    BarColumns,
    TickerRow,
    upsert_bar_columns,
    upsert_index_bars,
    upsert_tickers,
)
from scanctl.store.csv_checks import (
    Problems,
    check_prices,
    csv_chunks,
    date_column,
    flag_duplicates,
    integer_column,
    iso_dates,
    number_column,
    read_csv,
    stored_values,
)
from scanctl.store.db import write_transaction

BAR_COLUMNS = ("date", "ticker", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
NUMBER_COLUMNS = (*PRICE_COLUMNS, "volume", "value")
TICKER_COLUMNS = ("ticker", "name", "market")
TICKER_OPTIONAL = ("security_type", "managed", "halted")
INDEX_COLUMNS = ("date", "index", "open", "high", "low", "close", "volume")
CODE_PATTERN = r"^[0-9A-Z]{6}$"
INDEX_CODE_PATTERN = r"^[0-9A-Z_]{1,12}$"
CHUNK_ROWS = 100_000  # rows of a bars file read at a time
_FLAGS = {"": False, "0": False, "1": True, "false": False, "true": True, "n": False, "y": True}


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote."""

    bars: int
    bar_dates: int
    first_date: str | None
    last_date: str | None
    tickers: int
    index_bars: int


@dataclass(frozen=True)
class ImportBatch:
    """The validated rows of the files of one import, ready to write."""

    bars: BarColumns
    tickers: list[TickerRow]
    index_bars: list[tuple]


CsvSource = str | Path | BinaryIO  # a CSV file, or a binary stream such as standard input
STDIN_NAME = "standard input"  # how errors name a stream


def import_files(
    db: sqlite_utils.Database,
    bars: CsvSource | None,
    tickers: CsvSource | None = None,
    indexes: CsvSource | None = None,
    source: str = "import",
) -> ImportReport:
    """Validate the given files completely, then write them in one transaction.

    Raises
    ------
    BadInput
        A missing or unreadable file, a missing column, or invalid rows (with line numbers).
    """
    return write_batch(db, read_files(bars, tickers, indexes), source)


def read_files(
    bars: CsvSource | None,
    tickers: CsvSource | None = None,
    indexes: CsvSource | None = None,
) -> ImportBatch:
    """Read and validate every row of the given files; nothing is written.

    A stream (``data import -``: standard input) is first copied to a temporary file named
    ``standard input``, so it is read like a file (in chunks, twice when its numbers need the
    text checks) and its errors name it.

    Raises
    ------
    BadInput
        A missing or unreadable file, a missing column, or invalid rows (with line numbers).
    """
    with ExitStack() as stack:
        paths = [None if s is None else _as_path(s, stack) for s in (bars, tickers, indexes)]
        return ImportBatch(
            bars=_read_bars(paths[0]) if paths[0] else _no_bars(),
            tickers=_read_tickers(paths[1]) if paths[1] else [],
            index_bars=_read_indexes(paths[2]) if paths[2] else [],
        )


def _as_path(source: CsvSource, stack: ExitStack) -> Path:
    """A file's path, or a stream spooled to a temporary file named `STDIN_NAME`."""
    if isinstance(source, str | Path):
        return Path(source)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scanctl-import-")))
    path = folder / STDIN_NAME
    with path.open("wb") as spool:
        shutil.copyfileobj(source, spool)
    return path


def write_batch(
    db: sqlite_utils.Database, batch: ImportBatch, source: str = "import"
) -> ImportReport:
    """Write a validated batch in one transaction: all of it, or nothing."""
    with write_transaction(db):
        upsert_tickers(db, batch.tickers)
        upsert_bar_columns(db, batch.bars, source)
        upsert_index_bars(db, batch.index_bars)
    dates = sorted(batch.bars.days[i] for i in np.unique(batch.bars.day_of))
    return ImportReport(
        bars=len(batch.bars),
        bar_dates=len(dates),
        first_date=dates[0] if dates else None,
        last_date=dates[-1] if dates else None,
        tickers=len(batch.tickers),
        index_bars=len(batch.index_bars),
    )


def _no_bars() -> BarColumns:
    empty = np.zeros(0, dtype=np.int64)
    numbers = dict.fromkeys(NUMBER_COLUMNS, empty)
    return BarColumns(days=[], codes=[], day_of=empty, code_of=empty, **numbers)


class _NotPlainIntegers(Exception):
    """A numeric column of a bars file holds something else than plain integers."""


def _read_bars(path: Path) -> BarColumns:
    """Read and check a bars file a chunk at a time; numbers as parsed, else as text."""
    try:
        return _read_bar_chunks(path, numbers_as_text=False)
    except _NotPlainIntegers:
        return _read_bar_chunks(path, numbers_as_text=True)


def _read_bar_chunks(path: Path, numbers_as_text: bool) -> BarColumns:
    """Every chunk checked as in `_check_bar_chunk`, then the (date, ticker) duplicates.

    Raises
    ------
    _NotPlainIntegers
        Without ``numbers_as_text``, when a numeric column is not all plain integers.
    """
    problems = Problems(path)
    days: dict[str, int] = {}
    codes: dict[str, int] = {}
    parts: list[dict[str, np.ndarray]] = []

    def dtypes(columns: list[str]) -> dict:
        numeric = [] if not numbers_as_text else [c for c in columns if c in NUMBER_COLUMNS]
        return dict.fromkeys(["date", "ticker", *numeric], str)

    offset = 0
    chunks = csv_chunks(path, BAR_COLUMNS, ("value",), dtypes, CHUNK_ROWS)
    for frame in chunks:
        problems.offset = offset
        parts.append(_check_bar_chunk(frame, problems, days, codes, numbers_as_text))
        offset += len(frame)
    problems.offset = 0
    columns = {name: np.concatenate([part.pop(name) for part in parts]) for name in list(parts[0])}
    keys = columns["day_of"].astype(np.int64) * max(1, len(codes)) + columns["code_of"]
    problems.add(_repeated(keys), "duplicate (date, ticker)")
    problems.raise_if_any()
    return BarColumns(days=list(days), codes=list(codes), **columns)


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Where a key equals an earlier one (a sort, lighter than a hash table of a million)."""
    order = np.argsort(keys, kind="stable")
    later = np.zeros(len(keys), dtype=bool)
    later[order[1:]] = keys[order[1:]] == keys[order[:-1]]
    return later


def _check_bar_chunk(
    frame: pd.DataFrame,
    problems: Problems,
    days: dict[str, int],
    codes: dict[str, int],
    numbers_as_text: bool,
) -> dict[str, np.ndarray]:
    """Check the rows of one chunk; returns its columns (dates and codes as indexes into
    ``days`` and ``codes``, which grow by the new ones, valid or not).

    Raises
    ------
    _NotPlainIntegers
        Without ``numbers_as_text``, when the parser did not read a numeric column as int64.
    """
    day_of, bad_day = _labels(frame["date"], iso_dates, days)
    problems.add(bad_day, "bad date (use YYYY-MM-DD)")
    code_of, bad_code = _labels(frame["ticker"], _ticker_codes, codes)
    problems.add(bad_code, "ticker must be 6 characters 0-9/A-Z")
    numbers = {}
    for name in (name for name in NUMBER_COLUMNS if name in frame.columns):
        optional = name == "value"
        if numbers_as_text:
            numbers[name] = integer_column(frame, name, problems, optional=optional)
        elif frame[name].dtype == np.int64:
            numbers[name] = np.ma.MaskedArray(frame[name].to_numpy())
        else:
            raise _NotPlainIntegers(name)
    if "value" in numbers:
        problems.add(numbers["value"] < 0, "negative value")
    else:
        numbers["value"] = np.ma.masked_all(len(frame), dtype=np.int64)
    check_prices({name: numbers[name] for name in PRICE_COLUMNS}, numbers["volume"], problems)
    # Copies, not views of the frame: each column of the file is then joined (and its chunks
    # freed) one after the other.
    columns = {name: np.ma.filled(values, 0).copy() for name, values in numbers.items()}
    return {
        "day_of": day_of,
        "code_of": code_of,
        **columns,
        "value_known": ~np.ma.getmaskarray(numbers["value"]),
    }


def _labels(
    column: pd.Series,
    normalise: Callable[[pd.Series], tuple[pd.Series, np.ndarray]],
    ids: dict[str, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the index in ``ids`` of its label once normalised (new labels are added), and
    whether the label is invalid. Each distinct text is normalised once."""
    rows, distinct = pd.factorize(column)
    text = pd.Series([*distinct, ""], dtype=str)  # a missing cell (-1) reads as blank
    labels, bad = normalise(text)
    index = np.array([ids.setdefault(label, len(ids)) for label in labels], dtype=np.int32)
    return index[rows], bad[rows]


def _ticker_codes(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Codes without surrounding blanks, and where they are not 6 characters 0-9/A-Z."""
    text = text.str.strip()
    return text, (~text.str.fullmatch(CODE_PATTERN)).to_numpy(dtype=bool)


def _read_tickers(path: Path) -> list[TickerRow]:
    frame = read_csv(path, TICKER_COLUMNS, TICKER_OPTIONAL)
    problems = Problems(path)
    codes = frame["ticker"].str.strip()
    problems.add(~codes.str.fullmatch(CODE_PATTERN), "ticker must be 6 characters 0-9/A-Z")
    markets = frame["market"].str.strip().str.upper()
    problems.add(~markets.isin(MARKETS), f"market must be one of {', '.join(MARKETS)}")
    if "security_type" in frame.columns:
        types = frame["security_type"].str.strip().str.lower()
        bad_type = ~types.isin((*SECURITY_TYPES, ""))
        problems.add(bad_type, f"security_type must be one of {', '.join(SECURITY_TYPES)}")
    else:
        types = pd.Series([""] * len(frame))
    flags = {}
    for column in ("managed", "halted"):
        if column in frame.columns:
            text = frame[column].str.strip().str.lower()
        else:
            text = pd.Series([""] * len(frame))
        problems.add(~text.isin(_FLAGS), f"{column} must be 0/1, true/false or y/n")
        flags[column] = text
    flag_duplicates(codes.to_frame(), "ticker", problems)
    problems.raise_if_any()
    names = frame["name"].str.strip()
    return [
        TickerRow(
            code=code,
            name=name or None,
            market=market,
            security_type=kind or None,
            managed=_FLAGS[managed],
            halted=_FLAGS[halted],
        )
        for code, name, market, kind, managed, halted in zip(
            codes, names, markets, types, flags["managed"], flags["halted"], strict=True
        )
    ]


def _read_indexes(path: Path) -> list[tuple]:
    frame = read_csv(path, INDEX_COLUMNS, ())
    problems = Problems(path)
    dates = date_column(frame, problems)
    codes = frame["index"].str.strip().str.upper()
    problems.add(~codes.str.fullmatch(INDEX_CODE_PATTERN), "index must be a code like KOSPI")
    prices = {
        name: number_column(frame, name, problems) for name in ("open", "high", "low", "close")
    }
    volume = integer_column(frame, "volume", problems, optional=True)
    check_prices(prices, volume, problems)
    flag_duplicates(pd.DataFrame({"d": dates, "c": codes}), "(date, index)", problems)
    problems.raise_if_any()
    columns = [prices[name].data.tolist() for name in ("open", "high", "low", "close")]
    return list(zip(dates.tolist(), codes.tolist(), *columns, stored_values(volume), strict=True))
