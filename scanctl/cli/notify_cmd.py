"""`scanctl notify …`: send a test message, resend what failed, show the outbox."""

from __future__ import annotations

from typing import Annotated

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import DateOpt, JsonOpt
from scanctl.cli.output import message, print_json, print_table

app = typer.Typer(no_args_is_help=True)


def _report(report, as_json: bool) -> None:
    if as_json:
        print_json(report.to_record())
    else:
        print_table(
            ["date", "kind", "channel", "status", "attempts", "error"],
            [
                [o.date, o.kind, o.channel, o.status, o.attempts, o.error or ""]
                for o in report.outcomes
            ],
        )
        if not report.outcomes:
            message("nothing to send")
    if not report.ok:
        from scanctl.errors import NotifyFailed

        raise NotifyFailed(f"delivery {report.status}; see `scanctl notify status`")


@app.command("test")
def test(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Send a test message to every configured channel (exit 5 if one fails).

    Example: scanctl notify test
    """
    from scanctl.notify.service import test_all_channels

    context = app_context(ctx)
    settings = context.settings.notify
    _report(test_all_channels(context.db(), settings), as_json)


@app.command("retry")
def retry(ctx: typer.Context, date: DateOpt = None, as_json: JsonOpt = False) -> None:
    """Resend pending and failed outbox rows (never a sent one); takes the run lock.

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
        _report(retry_outbox(db, settings, day), as_json)


@app.command("status")
def status(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show.")] = 20,
    as_json: JsonOpt = False,
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
        ["date", "kind", "channel", "status", "attempts", "sent", "error"],
        [
            [r.date, r.kind, r.channel, r.status, r.attempts, r.sent_at or "", r.last_error or ""]
            for r in rows
        ],
        title="Notifications",
    )
