"""Options shared by several commands, declared once (STYLE R3)."""

from __future__ import annotations

from typing import Annotated

import typer

from scanctl.cli.params import choices
from scanctl.engines.registry import ALL, names

DateOpt = Annotated[
    str | None,
    typer.Option("--date", help="Date as YYYY-MM-DD, YYYYMMDD or 'today' (Asia/Seoul)."),
]
VersionOpt = Annotated[
    str | None,
    typer.Option(
        "--version",
        metavar=choices([*names(), ALL]),
        help=f"Engine version, or a comma list such as {','.join(names()[-2:])}.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout for scripts.")]
WideOpt = Annotated[
    bool,
    typer.Option("--wide", help="Every column, however wide (a terminal shows fewer to fit)."),
]
