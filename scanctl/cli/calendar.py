"""`scanctl calendar …`: sessions, closures and special hours (XKRX + overrides)."""

from __future__ import annotations

from typing import Annotated

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import JsonOpt, WideOpt
from scanctl.cli.output import Column, message, print_json, print_pairs, print_table
from scanctl.cli.params import choices
from scanctl.market.calendar import OVERRIDE_KINDS

app = typer.Typer(no_args_is_help=True)
overrides_app = typer.Typer(no_args_is_help=True)
app.add_typer(overrides_app, name="overrides", help="Operator overrides (calendar_overrides).")


def _session_record(info) -> dict:
    return {
        "date": info.date.isoformat(),
        "is_session": info.is_session,
        "open": info.open.isoformat() if info.open else None,
        "close": info.close.isoformat() if info.close else None,
        "reason": info.reason,
        "source": info.source,
    }


def _show_session(info, as_json: bool) -> None:
    record = _session_record(info)
    if as_json:
        print_json(record)
        return
    state = "session" if info.is_session else "closed"
    hours = f"{info.open:%H:%M}–{info.close:%H:%M} KST" if info.is_session and info.open else "-"
    print_pairs(
        [
            ("date", record["date"]),
            ("status", state),
            ("hours", hours),
            ("reason", info.reason or "-"),
            ("source", info.source),
        ]
    )


@app.command("check")
def check(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(help="Date (YYYY-MM-DD, YYYYMMDD, today).")] = "today",
    as_json: JsonOpt = False,
) -> None:
    """Is DATE a KRX session? Open and close times (KST) and the reason.

    Example: scanctl calendar check 2025-06-03
    """
    from scanctl.clock import parse_date
    from scanctl.market.calendar import KrxCalendar

    date = parse_date(day, "date")
    _show_session(KrxCalendar.from_db(app_context(ctx).db()).check(date), as_json)


@app.command("next")
def next_(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(help="Start date (exclusive).")] = "today",
    as_json: JsonOpt = False,
) -> None:
    """The next session after DATE (default today), with its hours.

    Example: scanctl calendar next
    """
    from scanctl.clock import parse_date
    from scanctl.market.calendar import KrxCalendar

    calendar = KrxCalendar.from_db(app_context(ctx).db())
    _show_session(calendar.check(calendar.next_session(parse_date(day, "date"))), as_json)


@app.command("previous")
def previous(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(help="Start date (exclusive).")] = "today",
    iso: Annotated[bool, typer.Option("--iso", help="Print only the date (for scripts).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The last session before DATE (default today in Seoul): Friday on a Monday, the day before
    a closure's first day after it.

    Example: scanctl data sync --date $(scanctl calendar previous --iso)
    """
    from scanctl.clock import parse_date
    from scanctl.market.calendar import KrxCalendar

    calendar = KrxCalendar.from_db(app_context(ctx).db())
    session = calendar.previous_session(parse_date(day, "date"))
    if iso:
        print(session.isoformat())
        return
    _show_session(calendar.check(session), as_json)


@overrides_app.command("list")
def overrides_list(ctx: typer.Context, as_json: JsonOpt = False, wide: WideOpt = False) -> None:
    """Operator overrides, then the overrides shipped with scanctl.

    Example: scanctl calendar overrides list
    """
    from scanctl.market.calendar import list_overrides, shipped_overrides

    def row(override, origin: str) -> dict:
        return {
            "date": override.date.isoformat(),
            "kind": override.kind,
            "open_time": override.open_time.strftime("%H:%M") if override.open_time else None,
            "close_time": override.close_time.strftime("%H:%M") if override.close_time else None,
            "reason": override.reason,
            "origin": origin,
        }

    rows = [row(o, "operator") for o in list_overrides(app_context(ctx).db())]
    rows += [row(o, "shipped") for o in sorted(shipped_overrides().values(), key=lambda o: o.date)]
    if as_json:
        print_json(rows)
        return
    columns = ["date", "kind", "open_time", "close_time", "reason", "origin"]
    print_table(
        [*columns[:4], Column("reason", wrap=True), Column("origin", drop=1)],
        [[r[c] for c in columns] for r in rows],
        title="Calendar overrides",
        wide=wide,
    )


@overrides_app.command("add")
def overrides_add(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(help="Date of the override.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind", metavar=choices(OVERRIDE_KINDS), help="Closed all day, or a session."
        ),
    ] = "closed",
    open_time: Annotated[
        str | None, typer.Option("--open", metavar="HH:MM", help="Opening time (KST).")
    ] = None,
    close_time: Annotated[
        str | None, typer.Option("--close", metavar="HH:MM", help="Closing time (KST).")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (shown by check).")] = "",
) -> None:
    """Add or replace an operator override (it wins over XKRX and shipped rows).

    Example: scanctl calendar overrides add 2026-06-03 --kind closed --reason "local elections"
    """
    from scanctl.clock import parse_date
    from scanctl.market.calendar import Override, add_override, parse_time

    override = Override(
        date=parse_date(day, "date"),
        kind=kind,
        open_time=parse_time(open_time, "open") if open_time else None,
        close_time=parse_time(close_time, "close") if close_time else None,
        reason=reason,
    )
    add_override(app_context(ctx).db(), override)
    message(f"override {override.date.isoformat()} {override.kind} saved")


@overrides_app.command("remove")
def overrides_remove(
    ctx: typer.Context, day: Annotated[str, typer.Argument(help="Date of the override.")]
) -> None:
    """Remove an operator override.

    Example: scanctl calendar overrides remove 2026-06-03
    """
    from scanctl.clock import parse_date
    from scanctl.errors import BadInput
    from scanctl.market.calendar import remove_override

    date = parse_date(day, "date")
    if not remove_override(app_context(ctx).db(), date):
        raise BadInput(f"no operator override on {date.isoformat()}")
    message(f"override {date.isoformat()} removed")
