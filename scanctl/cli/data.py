"""`scanctl data …`: import CSV files, build the demo market, show coverage."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import DateOpt, JsonOpt
from scanctl.cli.output import message, print_json, print_table, progress
from scanctl.cli.params import choices
from scanctl.providers.names import DEFAULT_PROVIDER, PROVIDERS

app = typer.Typer(no_args_is_help=True)
STDIN = Path("-")


@app.command("import")
def import_(
    ctx: typer.Context,
    bars: Annotated[
        Path | None,
        typer.Argument(
            metavar="PATH", help="Bars CSV (date,ticker,open,…); - reads standard input."
        ),
    ] = None,
    tickers: Annotated[
        Path | None, typer.Option("--tickers", help="Ticker master CSV (- : standard input).")
    ] = None,
    indexes: Annotated[
        Path | None, typer.Option("--indexes", help="Index bars CSV (- : standard input).")
    ] = None,
) -> None:
    """Load bars, tickers and index bars from CSV (gzip accepted); all or nothing.

    Every row is checked before the store is opened; a file with one bad row stores nothing.
    Creates the store when it does not exist yet. Takes the writer lock (exit 75 when held).
    A file given as - is read from standard input.

    Example: scanctl data import ohlcv.csv.gz --tickers tickers.csv --indexes indexes.csv.gz
    """
    from scanctl.errors import BadInput
    from scanctl.store.importer import read_files, write_batch
    from scanctl.store.lock import run_lock

    files = [bars, tickers, indexes]
    if all(path is None for path in files):
        raise BadInput("nothing to import: give a bars file, --tickers or --indexes")
    if files.count(STDIN) > 1:
        raise BadInput("only one file can be read from standard input (-)")
    batch = read_files(*(sys.stdin.buffer if path == STDIN else path for path in files))
    context = app_context(ctx)
    db = context.db(create=True)
    with run_lock(context.lock_path()):
        report = write_batch(db, batch)
    span = f" {report.first_date} … {report.last_date}" if report.bars else ""
    message(
        f"imported {report.bars:,} bars on {report.bar_dates} dates{span}, "
        f"{report.tickers:,} tickers, {report.index_bars:,} index bars"
    )


@app.command("sync")
def sync(
    ctx: typer.Context,
    date: DateOpt = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First date of a range ending at --date.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            metavar=choices(PROVIDERS),
            help=f"Data source (default: the [data] provider setting, else {DEFAULT_PROVIDER}).",
        ),
    ] = None,
    reset_breaker: Annotated[
        bool, typer.Option("--reset-breaker", help="Close the source's circuit breaker first.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Fetch today's bars even before the close.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fetch the ticker master and the bars of a date (or range) behind validation gates.

    Creates the store when it does not exist yet. Takes the writer lock (exit 75 when held),
    so two syncs never fetch or write at once.

    Example: scanctl data sync --date 2025-11-28 --source naver
    """
    from scanctl.clock import parse_date
    from scanctl.market.calendar import KrxCalendar
    from scanctl.providers.breaker import reset_breaker as reset
    from scanctl.providers.sync import resolve_dates, run_sync
    from scanctl.store.lock import run_lock

    context = app_context(ctx)
    settings = context.settings
    name = source or settings.data.settings.provider
    day = parse_date(date, "date") if date else None
    first = parse_date(start, "from") if start else None
    db = context.db(create=True)
    with run_lock(context.lock_path()):
        if reset_breaker:
            message(f"circuit breaker of {name}: {'reset' if reset(db, name) else 'was closed'}")
        dates = resolve_dates(KrxCalendar.from_db(db), day, first)
        with progress(f"sync {name}", "tickers", enabled=not as_json) as shown:
            report = run_sync(
                db,
                settings.data,
                dates,
                source=name,
                progress=shown.advance,
                force=force,
                close_margin_minutes=settings.scan.close_margin_minutes,
            )
    if as_json:
        print_json(report.to_record())
        return
    message(f"sync {report.source}: {report.tickers:,} tickers, {report.total_s:.1f}s")


@app.command("status")
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Coverage: tickers, first/last date, bars on the last date, index series.

    Example: scanctl data status --json
    """
    from scanctl.store.coverage import data_coverage

    coverage = data_coverage(app_context(ctx).db())
    if as_json:
        print_json(coverage.to_record())
        return
    markets = ", ".join(f"{k} {v:,}" for k, v in coverage.tickers_by_market.items()) or "none"
    rows = [
        ("tickers", f"{coverage.tickers:,} ({markets})"),
        ("tickers with bars", f"{coverage.coded_tickers_with_bars:,}"),
        ("bars", f"{coverage.bars:,} on {coverage.dates:,} dates"),
        ("first date", coverage.first_date or "-"),
        ("last date", coverage.last_date or "-"),
        ("bars on last date", f"{coverage.bars_on_last_date:,}"),
        ("bars on previous date", f"{coverage.bars_on_previous_date:,}"),
    ]
    rows += [
        (f"index {ix.index_code}", f"{ix.bars:,} bars {ix.first_date} … {ix.last_date}")
        for ix in coverage.indexes
    ]
    print_table(["what", "stored"], rows, title="Market data")


@app.command("demo")
def demo(
    ctx: typer.Context,
    tickers: Annotated[int, typer.Option("--tickers", min=10, help="Number of tickers.")] = 2700,
    sessions: Annotated[int, typer.Option("--sessions", min=30, help="Number of sessions.")] = 400,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same market).")] = 0,
) -> None:
    """Build a deterministic synthetic market ending on the latest XKRX session (offline).

    Creates the store when it does not exist yet. Takes the writer lock (exit 75 when held).

    Example: scanctl --db demo.db data demo --tickers 500 --sessions 300 --seed 7
    """
    from scanctl.providers.demo import install_demo_market
    from scanctl.store.lock import run_lock

    context = app_context(ctx)
    db = context.db(create=True)
    with run_lock(context.lock_path()):
        report = install_demo_market(db, n_tickers=tickers, n_sessions=sessions, seed=seed)
    message(
        f"demo market: {report['tickers']:,} tickers, {report['bars']:,} bars, "
        f"{report['sessions']} sessions {report['first_date']} … {report['last_date']} "
        f"(seed {seed})"
    )
