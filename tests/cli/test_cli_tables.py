"""Tables and progress on a terminal (issue 14): at 80 columns nothing is cut, low-value
columns go, `--wide` keeps them; a terminal gets a progress bar. The terminal is a real
pseudo-terminal of 80 columns around a `python -m scanctl` child."""

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import termios
import unicodedata

import pytest

from scanctl.cli.output import Column, fit_columns
from scanctl.store.db import open_db, write_transaction
from scanctl.store.runs import insert_run_record
from tests.conftest import PINNED_NOW, built_once, run_cli, scanctl_command
from tests.demo_store import DEMO_LAST_SESSION

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
RUNS_COLUMNS = [
    "date",
    "version",
    "trigger",
    "started",
    "time",
    "status",
    "universe",
    "matched",
    "error",
]
LONG_ERROR = "ValueError: the panel of 2025-11-28 has no close for 005930 after the resize step"
FAILED_RUN = {
    "run_id": "r-failed",
    "date": DEMO_LAST_SESSION,
    "scanner_version": "v1",
    "trigger": "manual",
    "started_at": "2025-11-28T19:00:00.000+09:00",
    "status": "failed",
    "error": LONG_ERROR,
}


def in_terminal(*args: str, columns: int = 80) -> tuple[int, list[str]]:
    """Run `scanctl ARGS` with stdin, stdout and stderr on a pseudo-terminal of ``columns``
    columns; its exit code and the lines it showed, without colours."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    child = subprocess.Popen(
        scanctl_command(*args), stdin=slave, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child has gone and the terminal is closed
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    code = child.wait(timeout=60)
    text = ANSI.sub("", output.decode()).replace("\r\n", "\n")
    return code, text.splitlines()


def width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


@pytest.fixture(scope="session")
def scanned(demo_template, tmp_path_factory):
    """The demo store scanned by every version, plus a failed run with a long error: built
    once per test run, only read by the tests."""

    def build(path):
        shutil.copy(demo_template, path)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SCANCTL_NOW", PINNED_NOW)
            result = run_cli("--db", str(path), "scan", "--version", "all", "--no-notify")
        assert result.returncode == 0, result.stderr
        db = open_db(path)
        with write_transaction(db):
            insert_run_record(db, FAILED_RUN)
        db.conn.close()  # checkpoints the WAL, so the file alone is the whole store

    return built_once(tmp_path_factory, "tables-scanned.db", build)[0]


def test_runs_fit_80_columns_without_cutting_a_cell(scanned):
    code, lines = in_terminal("--db", str(scanned), "runs")
    assert code == 0, lines
    assert all(width(line) <= 80 for line in lines), "\n".join(lines)
    assert not any("…" in line for line in lines)
    header = next(line for line in lines if line.startswith("date"))
    assert header.split() == ["date", "version", "trigger", "started", "status", "matched", "error"]
    rows = [line for line in lines if line.startswith(DEMO_LAST_SESSION)]
    assert len(rows) == 3 and rows[0].split()[:5] == [
        DEMO_LAST_SESSION,
        "v1",
        "manual",
        DEMO_LAST_SESSION,
        "19:00:00",
    ]
    shown = " ".join(" ".join(lines[lines.index(rows[0]) :]).split())
    assert LONG_ERROR in shown  # wrapped between words, every word whole


def test_wide_is_an_option_of_the_tables_that_leave_columns_out(scanned):
    """A pipe always gets every column (`fit_columns` tests `wide` on a terminal)."""
    for args in (("runs",), ("show",), ("notify", "status"), ("settings", "list")):
        result = run_cli("--db", str(scanned), *args, "--wide")
        assert result.returncode == 0, (args, result.stderr)
    runs = run_cli("--db", str(scanned), "runs").stdout.splitlines()[1].split()
    assert runs == RUNS_COLUMNS


def test_show_fits_80_columns(scanned):
    code, lines = in_terminal("--db", str(scanned), "show")
    assert code == 0, lines
    assert all(width(line) <= 80 for line in lines) and not any("…" in line for line in lines)
    picks = [line.split() for line in lines if re.match(r"v[123] +\d+ +[0-9A-Z]{6} ", line)]
    assert picks and all(re.fullmatch(r"[0-9A-Z]{6}", row[2]) for row in picks)
    assert all(re.fullmatch(r"[+-]\d+\.\d\d%", row[-1]) for row in picks)


def test_a_terminal_gets_a_progress_bar_and_a_pipe_log_lines(scan_db):
    backfill = ("backfill", "--from", "2025-11-26", "--to", DEMO_LAST_SESSION, "--version", "v2")
    code, lines = in_terminal("--db", str(scan_db), *backfill)
    assert code == 0, lines
    assert not any(" sessions done" in line for line in lines)
    assert any("backfill 2025-11-2" in line and "━" in line for line in lines)
    piped = run_cli("--db", str(scan_db), *backfill)
    assert " info backfill: 0 of 3 sessions done, now 2025-11-26" in piped.stderr


def fit(specs, rows, width_=80, wide=False):
    keep, widths = fit_columns(specs, rows, width_, wide)
    return [specs[i].name for i in keep], widths


def test_fit_drops_the_lowest_drop_first_and_shares_the_room():
    specs = [
        Column("date"),
        Column("a", drop=2),
        Column("b", drop=1),
        Column("note", wrap=True),
    ]
    rows = [["2025-11-28", "x" * 30, "y" * 30, "one two three four five six seven"]]
    assert fit(specs, rows, 200) == (["date", "a", "b", "note"], [10, 30, 30, 33])
    assert fit(specs, rows, 60) == (["date", "a", "note"], [10, 30, 16])
    assert fit(specs, rows, 30) == (["date", "note"], [10, 18])
    assert fit(specs, rows, 10) == (["date", "note"], [10, 12])  # no room: least widths
    assert fit(specs, rows, 10, wide=True) == (["date", "a", "b", "note"], [10, 30, 30, 33])


def test_fit_keeps_whole_words_and_counts_hangul_twice():
    specs = [Column("name", wrap=True), Column("code")]
    rows = [["현대에너지솔루션 우선주", "0126Z0"]]
    keep, widths = fit_columns(specs, rows, 20)
    assert widths == [16, 6]  # the longest word, 현대에너지솔루션, is 16 columns wide
