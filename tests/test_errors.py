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
        (errors.NotifyFailed, 5),
        (errors.LockBusy, 75),
    ],
)
def test_exit_codes(error, code):
    assert error.exit_code == code
    assert issubclass(error, errors.ScanctlError)


def test_exit_code_table_is_the_products():
    """PRODUCT.md §3: the codes and nothing else."""
    assert {code.name: int(code) for code in errors.ExitCode} == {
        "OK": 0,
        "INTERNAL": 1,
        "USAGE": 2,
        "DATA_NOT_READY": 3,
        "PARTIAL": 4,
        "NOTIFY_FAILED": 5,
        "ALL_FAILED": 6,
        "LOCK_BUSY": 75,
    }


def test_every_error_class_is_raised_somewhere():
    """Errors that are never raised are deleted (issue 10)."""
    import pathlib
    import re

    source = "\n".join(p.read_text() for p in pathlib.Path("scanctl").rglob("*.py"))
    for name, value in vars(errors).items():
        if isinstance(value, type) and issubclass(value, errors.ScanctlError):
            if value in (errors.ScanctlError, errors.BadInput):
                continue
            raised = re.search(rf"(raise|return|=) {name}\(|\({name}\)|class \w+\({name}\)", source)
            assert raised, f"{name} is never raised"


def test_cli_maps_an_error_to_its_code_and_one_line(store_path):
    from typer.testing import CliRunner

    from scanctl.cli.main import app

    result = CliRunner().invoke(app, ["--db", str(store_path), "settings", "get", "nope"])
    assert result.exit_code == 2
    assert (
        result.stderr == "scanctl: error: unknown setting 'nope'; known settings: "
        "active_engine, scan_all_versions\n"
    )
