"""The `scanctl` command: global options, command groups and the one error-to-exit-code map.

Only typer, the stdlib and scanctl.cli are imported here; each command imports the library it
needs inside its body, so `scanctl --help` never loads pandas or exchange_calendars. Help and
usage errors are plain text (``rich_markup_mode=None``): rich's help renderer alone would take
longer to import than ``--help`` may take in all.
"""

from __future__ import annotations

import os
import select
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from scanctl import __version__
from scanctl.cli import (
    backfill_cmd,
    calendar,
    completion,
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
from scanctl.cli.params import prepare
from scanctl.errors import ScanctlError

INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process stopped with Ctrl-C
CLOSED_PIPE = 141  # 128 + SIGPIPE, as a shell reports a writer whose reader went away


class ScanctlGroup(TyperGroup):
    """Maps every ScanctlError to its one-line message and exit code (PRODUCT.md §3), a usage
    error to one line and a hint (exit 2), a closed stdout to a quiet exit."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        prepare(self)

    def make_context(self, info_name: str | None, args: list[str], parent=None, **extra):  # type: ignore[override]
        try:
            return super().make_context(info_name, args, parent, **extra)
        except NoArgsIsHelpError:
            raise
        except ClickException as exc:
            raise typer.Exit(_usage_error(exc)) from None

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except ScanctlError as exc:
            sys.stderr.write(f"scanctl: error: {exc}\n")
            raise typer.Exit(exc.exit_code) from None
        except NoArgsIsHelpError:
            raise
        except ClickException as exc:
            raise typer.Exit(_usage_error(exc)) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("scanctl: interrupted\n")
            raise typer.Exit(INTERRUPTED) from None
        except BrokenPipeError as exc:
            if _silence_closed_outputs():
                raise typer.Exit(CLOSED_PIPE) from None
            raise _internal_error(exc) from None  # another pipe: a socket, a child
        except Exception as exc:  # broad-except: last resort, exit 1 instead of a traceback
            if isinstance(ctx.obj, AppContext) and ctx.obj.verbose:
                raise
            raise _internal_error(exc) from None
        finally:
            if isinstance(ctx.obj, AppContext):
                ctx.obj.close()

    def _main_shell_completion(self, ctx_args, prog_name: str, complete_var=None) -> None:  # type: ignore[override]
        request = os.environ.get(completion.COMPLETE_VAR)
        if request:
            sys.exit(completion.complete(self, ctx_args, prog_name, request))


def _internal_error(exc: Exception) -> typer.Exit:
    """One line naming an unexpected exception; the exit (1) to raise."""
    sys.stderr.write(
        f"scanctl: internal error: {type(exc).__name__}: {exc} (run with -v for details)\n"
    )
    return typer.Exit(1)


def _usage_error(exc: ClickException) -> int:
    """Print a usage error as one line and a hint; its exit code (2)."""
    text = exc.format_message()
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    sys.stderr.write(f"scanctl: error: {text}\n")
    ctx = exc.ctx if isinstance(exc, UsageError) else None
    if ctx is not None:
        sys.stderr.write(f"Try '{ctx.command_path} --help'.\n")
    return exc.exit_code


def _silence_closed_outputs() -> bool:
    """Point stdout and stderr at /dev/null where their reader has gone (``| head -1``), so no
    later flush fails; whether stdout had gone (else the broken pipe was another one)."""
    closed = False
    for stream in (sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # not a file (an in-process test runner)
            continue
        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        if any(event & select.POLLERR for _, event in poll.poll(0)):
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
            closed = closed or stream is sys.stdout
    return closed


def _print_version(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        sys.stdout.write(f"scanctl {__version__}\n")
        raise typer.Exit(0)


app = typer.Typer(
    cls=ScanctlGroup,
    name="scanctl",
    help="Daily KOSPI/KOSDAQ stock scanner: engines v1/v2/v3, stored picks, one notification."
    "\n\nGlobal options may also follow the command: scanctl runs --db demo.db.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(data.app, name="data", help="Import, sync and inspect market data.")
app.add_typer(calendar.app, name="calendar", help="KRX sessions, closures and special hours.")
app.add_typer(settings.app, name="settings", help="Operator settings (scanner_settings).")
app.add_typer(config_cmd.app, name="config", help="The effective configuration.")
app.add_typer(notify_cmd.app, name="notify", help="Test, retry and inspect notifications.")
app.command("scan", epilog=scan_cmd.engines_help())(scan_cmd.scan)
app.command("show")(history_cmd.show)
app.command("runs")(history_cmd.runs)
app.command("status")(history_cmd.status)
app.command("inspect")(inspect_cmd.inspect)
app.command("backfill")(backfill_cmd.backfill)
app.command("evaluate")(evaluate_cmd.evaluate)
app.command("doctor")(doctor_cmd.doctor)
app.command("report")(report_cmd.report)
app.command("completion")(completion.completion)


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            envvar="SCANCTL_DB",
            metavar="PATH",
            help="SQLite store (default: XDG data dir).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", envvar="SCANCTL_CONFIG", metavar="PATH", help="TOML configuration file."
        ),
    ] = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log lines as JSON.")] = False,
    verbose: Annotated[
        int, typer.Option("-v", "--verbose", count=True, show_default=False, help="More logs.")
    ] = 0,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Errors only.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "-V",
            "--version",
            is_eager=True,
            expose_value=False,
            callback=_print_version,
            help="Print scanctl's version and exit.",
        ),
    ] = False,
) -> None:
    """Daily KOSPI/KOSDAQ stock scanner."""
    ctx.obj = AppContext(
        db_path=db, config_path=config, log_json=log_json, verbose=verbose, quiet=quiet
    )
    ctx.obj.configure_logging()


def run() -> None:
    """Console-script entry point; a stdout whose reader went away ends it quietly."""
    try:
        app(prog_name="scanctl")
    except SystemExit as done:
        code = done.code
    else:
        code = 0
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_closed_outputs()
        code = CLOSED_PIPE
    sys.exit(code)
