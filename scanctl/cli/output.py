"""Rendering: rich tables on a terminal, plain aligned text otherwise, JSON/CSV for scripts.

Data goes to stdout; messages, progress and errors go to stderr.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from scanctl.logs import LOGGER, logs_as_json


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def print_json(value: Any) -> None:
    """One JSON document on stdout (UTF-8, no escapes of Korean text)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def print_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)


def print_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None
) -> None:
    """A rich table on a TTY; elsewhere a plain, column-aligned text table."""
    cells = [["" if cell is None else _text(cell) for cell in row] for row in rows]
    if stdout_is_tty():
        from rich import box
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
        for column in columns:
            table.add_column(column)
        for row in cells:
            table.add_row(*row)
        Console().print(table)
        return
    if title:
        sys.stdout.write(f"{title}\n")
    widths = [_width(column) for column in columns]
    for row in cells:
        widths = [max(w, _width(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in [list(columns), *cells]:
        padded = [cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)]
        sys.stdout.write("  ".join(padded).rstrip() + "\n")


def print_pairs(pairs: Sequence[tuple[str, Any]], title: str | None = None) -> None:
    """Key/value lines (``key: value``), a two-column table on a TTY."""
    print_table(["field", "value"], [(key, value) for key, value in pairs], title)


@contextmanager
def progress_bar(title: str, enabled: bool = True) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` callback drawing a rich bar on a TTY; None elsewhere."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(title, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def message(text: str) -> None:
    """A line for the operator on stderr (never parsed by scripts); silent under ``-q``, a JSON
    log line under ``--log-json``."""
    logger = logging.getLogger(LOGGER)
    if logger.level >= logging.ERROR:
        return
    if logs_as_json(logger):
        logger.info(text)
        return
    sys.stderr.write(text + "\n")


def _text(cell: Any) -> str:
    if isinstance(cell, float):
        return f"{cell:,.4g}" if abs(cell) < 1e4 else f"{cell:,.0f}"
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    return str(cell)


def _width(text: str) -> int:
    """Display width: Hangul and other wide characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
