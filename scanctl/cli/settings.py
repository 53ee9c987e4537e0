"""`scanctl settings …`: the operator settings in scanner_settings."""

from __future__ import annotations

from typing import Annotated

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import JsonOpt, WideOpt
from scanctl.cli.output import Column, message, print_json, print_table

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False, wide: WideOpt = False) -> None:
    """Every setting with its value, whether it is the default, and what it means.

    Example: scanctl settings list
    """
    from scanctl.engines.selection import list_settings

    rows = list_settings(app_context(ctx).db())
    if as_json:
        print_json([vars(row) for row in rows])
        return
    print_table(
        ["key", "value", Column("default", drop=2), Column("updated", drop=1)]
        + [Column("description", wrap=True)],
        [(r.key, r.value, r.is_default, r.updated_at or "", r.description) for r in rows],
        wide=wide,
    )


@app.command("get")
def get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="KEY", help="Setting key (`settings list`).")],
) -> None:
    """Print one setting's value.

    Example: scanctl settings get active_engine
    """
    from scanctl.engines.selection import get_setting

    print(get_setting(app_context(ctx).db(), key))


@app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="KEY", help="Setting key (`settings list`).")],
    value: Annotated[str, typer.Argument(metavar="VALUE", help="New value.")],
) -> None:
    """Change a setting (validated: e.g. active_engine takes v1, v2 or v3).

    Example: scanctl settings set active_engine v2
    """
    from scanctl.engines.selection import set_setting

    stored = set_setting(app_context(ctx).db(), key, value)
    message(f"{key} = {stored}")
