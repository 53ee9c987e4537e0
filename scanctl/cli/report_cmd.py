"""`scanctl report`: the daily page, one self-contained HTML file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import DateOpt
from scanctl.cli.output import message


def report(
    ctx: typer.Context,
    date: DateOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the page to this file (replaced atomically); default: stdout.",
        ),
    ] = None,
) -> None:
    """The daily page of a date (default: the latest with picks): each version's picks with
    charts, near misses and run record, the market condition and the track record, in one
    HTML file that loads nothing from elsewhere.

    Example: scanctl report --out /var/www/scanctl/index.html
    """
    from scanctl.clock import parse_date
    from scanctl.reports.page import render_page, write_page

    context = app_context(ctx)
    day = parse_date(date, "date") if date else None
    page = render_page(context.db(), context.settings.run, day)
    if out is None:
        sys.stdout.write(page)
        return
    write_page(page, out)
    message(f"wrote {out}")
