"""`scanctl completion bash|zsh|fish`: the shell script that completes scanctl's commands,
options and listed values, and the answer to that script's requests.

The script runs ``_SCANCTL_COMPLETE=complete_<shell> scanctl`` with the words typed so far; the
root group hands such a process to `complete` before anything else runs. Completing parses the
command line only (no callback, no store, no configuration), so it is as quick as ``--help``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import MutableMapping
from typing import Annotated, Any

import typer
from typer._click.shell_completion import CompletionItem
from typer._completion_classes import BashComplete, FishComplete, ZshComplete

from scanctl.cli.params import choices

COMPLETE_VAR = "_SCANCTL_COMPLETE"


class _Zsh(ZshComplete):
    """Typer's zsh completion, with help texts taken as they are (Typer renders them through
    rich's markup parser, an import as heavy as the rest of a completion)."""

    def format_completion(self, item: CompletionItem) -> str:
        value = _zsh_escape(item.value)
        return f'"{value}":"{_zsh_escape(item.help)}"' if item.help else f'"{value}"'


class _Fish(FishComplete):
    """Typer's fish completion, with help texts taken as they are (see `_Zsh`)."""

    def format_completion(self, item: CompletionItem) -> str:
        return f"{item.value}\t{_one_line(item.help)}" if item.help else item.value


SHELLS: dict[str, type] = {"bash": BashComplete, "zsh": _Zsh, "fish": _Fish}


def _one_line(text: str) -> str:
    return re.sub(r"\s", " ", text)


def _zsh_escape(text: str) -> str:
    for old, new in (('"', '""'), ("'", "''"), ("$", "\\$"), ("`", "\\`"), (":", r"\\:")):
        text = text.replace(old, new)
    return text


def completion(
    ctx: typer.Context,
    shell: Annotated[str, typer.Argument(metavar=choices(SHELLS), help="Your shell.")],
) -> None:
    """Print the script that completes scanctl's commands and options in your shell.

    Load it in the shell's start-up file, e.g. for bash: eval "$(scanctl completion bash)".

    Example: scanctl completion zsh > "${fpath[1]}/_scanctl"
    """
    from scanctl.errors import BadInput

    if shell not in SHELLS:
        raise BadInput(f"unknown shell {shell!r}; choose from {', '.join(SHELLS)}")
    root = ctx.find_root()
    script = SHELLS[shell](root.command, {}, root.info_name or "scanctl", COMPLETE_VAR).source()
    sys.stdout.write(script.strip() + "\n")


def complete(cli: Any, ctx_args: MutableMapping[str, Any], prog_name: str, request: str) -> int:
    """Answer one request of the completion script (``complete_bash``); the exit code."""
    instruction, _, shell = request.partition("_")
    if instruction != "complete" or shell not in SHELLS:
        sys.stderr.write(f"scanctl: error: unknown completion request {request!r}\n")
        return 2
    sys.stdout.write(SHELLS[shell](cli, ctx_args, prog_name, COMPLETE_VAR).complete() + "\n")
    return 0
