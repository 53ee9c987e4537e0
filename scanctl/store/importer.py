"""`data import`: bars, tickers and index bars from CSV (PRODUCT.md §4.2), gzip accepted.

`read_files` validates every row of every file before the store is even opened; errors name the
file and line. `write_batch` then lands all files in one transaction (upserts, so a re-import
is idempotent), or nothing does. A file with one bad row stores nothing.

Numbers are checked for what the store can hold exactly: integer columns (prices, volume,
value) must be whole, finite and fit SQLite's INTEGER (signed 64 bits); index prices (REAL) must
be finite. Prices are > 0, volume and value ≥ 0, high ≥ max(open, close) ≥ min(open, close) ≥ low.

A file can also be a binary stream (``data import -`` passes standard input): it is read whole,
then checked like a file.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import sqlite_utils

from scanctl.errors import BadInput
from scanctl.store.bars import (
    MARKETS,
    SECURITY_TYPES,
    TickerRow,
    upsert_bars,
    upsert_index_bars,
    upsert_tickers,
)
from scanctl.store.db import write_transaction

BAR_COLUMNS = ("date", "ticker", "open", "high", "low", "close", "volume")
TICKER_COLUMNS = ("ticker", "name", "market")
TICKER_OPTIONAL = ("security_type", "managed", "halted")
INDEX_COLUMNS = ("date", "index", "open", "high", "low", "close", "volume")
CODE_PATTERN = r"^[0-9A-Z]{6}$"
INDEX_CODE_PATTERN = r"^[0-9A-Z_]{1,12}$"
MAX_REPORTED = 5
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # SQLite INTEGER
_EXACT = 2.0**53  # below this magnitude a float64 holds every integer exactly
STDIN_NAME = "standard input"
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

    bars: list[tuple]
    tickers: list[TickerRow]
    index_bars: list[tuple]


class _Problems:
    """Row errors collected across a file, reported on one line with their line numbers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.items: list[tuple[int, str]] = []

    def add(self, bad, message: str) -> None:
        """Record ``message`` where ``bad`` is true (file line = row + 2: header, 1-based).

        ``bad`` is a boolean Series or array; a masked array counts only its unmasked cells.
        """
        mask = np.ma.filled(bad, False) if np.ma.isMaskedArray(bad) else np.asarray(bad, bool)
        for row in np.flatnonzero(mask):
            self.add_row(int(row), message)

    def add_row(self, row: int, message: str) -> None:
        self.items.append((row + 2, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        by_line: dict[int, list[str]] = {}
        for line, text in sorted(self.items):
            by_line.setdefault(line, []).append(text)
        lines = sorted(by_line)
        shown = "; ".join(f"line {n}: {', '.join(by_line[n])}" for n in lines[:MAX_REPORTED])
        more = len(lines) - MAX_REPORTED
        suffix = f" (+{more} more)" if more > 0 else ""
        count = len(lines)
        raise BadInput(f"{self.name}: {count} invalid row(s), nothing imported; {shown}{suffix}")


CsvSource = str | Path | BinaryIO  # a CSV file, or a binary stream such as standard input


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

    Raises
    ------
    BadInput
        A missing or unreadable file, a missing column, or invalid rows (with line numbers).
    """
    return ImportBatch(
        bars=_read_bars(_source(bars)) if bars is not None else [],
        tickers=_read_tickers(_source(tickers)) if tickers is not None else [],
        index_bars=_read_indexes(_source(indexes)) if indexes is not None else [],
    )


def _source(source: CsvSource) -> Path | BinaryIO:
    return Path(source) if isinstance(source, str) else source


def _name(source: Path | BinaryIO) -> str:
    return source.name if isinstance(source, Path) else STDIN_NAME


def write_batch(
    db: sqlite_utils.Database, batch: ImportBatch, source: str = "import"
) -> ImportReport:
    """Write a validated batch in one transaction: all of it, or nothing."""
    with write_transaction(db):
        upsert_tickers(db, batch.tickers)
        upsert_bars(db, batch.bars, source)
        upsert_index_bars(db, batch.index_bars)
    dates = sorted({row[0] for row in batch.bars})
    return ImportReport(
        bars=len(batch.bars),
        bar_dates=len(dates),
        first_date=dates[0] if dates else None,
        last_date=dates[-1] if dates else None,
        tickers=len(batch.tickers),
        index_bars=len(batch.index_bars),
    )


def _read_csv(
    source: Path | BinaryIO, required: tuple[str, ...], optional: tuple[str, ...]
) -> pd.DataFrame:
    """Read a CSV (plain or gzip, detected by content) as text columns; check the header."""
    name = _name(source)
    if isinstance(source, Path) and not source.is_file():
        raise BadInput(f"file {str(source)!r} does not exist")
    try:
        with _text(source) as handle:
            frame = pd.read_csv(
                handle, dtype=str, keep_default_na=False, skipinitialspace=True, engine="c"
            )
    except (OSError, UnicodeDecodeError, EOFError, pd.errors.ParserError) as exc:
        raise BadInput(f"{name}: cannot read as CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise BadInput(f"{name}: the file is empty") from None
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    missing = [column for column in required if column not in frame.columns]
    unknown = [c for c in frame.columns if c not in required and c not in optional]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        expected = ",".join(required) + "".join(f"[,{c}]" for c in optional)
        raise BadInput(f"{name}: {'; '.join(problems)}; expected header {expected}")
    return frame


def _text(source: Path | BinaryIO):
    """The CSV text of a file or a stream, gunzipped when it starts with the gzip magic."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        return opener(source, "rt", encoding="utf-8-sig", newline="")
    data = io.BytesIO(source.read())  # a pipe cannot seek back after the magic
    binary = gzip.GzipFile(fileobj=data) if data.getvalue()[:2] == b"\x1f\x8b" else data
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _dates(frame: pd.DataFrame, problems: _Problems) -> pd.Series:
    """ISO dates from YYYY-MM-DD or YYYYMMDD text; invalid ones are reported."""
    text = frame["date"].str.strip()
    compact = text.str.fullmatch(r"\d{8}")
    text = text.where(~compact, text.str[:4] + "-" + text.str[4:6] + "-" + text.str[6:])
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    problems.add(parsed.isna(), "bad date (use YYYY-MM-DD)")
    return text


def _integers(
    frame: pd.DataFrame, column: str, problems: _Problems, optional: bool = False
) -> np.ma.MaskedArray:
    """Whole numbers that SQLite's INTEGER holds exactly (int64), masked where bad or blank.

    Reported per row: not a number, not finite, not whole, outside the signed 64-bit range.
    Values of 2**53 and more are re-read from their text, so none is rounded.
    """
    text = frame[column].str.strip()
    floats = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    blank = (text == "").to_numpy()
    with np.errstate(invalid="ignore"):
        small = np.abs(floats) < _EXACT
        whole = small & (floats == np.floor(floats))
    values = np.zeros(len(floats), dtype=np.int64)
    values[whole] = floats[whole]
    problems.add(
        (np.isnan(floats) & ~(blank & optional)) | (small & ~whole), f"{column} is not an integer"
    )
    problems.add(np.isinf(floats), f"{column} is not finite")
    good = whole.copy()
    for row in np.flatnonzero(np.isfinite(floats) & ~small):
        try:
            exact = Decimal(text.iat[row])
        except InvalidOperation:
            exact = Decimal("NaN")
        if not exact.is_finite() or exact != exact.to_integral_value():
            problems.add_row(row, f"{column} is not an integer")
        elif not INT64_MIN <= exact <= INT64_MAX:
            problems.add_row(row, f"{column} is out of range (more than 64 bits)")
        else:
            values[row], good[row] = int(exact), True
    return np.ma.MaskedArray(values, mask=~good)


def _numbers(frame: pd.DataFrame, column: str, problems: _Problems) -> np.ma.MaskedArray:
    """Finite floats (REAL columns), masked where bad."""
    numbers = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy(np.float64)
    problems.add(np.isnan(numbers), f"{column} is not a number")
    problems.add(np.isinf(numbers), f"{column} is not finite")
    return np.ma.MaskedArray(numbers, mask=~np.isfinite(numbers))


def _check_prices(
    prices: dict[str, np.ma.MaskedArray], volume: np.ma.MaskedArray, problems: _Problems
) -> None:
    """Positive prices, high ≥ max(open, close), low ≤ min(open, close), high ≥ low, volume ≥ 0.

    Cells already reported (masked) are not compared again.
    """
    o, h, low, c = (prices[name] for name in ("open", "high", "low", "close"))
    positive = np.ones(len(volume), dtype=bool)
    for name, values in prices.items():
        problems.add(values <= 0, f"{name} must be positive")
        positive &= np.ma.filled(values > 0, False)
    problems.add(positive & np.ma.filled(h < np.ma.maximum(o, c), False), "high < max(open, close)")
    problems.add(
        positive & np.ma.filled(low > np.ma.minimum(o, c), False), "low > min(open, close)"
    )
    problems.add(positive & np.ma.filled(h < low, False), "high < low")
    problems.add(volume < 0, "negative volume")


def _stored(values: np.ma.MaskedArray) -> list:
    """Python values for the store: None where masked (a blank optional cell)."""
    return [
        None if masked else value
        for value, masked in zip(
            values.data.tolist(), np.ma.getmaskarray(values).tolist(), strict=True
        )
    ]


def _duplicates(keys: pd.DataFrame, what: str, problems: _Problems) -> None:
    problems.add(keys.duplicated(keep="first"), f"duplicate {what}")


def _read_bars(source: Path | BinaryIO) -> list[tuple]:
    frame = _read_csv(source, BAR_COLUMNS, ("value",))
    problems = _Problems(_name(source))
    dates = _dates(frame, problems)
    codes = frame["ticker"].str.strip()
    problems.add(~codes.str.fullmatch(CODE_PATTERN), "ticker must be 6 characters 0-9/A-Z")
    prices = {name: _integers(frame, name, problems) for name in ("open", "high", "low", "close")}
    volume = _integers(frame, "volume", problems)
    if "value" in frame.columns:
        value = _integers(frame, "value", problems, optional=True)
        problems.add(value < 0, "negative value")
    else:
        value = np.ma.masked_all(len(frame), dtype=np.int64)
    _check_prices(prices, volume, problems)
    _duplicates(pd.DataFrame({"d": dates, "c": codes}), "(date, ticker)", problems)
    problems.raise_if_any()
    columns = [prices[name].data.tolist() for name in ("open", "high", "low", "close")]
    return list(
        zip(
            dates.tolist(),
            codes.tolist(),
            *columns,
            volume.data.tolist(),
            _stored(value),
            strict=True,
        )
    )


def _read_tickers(source: Path | BinaryIO) -> list[TickerRow]:
    frame = _read_csv(source, TICKER_COLUMNS, TICKER_OPTIONAL)
    problems = _Problems(_name(source))
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
    _duplicates(codes.to_frame(), "ticker", problems)
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


def _read_indexes(source: Path | BinaryIO) -> list[tuple]:
    frame = _read_csv(source, INDEX_COLUMNS, ())
    problems = _Problems(_name(source))
    dates = _dates(frame, problems)
    codes = frame["index"].str.strip().str.upper()
    problems.add(~codes.str.fullmatch(INDEX_CODE_PATTERN), "index must be a code like KOSPI")
    prices = {name: _numbers(frame, name, problems) for name in ("open", "high", "low", "close")}
    volume = _integers(frame, "volume", problems, optional=True)
    _check_prices(prices, volume, problems)
    _duplicates(pd.DataFrame({"d": dates, "c": codes}), "(date, index)", problems)
    problems.raise_if_any()
    columns = [prices[name].data.tolist() for name in ("open", "high", "low", "close")]
    return list(zip(dates.tolist(), codes.tolist(), *columns, _stored(volume), strict=True))
