"""`write_plot`: a valid PNG from the hand-built market of test_evaluate, and the message when
matplotlib is missing. matplotlib comes with the dev extra, so these tests never skip."""

from __future__ import annotations

import struct
import sys

import pytest

from scanctl.errors import BadInput
from scanctl.reports.evaluate import Evaluation, evaluate_picks
from scanctl.reports.evaluate_plot import MISSING, write_plot
from tests.reports.test_evaluate import insert_market, invoke

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


def test_missing_matplotlib_message(tmp_path, monkeypatch):
    """Where `import matplotlib` fails, the error names the extra. Every matplotlib module is
    hidden (None in sys.modules makes each `import matplotlib...` raise ImportError, even of a
    submodule loaded earlier) and put back afterwards."""
    hidden = {"matplotlib", *(name for name in sys.modules if name.startswith("matplotlib."))}
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)
    empty = Evaluation(None, None, 10, (), None, [], [], [], [])
    with pytest.raises(BadInput) as caught:
        write_plot(empty, str(tmp_path / "x.png"))
    assert str(caught.value) == MISSING
    assert MISSING == "--plot needs matplotlib: pip install 'scanctl[plot]'"
    assert not (tmp_path / "x.png").exists()
