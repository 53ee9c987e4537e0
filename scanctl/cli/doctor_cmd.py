"""`scanctl doctor`: one line per installation check; exit 1 when any fails."""

from __future__ import annotations

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import JsonOpt
from scanctl.cli.output import Column, print_json, print_table


def doctor(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Check the store, schema, calendar horizon, data freshness, channels and lock location.

    Example: scanctl doctor || echo "fix the lines marked FAIL"
    """
    from scanctl.reports.doctor import run_checks

    context = app_context(ctx)
    checks = run_checks(context.resolved_db_path(), lambda: (context.sources, "valid"))
    if as_json:
        print_json([check.to_record() for check in checks])
    else:
        print_table(
            ["check", "result", Column("detail", wrap=True)],
            [[c.name, "ok" if c.ok else "FAIL", c.detail] for c in checks],
        )
    raise typer.Exit(0 if all(check.ok for check in checks) else 1)
