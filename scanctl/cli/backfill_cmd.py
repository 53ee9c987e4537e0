"""`scanctl backfill`: rescan past sessions from stored data (no notifications)."""

from __future__ import annotations

from typing import Annotated

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import JsonOpt, VersionOpt
from scanctl.cli.output import message, print_json, print_table, progress


def backfill(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help="First date (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last date (YYYY-MM-DD).")],
    version: VersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rescan every session in a range from stored bars; each (date, version) is replaced.

    Example: scanctl backfill --from 2025-09-01 --to 2025-11-28 --version all
    """
    from scanctl.clock import check_range, parse_date
    from scanctl.engines.selection import versions_for
    from scanctl.jobs.backfill import run_backfill

    context = app_context(ctx)
    first, last = parse_date(start, "from"), parse_date(end, "to")
    check_range(first, last)
    settings = context.settings
    db = context.db()
    args = (
        db,
        context.lock_path(),
        settings,
        first,
        last,
        versions_for(db, version),
    )
    with progress("backfill", "sessions", enabled=not as_json) as shown:
        outcome = run_backfill(
            *args, progress=lambda number, total, day: shown.advance(number - 1, total, str(day))
        )
    if as_json:
        print_json(outcome.to_record())
        raise typer.Exit(outcome.exit_code)
    rows = [
        [day, *(f"{r['status']} {r['matched_count'] or 0}" for r in results.values())]
        for day, results in outcome.scanned.items()
    ]
    print_table(["date", *outcome.versions], rows, title="Backfill")
    for day, why in outcome.skipped.items():
        message(f"skipped {day}: {why}")
    message(
        f"backfill {outcome.start} … {outcome.end}: {len(outcome.scanned)} sessions scanned, "
        f"{len(outcome.skipped)} skipped, {outcome.failures} version failures"
    )
    raise typer.Exit(outcome.exit_code)
