"""Rendering: rich tables on a terminal, plain aligned text otherwise, JSON/CSV for scripts.

Data goes to stdout; messages, progress and errors go to stderr. A table on a terminal fits its
width without cutting a cell: text columns wrap between words, low-value columns are left out
(``--wide`` keeps them), and what still does not fit runs past the edge rather than being cut.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from scanctl.logs import LOGGER, get_logger, logs_as_json

GAP = 2  # columns between two table columns
WRAP_MIN = 12  # a wrapping column is at least this wide (or as wide as its text)


@dataclass(frozen=True)
class Column:
    """A table column. ``wrap``: its text may wrap between words (names, errors); ``drop`` > 0:
    a narrow terminal may leave it out, ``drop=1`` first, then 2, …"""

    name: str
    wrap: bool = False
    drop: int = 0


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
    columns: Sequence[str | Column],
    rows: Sequence[Sequence[Any]],
    title: str | None = None,
    wide: bool = False,
) -> None:
    """A rich table fitted to the terminal (every column with ``wide``); elsewhere a plain,
    column-aligned text table with every column."""
    specs = [column if isinstance(column, Column) else Column(column) for column in columns]
    cells = [["" if cell is None else _text(cell) for cell in row] for row in rows]
    if stdout_is_tty():
        _rich_table(specs, cells, title, wide)
        return
    if title:
        sys.stdout.write(f"{title}\n")
    widths = [_width(spec.name) for spec in specs]
    for row in cells:
        widths = [max(w, _width(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in [[spec.name for spec in specs], *cells]:
        padded = [cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)]
        sys.stdout.write((" " * GAP).join(padded).rstrip() + "\n")


def print_pairs(pairs: Sequence[tuple[str, Any]], title: str | None = None) -> None:
    """Key/value lines (``key: value``), a two-column table on a TTY."""
    print_table(
        ["field", Column("value", wrap=True)], [(key, value) for key, value in pairs], title
    )


def fit_columns(
    specs: Sequence[Column], cells: Sequence[Sequence[str]], width: int, wide: bool = False
) -> tuple[list[int], list[int]]:
    """The columns a table of ``width`` terminal columns shows and each one's width.

    Every cell keeps its whole words: a fixed column is as wide as its widest cell, a wrapping
    one at least as wide as its longest word. Columns are left out (``drop=1`` first) until
    that fits, or none is left to drop; the room left is shared by the wrapping columns.
    """
    natural = [
        max([_width(spec.name), *(_width(row[i]) for row in cells)]) for i, spec in enumerate(specs)
    ]
    least = [
        max(_longest_word([spec.name, *(row[i] for row in cells)]), min(natural[i], WRAP_MIN))
        if spec.wrap
        else natural[i]
        for i, spec in enumerate(specs)
    ]
    keep = list(range(len(specs)))

    def needed(columns: list[int]) -> int:
        return sum(least[i] for i in columns) + GAP * (len(columns) - 1)

    if wide:
        return keep, [natural[i] for i in keep]
    while needed(keep) > width and any(specs[i].drop for i in keep):
        keep.remove(min((i for i in keep if specs[i].drop), key=lambda i: specs[i].drop))
    widths = {i: least[i] for i in keep}
    room = width - needed(keep)
    for i in keep:
        if specs[i].wrap and room > 0:
            grow = min(natural[i] - least[i], room)
            widths[i] += grow
            room -= grow
    return keep, [widths[i] for i in keep]


def _rich_table(specs: list[Column], cells: list[list[str]], title: str | None, wide: bool):
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    keep, widths = fit_columns(specs, cells, console.width, wide)
    console.width = max(console.width, sum(widths) + GAP * (len(widths) - 1))
    table = Table(
        title=title,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, GAP - 1, 0, 0),
    )
    for i, width in zip(keep, widths, strict=True):
        table.add_column(specs[i].name, width=width, no_wrap=not specs[i].wrap, overflow="fold")
    for row in cells:
        table.add_row(*(row[i] for i in keep))
    console.print(table)


class Progress:
    """One progress display for every command: a rich bar on a terminal (stderr), plain log
    lines elsewhere (each step, each tenth of a count), nothing when disabled."""

    def __init__(self, title: str, unit: str = "", bar: Any = None, lines: bool = True) -> None:
        self.title, self.unit, self.bar, self.lines = title, unit, bar, lines
        self.task = bar.add_task(title, total=None) if bar is not None else None
        self.tenth = -1

    def step(self, text: str) -> None:
        """A named step (``load``, ``v2``) of a run whose length is not known."""
        if self.bar is not None:
            self.bar.update(self.task, description=f"{self.title}: {text}")
        elif self.lines:
            get_logger("progress").info(f"{text} …")

    def advance(self, done: int, total: int, text: str | None = None) -> None:
        """``done`` of ``total`` finished; ``text`` says what is under way."""
        if self.bar is not None:
            label = f"{self.title} {text}" if text else self.title
            self.bar.update(self.task, completed=done, total=total, description=label)
            return
        tenth = 10 * done // total if total else 10
        if self.lines and tenth > self.tenth:
            self.tenth = tenth
            now = f", now {text}" if text else ""
            get_logger("progress").info(f"{done:,} of {total:,} {self.unit} done{now}")


@contextmanager
def progress(title: str, unit: str = "", enabled: bool = True) -> Iterator[Progress]:
    """The `Progress` of a command: a bar when stderr is a terminal and logs are text lines;
    ``unit`` names what ``advance`` counts (``tickers``)."""
    logger = logging.getLogger(LOGGER)
    if not (enabled and sys.stderr.isatty() and not logs_as_json(logger)):
        yield Progress(title, unit, lines=enabled)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as Bar

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn())
    with Bar(
        *columns,
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        yield Progress(title, unit, bar)


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


def _longest_word(texts: Sequence[str]) -> int:
    return max((_width(word) for text in texts for word in text.split()), default=0)


def _width(text: str) -> int:
    """Display width: Hangul and other wide characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
