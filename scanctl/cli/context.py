"""What the root callback resolves once and every command receives: paths, settings, output mode."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import sqlite_utils

    from scanctl.config import Config
    from scanctl.settings import Settings


@dataclass
class AppContext:
    """Global options of PRODUCT.md §3; the config and the store are opened on first use."""

    db_path: Path | None = None
    config_path: Path | None = None
    log_json: bool = False
    verbose: int = 0
    quiet: bool = False
    command: str = ""
    _sources: Config | None = field(default=None, repr=False)
    _settings: Settings | None = field(default=None, repr=False)
    _db: Any = field(default=None, repr=False)

    def configure_logging(self) -> None:
        """Point the scanctl logger at stderr as the global options and the command ask."""
        from scanctl.logs import configure_logging

        configure_logging(self.verbose, self.quiet, self.log_json, self.command)

    def set_global(self, name: str, value: Any) -> None:
        """A global option typed after the command (``scanctl runs --db X``)."""
        if name == "db":
            self.db_path = value
        elif name == "config":
            self.config_path = value
        elif name == "verbose":
            self.verbose += value
        else:
            setattr(self, name, bool(value))
        self.configure_logging()

    def name_command(self, command: str) -> None:
        """Stamp the following log lines with the command that writes them (``data sync``)."""
        self.command = command
        self.configure_logging()

    @property
    def sources(self) -> Config:
        """What the file and the ``SCANCTL_*`` variables say, unvalidated (doctor, db path)."""
        if self._sources is None:
            from scanctl.settings import read_sources

            self._sources = read_sources(self.config_path)
        return self._sources

    @property
    def settings(self) -> Settings:
        """Every section validated (exit 2 naming the key and its source on a bad value)."""
        if self._settings is None:
            self._settings = self.settings_with({})
        return self._settings

    def settings_with(self, flags: dict[str, dict[str, Any]]) -> Settings:
        """The settings with a command's flags applied (``{"scan": {"kospi_limit": 50}}``)."""
        from scanctl.settings import settings_from

        return settings_from(self.sources.with_flags(flags))

    def resolved_db_path(self) -> Path:
        """The store's path: ``--db``, else SCANCTL_DB, else ``[store] db``, else XDG default."""
        from scanctl.store.db import default_db_path

        path = self._explicit_db_path()
        return Path(path) if path else default_db_path()

    def _explicit_db_path(self) -> Path | str | None:
        """``--db`` / SCANCTL_DB, else ``[store] db`` (the config is read only when needed)."""
        if self.db_path:
            return self.db_path
        from scanctl.settings import StoreSettings

        return StoreSettings.from_config(self.sources).db

    def db(self, *, create: bool = False) -> sqlite_utils.Database:
        """The store, opened (and migrated) on first use.

        Only ``data import``, ``data demo`` and ``data sync`` pass ``create=True``; any other
        command on a missing store exits 2 naming the path, and no file is created.
        """
        if self._db is None:
            from scanctl.store.db import open_db

            self._db = open_db(self._explicit_db_path(), create=create)
        return self._db

    def lock_path(self) -> Path:
        """The writer lock beside the store (`store.lock`): held by every command that writes
        market data, results or deliveries."""
        from scanctl.store.lock import lock_path_for

        return lock_path_for(self.resolved_db_path())

    def close(self) -> None:
        if self._db is not None:
            self._db.conn.close()
            self._db = None


# Variables a CI service sets (GitHub, GitLab, Buildkite, Jenkins, Azure and most others: CI).
CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD")
MAKE_VARIABLE = "MAKELEVEL"  # set by make for every command of a recipe


def run_trigger(environ: Mapping[str, str] = os.environ, interactive: bool | None = None) -> str:
    """How this run was started, as `scan_runs.trigger` records it: ``ci`` under a CI service,
    ``manual`` at a terminal or under `make` (``make demo``), else ``cron`` (cron, a systemd
    timer: no terminal, no CI variable)."""
    if any(environ.get(name, "").lower() not in ("", "0", "false") for name in CI_VARIABLES):
        return "ci"
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    return "manual" if interactive or environ.get(MAKE_VARIABLE) else "cron"


def app_context(ctx: typer.Context) -> AppContext:
    """The AppContext stored by the root callback (a fresh default one when run standalone)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
    return root.obj
