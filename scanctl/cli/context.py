"""What the root callback resolves once and every command receives: paths, config, output mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import sqlite_utils

    from scanctl.config import Config


@dataclass
class AppContext:
    """Global options of PRODUCT.md §3; the config and the store are opened on first use."""

    db_path: Path | None = None
    config_path: Path | None = None
    log_json: bool = False
    verbose: int = 0
    quiet: bool = False
    _config: Config | None = field(default=None, repr=False)
    _db: Any = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            from scanctl.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    def resolved_db_path(self) -> Path:
        """The store's path: ``--db``, else SCANCTL_DB, else ``[store] db``, else XDG default."""
        from scanctl.store.db import default_db_path

        path = self.db_path or self.config.get("store", "db")
        return Path(path) if path else default_db_path()

    def db(self, *, create: bool = True) -> sqlite_utils.Database:
        """The store, opened (and migrated) on first use."""
        if self._db is None:
            from scanctl.store.db import open_db

            explicit = self.db_path or self.config.get("store", "db")
            self._db = open_db(explicit, create=create)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.conn.close()
            self._db = None


def app_context(ctx: typer.Context) -> AppContext:
    """The AppContext stored by the root callback (a fresh default one when run standalone)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
    return root.obj
