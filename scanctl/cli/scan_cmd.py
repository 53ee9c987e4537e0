"""`scanctl scan`: the daily job cron runs at 15:42 KST (PRODUCT.md §5)."""

from __future__ import annotations

from typing import Annotated

import typer

from scanctl.cli.context import app_context, run_trigger
from scanctl.cli.options import DateOpt, JsonOpt, VersionOpt
from scanctl.cli.output import Column, message, print_json, print_table, progress


def engines_help() -> str:
    """One paragraph per registered engine, from its description (the help's epilog)."""
    from scanctl.engines.registry import engines

    return "\n\n".join(f"{name}: {spec.description}" for name, spec in engines().items())


SUMMARY_TABLE = [
    Column("version"),
    Column("status"),
    Column("universe", drop=1),
    Column("matched"),
    Column("time", drop=2),
    Column("top picks", wrap=True),
]


def scan(
    ctx: typer.Context,
    version: VersionOpt = None,
    date: DateOpt = None,
    kospi_limit: Annotated[
        int | None, typer.Option("--kospi-limit", help="Top-N KOSPI by value (0 = all).")
    ] = None,
    kosdaq_limit: Annotated[
        int | None, typer.Option("--kosdaq-limit", help="Top-N KOSDAQ by value (0 = all).")
    ] = None,
    sync: Annotated[bool, typer.Option("--sync", help="Fetch the date's bars first.")] = False,
    no_save: Annotated[bool, typer.Option("--no-save", help="Compute and print only.")] = False,
    no_notify: Annotated[bool, typer.Option("--no-notify", help="Send no message.")] = False,
    renotify: Annotated[
        bool, typer.Option("--renotify", help="Send the daily message again even if sent.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Scan today even before the close + margin.")
    ] = False,
    catch_up: Annotated[
        bool,
        typer.Option(
            "--catch-up",
            help="First heal the last completed sessions ([scan] catch_up_sessions) that lack "
            "bars (with --sync) or results.",
        ),
    ] = False,
    allow_gaps: Annotated[
        bool,
        typer.Option(
            "--allow-gaps", help="Scan even when a session of the lookback has no stored bars."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the engines for a date, store the picks, send the one daily notification.

    Example: scanctl scan --version all
    """
    from scanctl.clock import parse_date
    from scanctl.engines.selection import versions_for
    from scanctl.jobs.daily import ScanRequest, run_scan

    context = app_context(ctx)
    # Everything the user typed is resolved before the lock, the healthcheck ping or a write.
    settings = context.settings_with(
        {"scan": {"kospi_limit": kospi_limit, "kosdaq_limit": kosdaq_limit}}
    )
    day = parse_date(date, "date") if date else None
    db = context.db()
    request = ScanRequest(
        versions=versions_for(db, version),
        date=day,
        sync=sync,
        catch_up=catch_up,
        allow_gaps=allow_gaps,
        save=not no_save,
        notify=not (no_notify or no_save),
        renotify=renotify,
        force=force,
        trigger=run_trigger(),
    )
    lock = context.lock_path()
    with progress("scan", enabled=not as_json) as shown:
        outcome = run_scan(db, lock, settings, request, shown.step)
    if as_json:
        print_json(outcome.to_record())
    else:
        message(outcome.message)
        if not no_save or outcome.versions:
            _print_summary(outcome)
    raise typer.Exit(outcome.exit_code)


def _print_summary(outcome) -> None:
    rows = []
    for version, result in outcome.versions.items():
        top = ", ".join(f"{p.name}({p.ticker})" for p in result.picks[:3])
        rows.append(
            [
                version,
                result.status,
                result.universe_count,
                result.matched_count,
                f"{result.duration_s:.2f}s" if result.duration_s is not None else "-",
                top or ("-" if result.status == "ok" else (result.error or "").split("\n")[0]),
            ]
        )
    if rows:
        print_table(SUMMARY_TABLE, rows)
