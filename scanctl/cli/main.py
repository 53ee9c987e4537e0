"""The `scanctl` command: global options, command groups and the one error-to-exit-code map.

Only typer, the stdlib and scanctl.cli are imported here; each command imports the library it
needs inside its body, so `scanctl --help` never loads pandas or exchange_calendars.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from scanctl.cli import (
    backfill_cmd,
    calendar,
    config_cmd,
    data,
    doctor_cmd,
    evaluate_cmd,
    history_cmd,
    inspect_cmd,
    notify_cmd,
    report_cmd,
    scan_cmd,
    settings,
)
from scanctl.cli.context import AppContext
from scanctl.errors import ScanctlError


class ScanctlGroup(TyperGroup):
    """Maps every ScanctlError to its one-line message and exit code (PRODUCT.md §3)."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except ScanctlError as exc:
            sys.stderr.write(f"scanctl: error: {exc}\n")
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("scanctl: interrupted\n")
            raise typer.Exit(130) from None
        except Exception as exc:  # broad-except: last resort, exit 1 instead of a traceback
            obj = ctx.obj if isinstance(ctx.obj, AppContext) else None
            if obj is not None and obj.verbose:
                raise
            sys.stderr.write(
                f"scanctl: internal error: {type(exc).__name__}: {exc} (run with -v for details)\n"
            )
            raise typer.Exit(1) from None
        finally:
            if isinstance(ctx.obj, AppContext):
                ctx.obj.close()


app = typer.Typer(
    cls=ScanctlGroup,
    name="scanctl",
    help="Daily KOSPI/KOSDAQ stock scanner: engines v1/v2/v3, stored picks, one notification.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)
app.add_typer(data.app, name="data", help="Import, sync and inspect market data.")
app.add_typer(calendar.app, name="calendar", help="KRX sessions, closures and special hours.")
app.add_typer(settings.app, name="settings", help="Operator settings (scanner_settings).")
app.add_typer(config_cmd.app, name="config", help="The effective configuration.")
app.add_typer(notify_cmd.app, name="notify", help="Test, retry and inspect notifications.")
app.command("scan")(scan_cmd.scan)
app.command("show")(history_cmd.show)
app.command("runs")(history_cmd.runs)
app.command("status")(history_cmd.status)
app.command("inspect")(inspect_cmd.inspect)
app.command("backfill")(backfill_cmd.backfill)
app.command("evaluate")(evaluate_cmd.evaluate)
app.command("doctor")(doctor_cmd.doctor)
app.command("report")(report_cmd.report)


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option("--db", envvar="SCANCTL_DB", help="SQLite store (default: XDG data dir)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="SCANCTL_CONFIG", help="TOML configuration file."),
    ] = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log lines as JSON.")] = False,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More logs.")] = 0,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Errors only.")] = False,
) -> None:
    """Daily KOSPI/KOSDAQ stock scanner."""
    from scanctl.logs import configure_logging

    configure_logging(verbose=verbose, quiet=quiet, as_json=log_json)
    ctx.obj = AppContext(
        db_path=db, config_path=config, log_json=log_json, verbose=verbose, quiet=quiet
    )


def run() -> None:
    """Console-script entry point."""
    app(prog_name="scanctl")
