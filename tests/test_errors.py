"""The exit-code table of PRODUCT.md §3 lives in scanctl/errors.py (STYLE R6)."""

import pytest

from scanctl import errors


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.ScanctlError, 1),
        (errors.BadInput, 2),
        (errors.ConfigError, 2),
        (errors.StoreError, 2),
        (errors.DataNotReady, 3),
        (errors.PartialFailure, 4),
        (errors.NotifyFailed, 5),
        (errors.AllVersionsFailed, 6),
        (errors.LockBusy, 75),
    ],
)
def test_exit_codes(error, code):
    assert error.exit_code == code
    assert issubclass(error, errors.ScanctlError)


def test_cli_maps_an_error_to_its_code_and_one_line(tmp_path):
    from typer.testing import CliRunner

    from scanctl.cli.main import app

    result = CliRunner().invoke(app, ["--db", str(tmp_path / "x.db"), "settings", "get", "nope"])
    assert result.exit_code == 2
    assert (
        result.stderr == "scanctl: error: unknown setting 'nope'; known settings: "
        "active_engine, scan_all_versions\n"
    )
