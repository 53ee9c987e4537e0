"""Reading CSV files for `data import` and checking their cells, with the line of each bad row.

Shared by the three readers of `scanctl.store.importer`: the header check, gzip detection, the
date, integer and number checks, the price relations, and `Problems`, which collects the bad
rows of a file and reports them on one line.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from scanctl.errors import BadInput

MAX_REPORTED = 5
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # SQLite INTEGER
_EXACT = 2.0**53  # below this magnitude a float64 holds every integer exactly


class Problems:
    """Row errors collected across a file, reported on one line with their line numbers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[tuple[int, str]] = []
        self.offset = 0  # file row of the first row of the chunk being checked

    def add(self, bad, message: str) -> None:
        """Record ``message`` where ``bad`` is true (file line = row + 2: header, 1-based).

        ``bad`` is a boolean Series or array; a masked array counts only its unmasked cells.
        """
        mask = np.ma.filled(bad, False) if np.ma.isMaskedArray(bad) else np.asarray(bad, bool)
        for row in np.flatnonzero(mask):
            self.add_row(int(row), message)

    def add_row(self, row: int, message: str) -> None:
        self.items.append((self.offset + row + 2, message))

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
        raise BadInput(
            f"{self.path.name}: {count} invalid row(s), nothing imported; {shown}{suffix}"
        )


def read_csv(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> pd.DataFrame:
    """Read a CSV (plain or gzip, detected by content) as text columns; check the header."""
    return next(csv_chunks(path, required, optional, lambda names: dict.fromkeys(names, str)))


def csv_chunks(
    path: Path,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    dtypes: Callable[[list[str]], dict],
    chunk_rows: int | None = None,
) -> Iterator[pd.DataFrame]:
    """The frames of a CSV (plain or gzip, detected by content), ``chunk_rows`` rows each (one
    frame for the whole file when None), columns named in lower case; ``dtypes(columns)`` gives
    the parser's dtypes by column. The header is checked before any row is read.

    Raises
    ------
    BadInput
        The file is missing, empty or not CSV, or a column is missing or unknown.
    """
    if not path.is_file():
        raise BadInput(f"file {str(path)!r} does not exist")
    try:
        with path.open("rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            options = {"keep_default_na": False, "skipinitialspace": True, "engine": "c"}
            raw = list(pd.read_csv(handle, nrows=0, dtype=str, **options).columns)
            columns = [str(column).strip().lower() for column in raw]
            check_header(path, columns, required, optional)
            handle.seek(0)
            dtype = {raw[columns.index(name)]: kind for name, kind in dtypes(columns).items()}
            reader = pd.read_csv(handle, dtype=dtype, chunksize=chunk_rows, **options)
            frames = reader if chunk_rows else iter([reader])
            empty = True
            for frame in frames:
                frame.columns = columns
                empty = False
                yield frame
            if empty:
                yield pd.DataFrame({name: pd.Series([], dtype=str) for name in columns})
    except (OSError, UnicodeDecodeError, EOFError, pd.errors.ParserError) as exc:
        raise BadInput(f"{path.name}: cannot read as CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise BadInput(f"{path.name}: the file is empty") from None


def check_header(
    path: Path, columns: list[str], required: tuple[str, ...], optional: tuple[str, ...]
) -> None:
    missing = [column for column in required if column not in columns]
    unknown = [c for c in columns if c not in required and c not in optional]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        expected = ",".join(required) + "".join(f"[,{c}]" for c in optional)
        raise BadInput(f"{path.name}: {'; '.join(problems)}; expected header {expected}")


def iso_dates(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """ISO dates from YYYY-MM-DD or YYYYMMDD text, and where they are not valid dates."""
    text = text.str.strip()
    compact = text.str.fullmatch(r"\d{8}")
    text = text.where(~compact, text.str[:4] + "-" + text.str[4:6] + "-" + text.str[6:])
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return text, parsed.isna().to_numpy()


def date_column(frame: pd.DataFrame, problems: Problems) -> pd.Series:
    """ISO dates from YYYY-MM-DD or YYYYMMDD text; invalid ones are reported."""
    text, bad = iso_dates(frame["date"])
    problems.add(bad, "bad date (use YYYY-MM-DD)")
    return text


def integer_column(
    frame: pd.DataFrame, column: str, problems: Problems, optional: bool = False
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


def number_column(frame: pd.DataFrame, column: str, problems: Problems) -> np.ma.MaskedArray:
    """Finite floats (REAL columns), masked where bad."""
    numbers = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy(np.float64)
    problems.add(np.isnan(numbers), f"{column} is not a number")
    problems.add(np.isinf(numbers), f"{column} is not finite")
    return np.ma.MaskedArray(numbers, mask=~np.isfinite(numbers))


def check_prices(
    prices: dict[str, np.ma.MaskedArray], volume: np.ma.MaskedArray, problems: Problems
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


def stored_values(values: np.ma.MaskedArray) -> list:
    """Python values for the store: None where masked (a blank optional cell)."""
    return [
        None if masked else value
        for value, masked in zip(
            values.data.tolist(), np.ma.getmaskarray(values).tolist(), strict=True
        )
    ]


def flag_duplicates(keys: pd.DataFrame, what: str, problems: Problems) -> None:
    problems.add(keys.duplicated(keep="first"), f"duplicate {what}")
