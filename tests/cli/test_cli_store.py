"""Which commands create a store, and how every command refuses a store it must not touch:
missing, read-only, or a SQLite file of another program (issue 11, item 7)."""

import ctypes
import os
import sqlite3
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from scanctl.cli.main import app
from scanctl.store.db import open_db

runner = CliRunner()
BARS = "date,ticker,open,high,low,close,volume\n2025-11-28,005930,100,110,90,105,1000\n"

READERS = [
    ("show",),
    ("runs",),
    ("status",),
    ("scan", "--version", "v2"),
    ("inspect", "005930"),
    ("backfill", "--from", "2025-11-03", "--to", "2025-11-28"),
    ("evaluate",),
    ("settings", "get", "active_engine"),
    ("settings", "set", "active_engine", "v2"),
    ("notify", "status"),
    ("notify", "retry"),
    ("calendar", "check", "2025-11-28"),
    ("data", "status"),
]


def invoke(db_path, *args):
    return runner.invoke(app, ["--db", str(db_path), *args])


def listing(folder):
    return sorted(path.name for path in folder.iterdir())


def one_line_error(result, code):
    """The exit code, one line on stderr, no traceback, no internal error."""
    __tracebackhide__ = True
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize("args", READERS, ids=lambda args: " ".join(args[:2]))
def test_missing_store_exits_2_naming_the_path_and_creates_nothing(tmp_path, args):
    path = tmp_path / "mistyped.db"
    result = invoke(path, *args)
    one_line_error(result, 2)
    assert f"no scanctl store at '{path}'" in result.stderr
    assert "create one with `scanctl data import`, `data demo` or `data sync`" in result.stderr
    assert listing(tmp_path) == []


def test_missing_default_store_creates_no_folder(tmp_path):
    result = runner.invoke(app, ["status"])
    one_line_error(result, 2)
    assert f"no scanctl store at '{tmp_path / 'xdg-data' / 'scanctl' / 'scanctl.db'}'" in (
        result.stderr
    )
    assert not (tmp_path / "xdg-data").exists()


def test_an_empty_file_is_no_store_for_a_reader_but_import_fills_it(tmp_path):
    path = tmp_path / "new.db"
    path.touch()
    result = invoke(path, "status")
    one_line_error(result, 2)
    assert "(an empty file)" in result.stderr and path.stat().st_size == 0
    bars = tmp_path / "bars.csv"
    bars.write_text(BARS)
    assert invoke(path, "data", "import", str(bars)).exit_code == 0
    assert open_db(path, create=False).execute("SELECT count(*) FROM bars").fetchone() == (1,)


def test_import_creates_the_store_and_a_rejected_file_creates_nothing(tmp_path):
    path = tmp_path / "new.db"
    bars = tmp_path / "bars.csv"
    bars.write_text(BARS + "2025-11-27,005930,100,1e30,90,105,1000\n")
    result = invoke(path, "data", "import", str(bars))
    one_line_error(result, 2)
    assert "1 invalid row(s), nothing imported; line 3: high is out of range" in result.stderr
    assert listing(tmp_path) == ["bars.csv"]
    bars.write_text(BARS)
    assert invoke(path, "data", "import", str(bars)).exit_code == 0
    assert open_db(path, create=False).execute("SELECT close FROM bars").fetchall() == [(105,)]


def foreign_file(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE foo (x INTEGER)")
    conn.execute("INSERT INTO foo VALUES (1)")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("data", "import", "BARS"),
        ("data", "demo", "--tickers", "10", "--sessions", "30"),
        ("status",),
        ("settings", "list"),
        ("scan",),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path, args):
    path = foreign_file(tmp_path / "other.db")
    bars = tmp_path / "bars.csv"
    bars.write_text(BARS)
    before, files = path.read_bytes(), listing(tmp_path)
    result = invoke(path, *(str(bars) if arg == "BARS" else arg for arg in args))
    one_line_error(result, 2)
    assert f"'{path}' is a SQLite file but not a scanctl store (it holds foo)" in result.stderr
    assert path.read_bytes() == before
    assert listing(tmp_path) == files  # no -wal, -shm, -journal or .lock appeared


# A read-only store, as an operator meets it. Root ignores file permissions, so when the suite
# runs as root the CLI runs in a child that has dropped the capabilities that bypass them.
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def _drop_root_file_privileges() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture(scope="module")
def as_operator():
    """Run `scanctl ARGS` in a subprocess for which file permissions apply."""
    preexec = None
    if os.geteuid() == 0:
        preexec = _drop_root_file_privileges
        try:
            subprocess.run([sys.executable, "-c", "pass"], preexec_fn=preexec, check=True)
        except (subprocess.SubprocessError, OSError):
            pytest.skip("running as root without the right to drop capabilities")

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "scanctl", *args],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=preexec,
        )

    return run


@pytest.fixture
def read_only(tmp_path):
    """chmod a path read-only for the test; restored afterwards so tmp_path can be cleaned."""
    changed = []

    def make(path, mode):
        changed.append((path, path.stat().st_mode))
        path.chmod(mode)

    yield make
    for path, mode in reversed(changed):
        path.chmod(mode)


def checkpointed_store(path):
    """A store with one bar, closed, so the whole store is the one file."""
    db = open_db(path)
    db.execute("INSERT INTO bars (date, code, close) VALUES ('2025-11-28', '005930', 105)")
    db.conn.close()
    assert not path.with_name(path.name + "-wal").exists()
    return path


def assert_one_line(result, code, text):
    __tracebackhide__ = True
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert text in result.stderr and "Traceback" not in result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.parametrize(
    "args", [("status",), ("show",), ("data", "import", "BARS"), ("scan",)], ids=" ".join
)
def test_a_read_only_store_file_is_a_one_line_exit_2(tmp_path, as_operator, read_only, args):
    path = checkpointed_store(tmp_path / "s.db")
    bars = tmp_path / "bars.csv"
    bars.write_text(BARS)
    read_only(path, 0o444)
    before, files = path.read_bytes(), listing(tmp_path)
    command = [str(bars) if arg == "BARS" else arg for arg in args]
    result = as_operator("--db", str(path), *command)
    assert_one_line(result, 2, f"the store '{path}' is read-only for this user")
    assert path.read_bytes() == before and listing(tmp_path) == files


@pytest.mark.parametrize(
    "args",
    [("status",), ("data", "import", "BARS"), ("data", "demo"), ("backfill",)],
    ids=" ".join,
)
def test_a_read_only_folder_is_a_one_line_exit_2(tmp_path, as_operator, read_only, args):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = checkpointed_store(folder / "s.db")
    bars = tmp_path / "bars.csv"
    bars.write_text(BARS)
    read_only(folder, 0o555)
    extra = ("--from", "2025-11-03", "--to", "2025-11-28") if args == ("backfill",) else ()
    command = [str(bars) if arg == "BARS" else arg for arg in args]
    result = as_operator("--db", str(path), *command, *extra)
    assert_one_line(result, 2, f"the folder '{folder}' of the store is read-only for this user")
    assert listing(folder) == ["s.db"]


def test_no_new_store_in_a_read_only_folder(tmp_path, as_operator, read_only):
    folder = tmp_path / "ro"
    folder.mkdir()
    bars = tmp_path / "bars.csv"
    bars.write_text(BARS)
    read_only(folder, 0o555)
    result = as_operator("--db", str(folder / "new.db"), "data", "import", str(bars))
    assert_one_line(result, 2, f"the folder '{folder}' of the store is read-only")
    assert listing(folder) == []


def test_a_readable_store_still_works_for_the_operator(tmp_path, as_operator):
    """The privilege drop is not what makes the tests above fail."""
    path = checkpointed_store(tmp_path / "s.db")
    result = as_operator("--db", str(path), "data", "status", "--json")
    assert result.returncode == 0, result.stderr
