"""scanctl: the daily KOSPI/KOSDAQ stock scanner."""

import sys
from importlib.machinery import ModuleSpec, PathFinder

__version__ = "0.1.0"


class _SqliteUtilsWithoutPandas:
    """Loads ``sqlite_utils.db`` as if pandas were not installed.

    sqlite-utils imports pandas eagerly when it is installed, only to register
    ``pandas.Timestamp`` as a column type for its insert helpers — about 0.1 s of every
    command's start-up, a sixth of a daily scan. scanctl never uses those helpers (all SQL is
    written out in scanctl.store), and a command that needs pandas (import, the calendar
    build) still imports it normally: only this one module's import of it is refused.
    """

    @staticmethod
    def find_spec(name: str, path=None, target=None) -> ModuleSpec | None:
        if name != "sqlite_utils.db" or "pandas" in sys.modules:
            return None
        spec = PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module) -> None:
            sys.modules["pandas"] = None  # type: ignore[assignment]  # import → ImportError
            try:
                execute(module)
            finally:
                if sys.modules.get("pandas", 0) is None:
                    del sys.modules["pandas"]

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _SqliteUtilsWithoutPandas)
