"""`data import`: bars, tickers and index bars from CSV (PRODUCT.md §4.2), gzip accepted.

Every row is validated before anything is written; errors name the file and line. Then all
files land in one transaction (upserts, so a re-import is idempotent), or nothing does.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

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


class _Problems:
    """Row errors collected across a file, reported on one line with their line numbers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[tuple[int, str]] = []

    def add(self, bad: pd.Series, message: str) -> None:
        """Record ``message`` where ``bad`` is true (file line = row + 2: header, 1-based)."""
        for row in np.flatnonzero(bad.to_numpy()):
            self.items.append((int(row) + 2, message))

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


def import_files(
    db: sqlite_utils.Database,
    bars: str | Path | None,
    tickers: str | Path | None = None,
    indexes: str | Path | None = None,
    source: str = "import",
) -> ImportReport:
    """Validate the given files completely, then write them in one transaction.

    Raises
    ------
    BadInput
        A missing or unreadable file, a missing column, or invalid rows (with line numbers).
    """
    bar_rows = _read_bars(Path(bars)) if bars else []
    ticker_rows = _read_tickers(Path(tickers)) if tickers else []
    index_rows = _read_indexes(Path(indexes)) if indexes else []
    with write_transaction(db):
        upsert_tickers(db, ticker_rows)
        upsert_bars(db, bar_rows, source)
        upsert_index_bars(db, index_rows)
    dates = sorted({row[0] for row in bar_rows})
    return ImportReport(
        bars=len(bar_rows),
        bar_dates=len(dates),
        first_date=dates[0] if dates else None,
        last_date=dates[-1] if dates else None,
        tickers=len(ticker_rows),
        index_bars=len(index_rows),
    )


def _read_csv(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> pd.DataFrame:
    """Read a CSV (plain or gzip, detected by content) as text columns; check the header."""
    if not path.is_file():
        raise BadInput(f"file {str(path)!r} does not exist")
    try:
        with path.open("rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            frame = pd.read_csv(
                handle, dtype=str, keep_default_na=False, skipinitialspace=True, engine="c"
            )
    except (OSError, UnicodeDecodeError, EOFError, pd.errors.ParserError) as exc:
        raise BadInput(f"{path.name}: cannot read as CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise BadInput(f"{path.name}: the file is empty") from None
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
        raise BadInput(f"{path.name}: {'; '.join(problems)}; expected header {expected}")
    return frame


def _dates(frame: pd.DataFrame, problems: _Problems) -> pd.Series:
    """ISO dates from YYYY-MM-DD or YYYYMMDD text; invalid ones are reported."""
    text = frame["date"].str.strip()
    compact = text.str.fullmatch(r"\d{8}")
    text = text.where(~compact, text.str[:4] + "-" + text.str[4:6] + "-" + text.str[6:])
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    problems.add(parsed.isna(), "bad date (use YYYY-MM-DD)")
    return text


def _integers(frame: pd.DataFrame, column: str, problems: _Problems, optional=False) -> np.ndarray:
    text = frame[column].str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    blank = text == ""
    bad = numbers.isna() & ~(blank & optional)
    bad |= numbers.notna() & (numbers != np.floor(numbers))
    problems.add(bad, f"{column} is not an integer")
    return numbers.to_numpy(dtype=np.float64)


def _numbers(frame: pd.DataFrame, column: str, problems: _Problems) -> np.ndarray:
    numbers = pd.to_numeric(frame[column].str.strip(), errors="coerce")
    problems.add(numbers.isna(), f"{column} is not a number")
    return numbers.to_numpy(dtype=np.float64)


def _check_prices(prices: dict[str, np.ndarray], volume: np.ndarray, problems: _Problems) -> None:
    """Positive prices, high ≥ max(open, close), low ≤ min(open, close), volume ≥ 0."""
    o, h, low, c = (prices[name] for name in ("open", "high", "low", "close"))
    with np.errstate(invalid="ignore"):
        positive = np.ones(len(volume), dtype=bool)
        for name, values in prices.items():
            problems.add(pd.Series(values <= 0), f"{name} must be positive")
            positive &= values > 0
        problems.add(pd.Series(positive & (h < np.maximum(o, c))), "high < max(open, close)")
        problems.add(pd.Series(positive & (low > np.minimum(o, c))), "low > min(open, close)")
        problems.add(pd.Series(volume < 0), "negative volume")


def _duplicates(keys: pd.DataFrame, what: str, problems: _Problems) -> None:
    problems.add(keys.duplicated(keep="first"), f"duplicate {what}")


def _read_bars(path: Path) -> list[tuple]:
    frame = _read_csv(path, BAR_COLUMNS, ("value",))
    problems = _Problems(path)
    dates = _dates(frame, problems)
    codes = frame["ticker"].str.strip()
    problems.add(~codes.str.fullmatch(CODE_PATTERN), "ticker must be 6 characters 0-9/A-Z")
    prices = {name: _integers(frame, name, problems) for name in ("open", "high", "low", "close")}
    volume = _integers(frame, "volume", problems)
    if "value" in frame.columns:
        value = _integers(frame, "value", problems, optional=True)
        with np.errstate(invalid="ignore"):
            problems.add(pd.Series(value < 0), "negative value")
    else:
        value = np.full(len(frame), np.nan)
    _check_prices(prices, volume, problems)
    _duplicates(pd.DataFrame({"d": dates, "c": codes}), "(date, ticker)", problems)
    problems.raise_if_any()
    as_int = [prices[name].astype(np.int64).tolist() for name in ("open", "high", "low", "close")]
    values = [None if np.isnan(v) else int(v) for v in value.tolist()]
    return list(
        zip(
            dates.tolist(),
            codes.tolist(),
            *as_int,
            volume.astype(np.int64).tolist(),
            values,
            strict=True,
        )
    )


def _read_tickers(path: Path) -> list[TickerRow]:
    frame = _read_csv(path, TICKER_COLUMNS, TICKER_OPTIONAL)
    problems = _Problems(path)
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


def _read_indexes(path: Path) -> list[tuple]:
    frame = _read_csv(path, INDEX_COLUMNS, ())
    problems = _Problems(path)
    dates = _dates(frame, problems)
    codes = frame["index"].str.strip().str.upper()
    problems.add(~codes.str.fullmatch(INDEX_CODE_PATTERN), "index must be a code like KOSPI")
    prices = {name: _numbers(frame, name, problems) for name in ("open", "high", "low", "close")}
    volume = _integers(frame, "volume", problems, optional=True)
    _check_prices(prices, volume, problems)
    _duplicates(pd.DataFrame({"d": dates, "c": codes}), "(date, index)", problems)
    problems.raise_if_any()
    volumes = [None if np.isnan(v) else int(v) for v in volume.tolist()]
    columns = [prices[name].tolist() for name in ("open", "high", "low", "close")]
    return list(zip(dates.tolist(), codes.tolist(), *columns, volumes, strict=True))
