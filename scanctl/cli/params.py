"""How every command's parameters read and convert, set once over the whole command tree.

Typer builds the Click tree from the signatures; `prepare(root)` then walks it once and gives
every parameter

- a real metavar: the one declared, else one named after the parameter (``date``, ``start``,
  ``end``, ``day`` → DATE; ``code`` → CODE), else after its type (N, PATH, TEXT), never
  Typer's ``<str>``;
- completion of the values a ``[a|b|c]`` metavar lists (see `choices`);
- a plain conversion of str, int, Path and bool values with a one-line message: Typer's
  default builds a pydantic adapter per parameter, and importing pydantic alone takes longer
  than ``scanctl --help`` may;

every command below the root a hidden copy of the global options (``scanctl runs --db X``
works as ``scanctl --db X runs``), and every leaf command the name the log lines carry.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from typer._click.core import Context, ParameterSource
from typer._click.exceptions import BadParameter
from typer._click.globals import get_current_context
from typer._click.shell_completion import CompletionItem
from typer._click.utils import make_default_short_help
from typer.core import TyperArgument, TyperOption

from scanctl.cli.context import app_context

GLOBAL_OPTIONS = ("db", "config", "log_json", "verbose", "quiet")
_METAVAR_BY_NAME = {"date": "DATE", "day": "DATE", "start": "DATE", "end": "DATE", "code": "CODE"}
_METAVAR_BY_TYPE: dict[Any, str] = {int: "N", Path: "PATH", str: "TEXT"}


def choices(names: Iterable[str]) -> str:
    """The metavar that lists every accepted value, ``[naver|kis|kiwoom|krx-openapi]``; the
    shell completes those values too."""
    return "[" + "|".join(names) + "]"


def listed_choices(metavar: str | None) -> tuple[str, ...]:
    """The values a `choices` metavar lists (none for any other metavar)."""
    if metavar and metavar.startswith("[") and metavar.endswith("]") and "|" in metavar:
        return tuple(metavar[1:-1].split("|"))
    return ()


class _PlainValue:
    """Converts one command-line value to ``kind`` (str, int, Path or bool), an int within
    ``low``/``high``."""

    def __init__(self, kind: type, low: float | None, high: float | None) -> None:
        self.kind, self.low, self.high = kind, low, high

    def coerce(self, value: Any, param: Any, ctx: Context) -> Any:
        if value is None or (isinstance(value, self.kind) and self.kind is not int):
            return value
        if self.kind is Path:
            return Path(value)
        if self.kind is str:
            return str(value)
        if self.kind is bool:
            return _boolean(value, param, ctx)
        return self._integer(value, param, ctx)

    def _integer(self, value: Any, param: Any, ctx: Context) -> int:
        try:
            number = value if isinstance(value, int) else int(str(value).strip(), 10)
        except ValueError:
            raise BadParameter(f"{value!r} is not a whole number", ctx, param) from None
        if self.low is not None and number < self.low:
            raise BadParameter(f"{number} is below the least value, {self.low}", ctx, param)
        if self.high is not None and number > self.high:
            raise BadParameter(f"{number} is above the largest value, {self.high}", ctx, param)
        return number


def _boolean(value: Any, param: Any, ctx: Context) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise BadParameter(f"{value!r} is not true or false", ctx, param)


class ScanctlOption(TyperOption):
    """A Typer option with scanctl's conversion, metavar and completion."""

    def get_runtime_param(self) -> Any:
        if self._runtime_param is None:
            self._runtime_param = _plain_value(self) or super().get_runtime_param()
        return self._runtime_param

    def display_type_rich(self, ctx: Context) -> str | None:
        return self.metavar

    def shell_complete(self, ctx: Context, incomplete: str) -> list[CompletionItem]:
        return _listed(self.metavar, incomplete) or super().shell_complete(ctx, incomplete)


class ScanctlArgument(TyperArgument):
    """A Typer argument with scanctl's conversion, metavar and completion."""

    def get_runtime_param(self) -> Any:
        if self._runtime_param is None:
            self._runtime_param = _plain_value(self) or super().get_runtime_param()
        return self._runtime_param

    @property
    def display_name_raw(self) -> str:
        """The metavar; a required one of listed values in braces, ``{bash|zsh|fish}``."""
        listed = listed_choices(self.metavar)
        if listed and self.required:
            return "{" + "|".join(listed) + "}"
        return super().display_name_raw

    def display_type_rich(self, ctx: Context) -> str | None:
        return None  # the metavar is the argument's name in the help

    def _usage_display_name(self) -> str:
        """``CODE`` when required, ``[DATE]`` when not (Typer writes ``{CODE}``)."""
        return self.display_name_raw if self.required else f"[{self.display_name_raw}]"

    def shell_complete(self, ctx: Context, incomplete: str) -> list[CompletionItem]:
        return _listed(self.metavar, incomplete) or super().shell_complete(ctx, incomplete)


def _listed(metavar: str | None, incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(name) for name in listed_choices(metavar) if name.startswith(incomplete)]


def _plain_value(param: Any) -> _PlainValue | None:
    """The plain conversion of a one-value str/int/Path/bool parameter (None: Typer's own)."""
    descriptor = param.type_descriptor
    kind = descriptor.annotation
    if kind not in (*_METAVAR_BY_TYPE, bool) or descriptor.choices or descriptor.is_file:
        return None
    if param.nargs != 1 or param.multiple or descriptor.parameter_info.parser:
        return None
    return _PlainValue(kind, getattr(param, "min", None), getattr(param, "max", None))


def prepare(root: Any) -> None:
    """Give the tree under ``root`` scanctl's parameters, short helps, global options and log
    names (see the module docstring)."""
    globals_ = [p for p in root.params if p.name in GLOBAL_OPTIONS]
    names = SimpleNamespace(help_option_names=root.context_settings.get("help_option_names"))
    for param in [*root.params, root.get_help_option(names)]:
        _adapt(param)
    for path, command in _walk(root, ()):
        _adapt(command.get_help_option(names))  # made on first use, then kept
        if command.help and not command.short_help:
            command.short_help = make_default_short_help(command.help, 300)
        for param in command.params:
            _adapt(param)
        taken = {opt for param in command.params for opt in param.opts}
        command.params += [_late(p) for p in globals_ if not taken.intersection(p.opts)]
        if command.callback is not None and not hasattr(command, "commands"):
            command.callback = _named(command.callback, " ".join(path))


def _walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, child in getattr(command, "commands", {}).items():
        yield (*path, name), child
        yield from _walk(child, (*path, name))


def _adapt(param: Any) -> None:
    """Make a Typer parameter a scanctl one: Typer builds the objects itself, and the
    subclasses only add behaviour (no state), so the objects can take their class."""
    if isinstance(param, TyperOption) and not isinstance(param, ScanctlOption):
        param.__class__ = ScanctlOption
    elif isinstance(param, TyperArgument) and not isinstance(param, ScanctlArgument):
        param.__class__ = ScanctlArgument
    else:
        return
    flag = getattr(param, "is_flag", False) or getattr(param, "count", False)
    if param.metavar is None and not flag:
        annotation = param.type_descriptor.annotation
        param.metavar = _METAVAR_BY_NAME.get(param.name) or _METAVAR_BY_TYPE.get(annotation)


def _late(option: Any) -> Any:
    """A hidden copy of a global option for a subcommand: applied only when typed there."""
    late = copy.copy(option)
    late.hidden, late.envvar, late.expose_value, late.is_eager = True, None, False, False
    late.callback = _apply_late
    return late


def _apply_late(ctx: Context, param: Any, value: Any) -> Any:
    if not ctx.resilient_parsing and ctx.get_parameter_source(param.name) is (
        ParameterSource.COMMANDLINE
    ):
        app_context(ctx).set_global(param.name, value)
    return value


def _named(callback: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``callback`` that first names the log lines after its command (``data sync``)."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        app_context(get_current_context()).name_command(name)
        return callback(*args, **kwargs)

    return run
