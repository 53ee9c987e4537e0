"""Every SQL statement lives in `scanctl.store` (issue 10): other packages call its functions.

The walk parses each module outside ``scanctl/store`` and reports, with file and line:

* a call of ``.execute``, ``.executemany``, ``.executescript`` or ``.query`` on anything;
* a subscript of a database with a string (``db["bars"]``): a database is a name or attribute
  called ``db``, ``database``, ``conn`` or ``connection`` (leading underscores ignored), or one
  ending in ``_db``;
* ``import sqlite3`` or ``from sqlite3 import …``;
* a string literal (docstrings and f-string parts included) holding an upper-case SELECT,
  INSERT, UPDATE, DELETE, PRAGMA or CREATE followed by whitespace.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "scanctl"
STORE = PACKAGE / "store"
SQL_METHODS = frozenset({"execute", "executemany", "executescript", "query"})
DB_NAMES = frozenset({"db", "database", "conn", "connection"})
SQL_WORD = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|PRAGMA|CREATE)\s")


def _is_db(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Attribute):
        name = node.attr
    else:
        return False
    name = name.lstrip("_")
    return name in DB_NAMES or name.endswith("_db")


def sql_outside_store(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` for every data access in ``source`` that belongs in `scanctl.store`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_METHODS
        ):
            found.append((node.lineno, f".{node.func.attr}() call"))
        elif isinstance(node, ast.Subscript) and _is_db(node.value):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.append((node.lineno, f"table subscript [{key.value!r}]"))
        elif isinstance(node, ast.Import) and any(a.name == "sqlite3" for a in node.names):
            found.append((node.lineno, "import sqlite3"))
        elif isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
            found.append((node.lineno, "from sqlite3 import"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = SQL_WORD.search(node.value)
            if match:
                found.append((node.lineno, f"SQL keyword {match.group(1)} in a string"))
    return sorted(found)


def test_no_sql_outside_the_store():
    modules = [path for path in sorted(PACKAGE.rglob("*.py")) if STORE not in path.parents]
    assert len(modules) > 50  # the walk found the package
    problems = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {what}"
        for path in modules
        for line, what in sql_outside_store(path.read_text(encoding="utf-8"))
    ]
    assert not problems, "SQL outside scanctl/store:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("db.execute('x')", ".execute() call"),
        ("self._db.conn.executemany(q, rows)", ".executemany() call"),
        ("cursor.executescript(script)", ".executescript() call"),
        ("rows = list(db.query(q))", ".query() call"),
        ("db['bars'].insert_all(rows)", "table subscript ['bars']"),
        ("self.store_db['notifications']", "table subscript ['notifications']"),
        ("import sqlite3", "import sqlite3"),
        ("from sqlite3 import connect", "from sqlite3 import"),
        ("q = 'SELECT code FROM bars'", "SQL keyword SELECT in a string"),
        ("q = f'DELETE FROM {table}'", "SQL keyword DELETE in a string"),
        ('def f():\n    """UPDATE\tnotifications"""', "SQL keyword UPDATE in a string"),
        ("q = ('INSERT INTO t ' 'VALUES (?)')", "SQL keyword INSERT in a string"),
        ("x = 'PRAGMA user_version'", "SQL keyword PRAGMA in a string"),
        ("x = '''\nCREATE TABLE t (a)'''", "SQL keyword CREATE in a string"),
    ],
)
def test_the_walk_catches(source, what):
    assert [found for _, found in sql_outside_store(source)] == [what]


@pytest.mark.parametrize(
    "source",
    [
        "row['date']",
        "report['bars'] += 1",
        "params = {'query': text}",
        "x = 'Selected tickers; update the store, then delete nothing'",
        "x = 'UPDATE'",  # a bare word, not a statement
        "x = 'SELECTED rows'",
        "client.get(url)",
    ],
)
def test_the_walk_ignores(source):
    assert sql_outside_store(source) == []
