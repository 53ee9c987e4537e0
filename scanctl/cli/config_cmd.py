"""`scanctl config show`: the effective configuration, secrets masked."""

from __future__ import annotations

import typer

from scanctl.cli.context import app_context
from scanctl.cli.options import JsonOpt
from scanctl.cli.output import print_json

app = typer.Typer(no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print the effective configuration (defaults, file, SCANCTL_* variables); secrets masked.

    Example: SCANCTL_SCAN_KOSPI_LIMIT=50 scanctl config show
    """
    from scanctl.config import render_toml

    settings = app_context(ctx).settings
    masked = settings.masked()
    if as_json:
        print_json({"path": str(settings.path) if settings.path else None, "sections": masked})
        return
    source = str(settings.path) if settings.path else "no config file (defaults)"
    print(f"# {source}")
    print(render_toml(masked), end="")


@app.command("keys")
def keys(as_json: JsonOpt = False) -> None:
    """Every configuration key: section, default, accepted values and meaning.

    Example: scanctl config keys --json | jq '.[] | select(.section == "scan")'
    """
    from scanctl.settings import declared_keys, reference_markdown

    if as_json:
        print_json(
            [
                {**vars(doc), "env": doc.env, "default": None if doc.secret else doc.default}
                for doc in declared_keys()
            ]
        )
        return
    print(reference_markdown(), end="")
