"""`write_plot`: a valid PNG from the hand-built market of test_evaluate, and the message when
matplotlib is missing. matplotlib comes with the dev extra, so these tests never skip."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap

import pytest

from scanctl.errors import BadInput
from scanctl.reports.evaluate import evaluate_picks
from scanctl.reports.evaluate_plot import MISSING, write_plot
from tests.scan.test_evaluate import insert_market, invoke

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk that follows the signature."""
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_is_a_png(db, tmp_path):
    insert_market(db)
    path = tmp_path / "eval.png"
    write_plot(evaluate_picks(db, horizon=3), path)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000  # two panels with axes, lines, bars and text
    assert png_size(data) == (1200, 700)


def test_plot_of_no_picks(db, tmp_path):
    path = tmp_path / "empty.png"
    write_plot(evaluate_picks(db), path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_plot_folder_must_exist(db, tmp_path):
    missing = tmp_path / "nowhere" / "eval.png"
    with pytest.raises(BadInput, match=r"--plot: folder '.*nowhere' does not exist"):
        write_plot(evaluate_picks(db), missing)


def test_cli_plot(db, db_path, tmp_path):
    insert_market(db)
    path = tmp_path / "cli.png"
    result = invoke(db_path, "--horizon", "3", "--plot", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {path}\n"
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_missing_matplotlib_message(tmp_path):
    """In a fresh interpreter where `import matplotlib` fails, the error names the extra."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["matplotlib"] = None  # makes every `import matplotlib...` raise ImportError
        from scanctl.errors import BadInput
        from scanctl.reports.evaluate import Evaluation
        from scanctl.reports.evaluate_plot import write_plot
        empty = Evaluation(None, None, 10, (), None, [], [], [], [])
        try:
            write_plot(empty, {str(tmp_path / "x.png")!r})
        except BadInput as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == MISSING + "\n"
    assert MISSING == "--plot needs matplotlib: pip install 'scanctl[plot]'"
    assert not (tmp_path / "x.png").exists()
