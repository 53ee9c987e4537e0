"""Headless Chromium for the page tests: open a local file, take a screenshot, and collect what
the page wrote to the console (Chromium logs every console message, uncaught errors and
Content-Security-Policy violations included, as ``CONSOLE`` lines on stderr)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

# Read at import, before the autouse fixture of tests/conftest.py clears CI for each test: in
# CI (.ci/run installs chromium) a missing browser fails the test instead of skipping it.
IN_CI = bool(os.environ.get("CI"))
CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)")


@dataclass(frozen=True)
class Rendered:
    screenshot: Path
    console: list[str]
    stderr: str


def chromium() -> str:
    """The chromium executable; skips the test without one, except in CI where it fails."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "chromium is not installed (Debian: apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message + "; .ci/run installs it before the tests")
        pytest.skip(message)
    return path


def render(page: Path, tmp_path: Path, width: int = 1280, height: int = 1600) -> Rendered:
    """Load ``page`` in headless Chromium and screenshot the first ``width`` × ``height``."""
    screenshot = tmp_path / "screenshot.png"
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={screenshot}",
        f"--window-size={width},{height}",
        page.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert screenshot.exists(), result.stderr[-2000:]
    return Rendered(screenshot, CONSOLE.findall(result.stderr), result.stderr)
