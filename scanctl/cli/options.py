"""Options shared by several commands, declared once (STYLE R3)."""

from __future__ import annotations

from typing import Annotated

import typer

DateOpt = Annotated[
    str | None,
    typer.Option("--date", help="Date as YYYY-MM-DD, YYYYMMDD or 'today' (Asia/Seoul)."),
]
VersionOpt = Annotated[
    str | None,
    typer.Option("--version", help="Engine version: v1, v2, v3, all, or a comma list."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout for scripts.")]
