"""`scanctl show`, `runs` and `status`: what the daily job stored and how it went."""

from __future__ import annotations

from typing import Annotated

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import JsonOpt, VersionOpt, WideOpt
from scanctl.cli.output import (
    Column,
    message,
    print_csv,
    print_json,
    print_pairs,
    print_table,
)

SHOW_TABLE = [
    Column("ver"),
    Column("rank"),
    Column("code"),
    Column("name", wrap=True),
    Column("score"),
    Column("label", drop=2),
    Column("strategy", drop=1),
    Column("close"),
    Column("chg"),
]
RUNS_TABLE = [
    Column("date"),
    Column("version"),
    Column("trigger", drop=3),
    Column("started", drop=4),
    Column("time", drop=2),
    Column("status"),
    Column("universe", drop=1),
    Column("matched"),
    Column("error", wrap=True),
]


def _versions(value: str | None) -> tuple[str, ...] | None:
    from scanctl.engines.registry import filter_versions

    return filter_versions(value)


def show(
    ctx: typer.Context,
    date: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD, YYYYMMDD or 'latest'.")
    ] = None,
    version: VersionOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Rows per version.")] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV on stdout.")] = False,
    wide: WideOpt = False,
) -> None:
    """Stored picks of a date (default: the latest), per version, by rank.

    Example: scanctl show --version v3 --limit 5
    """
    from scanctl.errors import BadInput
    from scanctl.reports.history import SHOW_COLUMNS, parse_show_date, stored_picks

    if as_json and as_csv:
        raise BadInput("use just one of --json or --csv")
    shown, rows = stored_picks(
        app_context(ctx).db(), parse_show_date(date), _versions(version), limit
    )
    if as_json:
        print_json({"date": shown, "picks": rows})
        return
    columns = [c for c in SHOW_COLUMNS if c != "flags"]
    if as_csv:
        print_csv(columns, [[row[c] for c in columns] for row in rows])
        return
    if not rows:
        message(f"no stored picks{' for ' + shown if shown else ''}; run `scanctl scan`")
        return
    table = [
        [
            row["scanner_version"],
            row["rank"] or "-",
            row["code"],
            row["name"],
            "-" if row["score"] is None else f"{row['score']:.2f}",
            row["score_label"],
            row["strategy"] or "-",
            row["close_price"] if row["close_price"] is not None else "-",
            "-" if row["change_rate"] is None else f"{row['change_rate']:+.2f}%",
        ]
        for row in rows
    ]
    print_table(SHOW_TABLE, table, title=f"Picks of {shown}", wide=wide)


def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show.")] = 20,
    version: VersionOpt = None,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Run history: per version start, duration, status, universe and matched counts, error;
    --json adds each run's record (market condition, parameters, universe, counts, steps).

    Example: scanctl runs --limit 10 --json
    """
    from scanctl.reports.history import run_history

    rows = run_history(app_context(ctx).db(), limit, _versions(version), records=as_json)
    if as_json:
        print_json(rows)
        return
    print_table(
        RUNS_TABLE,
        [
            [
                r["date"],
                r["scanner_version"],
                r["trigger"],
                _local_time(r["started_at"]),
                "-" if r["duration_s"] is None else f"{r['duration_s']:.2f}s",
                r["status"],
                r["universe_count"] if r["universe_count"] is not None else "-",
                r["matched_count"] if r["matched_count"] is not None else "-",
                r["error"] or "",
            ]
            for r in rows
        ],
        title="Runs",
        wide=wide,
    )


def _local_time(stamp: str | None) -> str:
    """``2026-01-05T15:42:07.123+09:00`` as ``2026-01-05 15:42:07`` (every stamp is KST)."""
    return (stamp or "")[:19].replace("T", " ")


def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Did the last run deliver, and can the next one? Every check; exit 1 if one fails.

    Example: scanctl status --json || alert "scanctl unhealthy"
    """
    from scanctl.market.calendar import KrxCalendar
    from scanctl.reports.status import status as run_checks

    context = app_context(ctx)
    db = context.db()
    lock = context.lock_path()
    report = run_checks(db, KrxCalendar.from_db(db), lambda: context.settings, lock)
    if as_json:
        print_json(report.to_record())
        raise typer.Exit(0 if report.healthy else 1)
    pairs: list[tuple[str, object]] = [("healthy", report.healthy)]
    for version, last in report.latest.items():
        text = "never run"
        if last:
            text = f"{last['status']} on {last['date']} ({last['matched_count']} matched)"
        rate = report.success_rate_30d.get(version)
        if rate is not None:
            text += f", {rate:.0%} ok over 30 days"
        pairs.append((version, text))
    outbox = ", ".join(f"{k} {v}" for k, v in sorted(report.notifications.items())) or "empty"
    pairs.append(("notifications", outbox))
    pairs += [
        (check.name, ("ok: " if check.ok else "FAIL: ") + check.why.split(": ", 1)[-1])
        for check in report.checks
    ]
    print_pairs(pairs, title="scanctl status")
    raise typer.Exit(0 if report.healthy else 1)
