"""`scanctl notify …`: send a test message, resend what failed, confirm what arrived, show the
outbox."""

from __future__ import annotations

from typing import Annotated

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import DateOpt, JsonOpt, WideOpt
from scanctl.cli.output import Column, message, print_json, print_table

app = typer.Typer(no_args_is_help=True)
ERROR = Column("error", wrap=True)


def _report(report, as_json: bool) -> None:
    if as_json:
        print_json(report.to_record())
    else:
        print_table(
            ["date", "kind", "channel", "status", Column("attempts", drop=1), ERROR],
            [
                [o.date, o.kind, o.channel, o.status, o.attempts, o.error or ""]
                for o in report.outcomes
            ],
        )
        if not report.outcomes:
            message("nothing to do")
    if not report.ok:
        from scanctl.errors import NotifyFailed

        hint = "see `scanctl notify status`"
        if report.status == "unknown":
            hint = (
                "the message may have arrived: check the channel, then `scanctl notify confirm`"
                " or `scanctl notify retry --resend-unknown`"
            )
        raise NotifyFailed(f"delivery {report.status}; {hint}")


@app.command("test")
def test(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Send a test message to every configured channel (exit 5 unless all confirm); takes
    the run lock.

    Example: scanctl notify test
    """
    from scanctl.notify.service import test_all_channels
    from scanctl.store.lock import run_lock

    context = app_context(ctx)
    settings = context.settings.notify
    db = context.db()
    with run_lock(context.lock_path()):
        _report(test_all_channels(db, settings), as_json)


@app.command("retry")
def retry(
    ctx: typer.Context,
    date: DateOpt = None,
    resend_unknown: Annotated[
        bool,
        typer.Option(
            "--resend-unknown",
            help="Also resend messages whose delivery is unknown (they may arrive twice).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Settle unknown deliveries the channel can look up (Solapi), then resend pending and
    failed rows; never a sent one, an unknown one only with --resend-unknown. Takes the run
    lock; exit 5 while a row is failed or unknown.

    Example: scanctl notify retry --date 2025-11-28
    """
    from scanctl.clock import parse_date
    from scanctl.notify.service import retry_outbox
    from scanctl.store.lock import run_lock

    context = app_context(ctx)
    settings = context.settings.notify
    day = parse_date(date, "date") if date else None
    db = context.db()
    with run_lock(context.lock_path()):
        _report(retry_outbox(db, settings, day, resend_unknown=resend_unknown), as_json)


@app.command("confirm")
def confirm(
    ctx: typer.Context,
    date: DateOpt = None,
    channel: Annotated[
        str | None,
        typer.Option("--channel", metavar="NAME", help="Only this channel's rows."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark messages whose delivery is unknown as sent: you saw them arrive. Takes the run
    lock.

    Example: scanctl notify confirm --date 2025-11-28 --channel ops
    """
    from scanctl.clock import parse_date
    from scanctl.notify.settle import confirm_delivered
    from scanctl.store.lock import run_lock

    context = app_context(ctx)
    day = parse_date(date, "date") if date else None
    db = context.db()
    with run_lock(context.lock_path()):
        _report(confirm_delivered(db, date=day, channel=channel), as_json)


@app.command("status")
def status(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show.")] = 20,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """The notification outbox, newest first.

    Example: scanctl notify status --json
    """
    from scanctl.notify.outbox import outbox_status

    rows = outbox_status(app_context(ctx).db(), limit=limit)
    if as_json:
        print_json([row.to_record() for row in rows])
        return
    print_table(
        ["date", "kind", "channel", "status", Column("attempts", drop=2)]
        + [Column("sent", drop=1), ERROR],
        [
            [r.date, r.kind, r.channel, r.status, r.attempts, r.sent_at or "", r.last_error or ""]
            for r in rows
        ],
        title="Notifications",
        wide=wide,
    )
