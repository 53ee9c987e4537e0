"""`write_plot`: a valid PNG from the hand-built markets of test_evaluate and
test_evaluate_honest (equity curves with their bands), and the message when matplotlib is
missing. matplotlib comes with the dev extra, so these tests never skip."""

from __future__ import annotations

import dataclasses
import struct
import sys

import pytest

from scanctl.errors import BadInput
from scanctl.reports.evaluate import evaluate_picks
from scanctl.reports.evaluate_plot import MISSING, write_plot
from tests.conftest import run_cli
from tests.reports.test_evaluate import insert_market
from tests.reports.test_evaluate_honest import build_market

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
    assert len(data) > 10_000  # two panels with axes, lines, points and text
    assert png_size(data) == (1200, 700)


def test_plot_draws_the_bands(db, tmp_path):
    """The shaded band of each equity curve is drawn: the picture of a market with bands holds
    more pixels of the curves' pale shade than the same picture without them."""
    build_market(db)
    evaluation = evaluate_picks(db, horizon=5)
    assert [c.version for c in evaluation.curves] == ["v1", "v2", "v3"]
    banded = tmp_path / "banded.png"
    write_plot(evaluation, banded)
    flat = [
        dataclasses.replace(c, equity_low=c.equity, equity_high=c.equity) for c in evaluation.curves
    ]
    plain = tmp_path / "plain.png"
    write_plot(dataclasses.replace(evaluation, curves=flat), plain)
    assert pale_pixels(banded) > pale_pixels(plain) + 1000


def pale_pixels(path) -> int:
    """Pixels of a light tint (the bands are drawn at 15 % opacity over white)."""
    from matplotlib.image import imread

    rgb = imread(path)[..., :3]
    tinted = (rgb.min(axis=2) > 0.75) & (rgb.max(axis=2) - rgb.min(axis=2) > 0.04)
    return int(tinted.sum())


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
    result = run_cli(
        "--db", str(db_path), "evaluate", "--horizon", "3", "--plot", str(path), "--json"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"wrote {path}\n"
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_missing_matplotlib_message(db, tmp_path, monkeypatch):
    """Where `import matplotlib` fails, the error names the extra. Every matplotlib module is
    hidden (None in sys.modules makes each `import matplotlib...` raise ImportError, even of a
    submodule loaded earlier) and put back afterwards."""
    hidden = {"matplotlib", *(name for name in sys.modules if name.startswith("matplotlib."))}
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(BadInput) as caught:
        write_plot(evaluate_picks(db), str(tmp_path / "x.png"))
    assert str(caught.value) == MISSING
    assert MISSING == "--plot needs matplotlib: pip install 'scanctl[plot]'"
    assert not (tmp_path / "x.png").exists()
