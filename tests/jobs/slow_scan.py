"""A child process for the lock tests: `scanctl ARGS` with engine v2 made ``SECONDS`` slower,
so the run holds the lock that long (`python -m tests.jobs.slow_scan SECONDS ARGS…`)."""

import sys

from scanctl.cli.main import app
from scanctl.engines import registry
from tests.engines.failing_engine import slow

if __name__ == "__main__":
    with registry.substituted(slow("v2", float(sys.argv[1]))):
        app(sys.argv[2:], prog_name="scanctl")
